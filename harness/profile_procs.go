package harness

import "os"

// The processes that use a profile folder are found by their command line
// (Linux: /proc, read directly; macOS and Windows: gopsutil, through sysctl
// and the process's environment block), so that a folder left by a dead
// process is swept, and its Chrome helpers killed, on every system.

// killProfileUsers kills the processes whose command line names dir as their
// profile.
func killProfileUsers(dir string) {
	for _, pid := range profileUsers(dir) {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}
}

// profileUsers returns the live processes (not zombies, which keep their
// command line until reaped) whose command line names dir as their profile,
// other than this one: Chrome's --user-data-dir=dir, Firefox's --profile dir.
// A process that ends while it is read is left out, as is one whose command
// line cannot be read (another user's).
func profileUsers(dir string) []int { return profileProcesses(dir) }

// namesProfile reports whether a command line names dir as its profile.
func namesProfile(args []string, dir string) bool {
	for i, a := range args {
		if a == "--user-data-dir="+dir || a == "--profile" && i+1 < len(args) && args[i+1] == dir {
			return true
		}
	}
	return false
}
