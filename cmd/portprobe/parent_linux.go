package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// endWithGoRun makes this process get SIGTERM, and so close its browser,
// when `go run`, which started it, dies. go run passes Ctrl-C and SIGTERM on
// to its child, but a SIGKILL (an IDE's stop button, a CI job's timeout)
// would leave the built binary and its Chrome running. Started by anything
// else (a shell, nohup), the process outlives its parent as usual.
func endWithGoRun() {
	ppid := os.Getppid()
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return
	}
	if os.Getppid() != ppid { // go run died before the signal was set
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}
