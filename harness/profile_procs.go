package harness

import (
	"os"
	"slices"

	"github.com/shirou/gopsutil/v4/process"
)

// The processes that use a profile folder are found by their command line,
// through gopsutil on every system (Linux: /proc; macOS: sysctl; Windows:
// the process's environment block), so that a folder left by a dead process
// is swept, and its Chrome helpers killed, on macOS and Windows too.

// killProfileUsers kills the processes whose command line names dir as their
// profile.
func killProfileUsers(dir string) {
	for _, p := range profileProcesses(dir) {
		p.Kill()
	}
}

// profileUsers returns the live processes (not zombies, which keep their
// command line until reaped) whose command line names dir as their profile,
// other than this one: Chrome's --user-data-dir=dir, Firefox's --profile dir.
func profileUsers(dir string) []int {
	var pids []int
	for _, p := range profileProcesses(dir) {
		pids = append(pids, int(p.Pid))
	}
	return pids
}

// profileProcesses is profileUsers as gopsutil's processes. A process that
// ends while it is read is left out, as is one whose command line cannot be
// read (another user's, on macOS and Windows).
func profileProcesses(dir string) []*process.Process {
	procs, err := process.Processes()
	if err != nil {
		return nil
	}
	self := int32(os.Getpid())
	var users []*process.Process
	for _, p := range procs {
		if p.Pid == self {
			continue
		}
		args, err := p.CmdlineSlice()
		if err != nil || !namesProfile(args, dir) {
			continue
		}
		if st, err := p.Status(); err == nil && slices.Contains(st, process.Zombie) {
			continue
		}
		users = append(users, p)
	}
	return users
}

// namesProfile reports whether a command line names dir as its profile.
func namesProfile(args []string, dir string) bool {
	for i, a := range args {
		if a == "--user-data-dir="+dir || a == "--profile" && i+1 < len(args) && args[i+1] == dir {
			return true
		}
	}
	return false
}
