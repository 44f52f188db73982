//go:build unix

package harness

import (
	"errors"
	"os/exec"
	"syscall"
)

// processAlive reports whether a process with this ID runs.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ownProcessGroup makes the command lead a process group of its own.
func ownProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = new(syscall.SysProcAttr)
	}
	cmd.SysProcAttr.Setpgid = true
}

// killProcessGroup kills what is left of the process group that cmd's
// process led (once it is gone, the processes it started and that did not
// end with it: a helper of Chrome's, or the child of a script named as
// Chrome).
func killProcessGroup(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil || cmd.SysProcAttr == nil || !cmd.SysProcAttr.Setpgid {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
