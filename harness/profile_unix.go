//go:build unix

package harness

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
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
	for _, pid := range profileUsers(dir) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// profileUsers returns the live processes (not zombies, which keep their
// command line until reaped) whose command line has the argument
// --user-data-dir=dir, other than this one. Without /proc it finds none.
func profileUsers(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte("--user-data-dir=" + dir)
	// Firefox names its profile in two arguments.
	wantFirefox := []byte("\x00--profile\x00" + dir + "\x00")
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !hasArg(cmdline, want) && !bytes.Contains(cmdline, wantFirefox) {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && bytes.Contains(stat, []byte(") Z ")) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// hasArg reports whether a NUL-separated command line has the argument.
func hasArg(cmdline, arg []byte) bool {
	for a := range bytes.SplitSeq(cmdline, []byte{0}) {
		if bytes.Equal(a, arg) {
			return true
		}
	}
	return false
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
