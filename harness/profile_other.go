//go:build !unix

package harness

// processAlive reports true: without a portable check, folders of other
// processes are never swept.
func processAlive(pid int) bool { return true }

// killProfileUsers does nothing: Windows ends Chrome's helpers with it.
func killProfileUsers(dir string) {}
