//go:build unix

package harness

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// processAlive reports whether a process with this ID runs.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// killProfileUsers kills the processes whose command line names dir as their
// profile (Linux: read from /proc; elsewhere Chrome's helpers end with it).
func killProfileUsers(dir string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	want := []byte("--user-data-dir=" + dir)
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
			if bytes.Equal(arg, want) {
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}
