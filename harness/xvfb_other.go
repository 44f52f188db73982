//go:build !linux

package harness

import (
	"context"
	"errors"
	"time"
)

// xvfb is a virtual X display; only Linux machines need one.
type xvfb struct {
	display string
	done    chan struct{}
}

func startXvfb(context.Context, time.Duration) (*xvfb, error) {
	return nil, errors.New("no virtual display on this system")
}

func (x *xvfb) Close() {}
