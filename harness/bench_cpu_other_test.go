//go:build !linux

package harness

import "time"

// browserCPU is measured on Linux only (from /proc).
func (b *Browser) browserCPU() (time.Duration, bool) { return 0, false }

// ownCPU is measured on Linux only, as browserCPU is.
func ownCPU() time.Duration { return 0 }

// browserCPUByType is measured on Linux only.
func (b *Browser) browserCPUByType() (map[string]time.Duration, bool) { return nil, false }
