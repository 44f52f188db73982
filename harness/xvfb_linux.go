package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// xvfb is a virtual X display of the harness's own, for a visible Chrome on
// a machine without a display (a CI runner, a container). Close stops it.
type xvfb struct {
	cmd     *exec.Cmd
	display string // such as ":99"
	done    chan struct{}
}

// startXvfb starts Xvfb on a free display number and waits until it accepts
// clients. It fails at once when Xvfb is not installed.
func startXvfb(ctx context.Context, timeout time.Duration) (*xvfb, error) {
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, fmt.Errorf("no Xvfb to make a virtual display: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting Xvfb: %w", err)
	}
	defer r.Close()
	// -displayfd: Xvfb picks a free display and writes its number on fd 3
	// once it accepts clients.
	cmd := exec.Command(path, "-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("starting Xvfb: %w", err)
	}
	w.Close()
	x := &xvfb{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(x.done) }()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	select {
	case n := <-got:
		if n == "" {
			x.Close()
			return nil, errors.New("starting Xvfb: it exited without a display number")
		}
		x.display = ":" + n
		return x, nil
	case <-ctx.Done():
		x.Close()
		return nil, fmt.Errorf("starting Xvfb: %w", context.Cause(ctx))
	}
}

// Close stops Xvfb and waits for it.
func (x *xvfb) Close() {
	if x == nil {
		return
	}
	x.cmd.Process.Kill()
	<-x.done
}
