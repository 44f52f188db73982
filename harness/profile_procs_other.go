//go:build !linux

package harness

import (
	"os"
	"slices"

	"github.com/shirou/gopsutil/v4/process"
)

// profileProcesses is profileUsers through gopsutil.
func profileProcesses(dir string) []int {
	procs, err := process.Processes()
	if err != nil {
		return nil
	}
	self := int32(os.Getpid())
	var users []int
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
		users = append(users, int(p.Pid))
	}
	return users
}
