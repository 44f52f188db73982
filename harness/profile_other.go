//go:build !unix

package harness

import (
	"os/exec"

	"github.com/shirou/gopsutil/v4/process"
)

// processAlive reports whether a process with this ID runs. When that
// cannot be known it reports true: folders of a process that may run are
// never swept.
func processAlive(pid int) bool {
	ok, err := process.PidExists(int32(pid))
	return ok || err != nil
}

// ownProcessGroup does nothing here: Chrome's command is not modified.
func ownProcessGroup(*exec.Cmd) {}

// killProcessGroup does nothing here.
func killProcessGroup(*exec.Cmd) {}
