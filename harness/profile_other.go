//go:build !unix

package harness

import "os/exec"

// processAlive reports true: without a portable check, folders of other
// processes are never swept.
func processAlive(pid int) bool { return true }

// killProfileUsers does nothing: Windows ends Chrome's helpers with it.
func killProfileUsers(dir string) {}

// ownProcessGroup does nothing here: Chrome's command is not modified.
func ownProcessGroup(*exec.Cmd) {}

// killProcessGroup does nothing here.
func killProcessGroup(*exec.Cmd) {}
func profileUsers(string) []int  { return nil }
