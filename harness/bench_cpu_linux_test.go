package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"syscall"
)

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on every
// Linux that Chrome runs on).
const clockTick = 10 * time.Millisecond

// browserCPU returns the CPU time (user and system) that the browser's
// processes used so far: the browser process and all its descendants (the
// zygote, renderers, GPU and utility processes), with the time of the ones
// already reaped (each process's cutime and cstime). ok is false when the
// browser's process is not known.
func (b *Browser) browserCPU() (time.Duration, bool) {
	by, ok := b.browserCPUByType()
	var sum time.Duration
	for _, d := range by {
		sum += d
	}
	return sum, ok
}

// browserCPUByType is browserCPU by the type of process (Chrome's --type=
// flag: "renderer", "gpu-process", "utility", "zygote"; "browser" for the
// browser process).
func (b *Browser) browserCPUByType() (map[string]time.Duration, bool) {
	cmd := b.chromeCmd.Load()
	if cmd == nil || cmd.Process == nil {
		return nil, false
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	type proc struct {
		ppid int
		cpu  time.Duration
	}
	procs := map[int]proc{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue // it ended
		}
		// The fields after the command, which is in parentheses and may
		// hold spaces: state ppid pgrp session tty_nr tpgid flags minflt
		// cminflt majflt cmajflt utime stime cutime cstime ...
		end := bytes.LastIndexByte(stat, ')')
		if end < 0 {
			continue
		}
		f := bytes.Fields(stat[end+1:])
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(string(f[1]))
		var ticks int64
		for _, i := range []int{11, 12, 13, 14} {
			n, _ := strconv.ParseInt(string(f[i]), 10, 64)
			ticks += n
		}
		procs[pid] = proc{ppid: ppid, cpu: time.Duration(ticks) * clockTick}
	}
	in := func(pid int) bool {
		for i := 0; pid > 1 && i < 64; i++ {
			if pid == cmd.Process.Pid {
				return true
			}
			pid = procs[pid].ppid
		}
		return false
	}
	by := map[string]time.Duration{}
	for pid, p := range procs {
		if in(pid) {
			by[processType(strconv.Itoa(pid))] += p.cpu
		}
	}
	return by, true
}

// processType is the --type= of a Chrome process's command line, "browser"
// when it has none.
func processType(pid string) string {
	cmdline, err := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
	if err != nil {
		return "gone"
	}
	// Chrome rewrites its processes' titles: the arguments may be one
	// string, separated by spaces.
	for _, a := range bytes.FieldsFunc(cmdline, func(r rune) bool { return r == 0 || r == ' ' }) {
		if t, ok := bytes.CutPrefix(a, []byte("--type=")); ok {
			return string(t)
		}
	}
	return "browser"
}

// ownCPU returns the CPU time (user and system) that this process used so
// far.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
