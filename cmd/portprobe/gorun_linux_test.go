package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A SIGKILL of `go run` (an IDE's stop button) ends the portprobe it built,
// which closes its Chrome: nothing of the run is left.
func TestKilledGoRunLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds portprobe and starts Chrome")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	cmd := exec.Command(goBin, "run", ".", "trace", "--html", "", filepath.Join("..", "..", "fixtures", "extensions", "mdn-example"))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out strings.Builder
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(out.String(), "onConnect") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("portprobe trace ended early:\n%s", out.String())
			}
			out.WriteString(l + "\n")
		case <-deadline:
			t.Fatalf("portprobe trace showed no onConnect in 2 minutes:\n%s", out.String())
		}
	}
	child := childrenOf(cmd.Process.Pid)
	if len(child) != 1 {
		t.Fatalf("go run has %d children, want the portprobe it built", len(child))
	}
	syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	// The trace command closes its browser and exits; its output ends.
	for ended := false; !ended; {
		select {
		case l, ok := <-lines:
			out.WriteString(l + "\n")
			ended = !ok
		case <-time.After(30 * time.Second):
			syscall.Kill(child[0], syscall.SIGKILL)
			t.Fatalf("the portprobe that go run built (%d) still runs 30 s after go run was killed; output:\n%s", child[0], out.String())
		}
	}
	profile := "portprobe-profile-" + strconv.Itoa(child[0]) + "-"
	// Processes that are not ours end without an event saying so: look
	// again every 50 ms, for at most 15 s.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for limit := time.Now().Add(15 * time.Second); ; <-tick.C {
		left := processesWith(profile)
		if running(child[0]) {
			left = append(left, child[0])
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(limit) {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("after go run was killed, %d processes of its portprobe (%d) still run; output:\n%s", len(left), child[0], out.String())
		}
	}
	if !strings.Contains(out.String(), "events") {
		t.Logf("output:\n%s", out.String())
	}
}

// childrenOf returns the processes whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	for _, p := range procs() {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat")
		if err != nil {
			continue
		}
		fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
		if len(fields) > 1 && string(fields[1]) == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// processesWith returns the running processes whose command line holds s.
func processesWith(s string) []int {
	var out []int
	for _, p := range procs() {
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
		if err == nil && bytes.Contains(cmdline, []byte(s)) && running(p) {
			out = append(out, p)
		}
	}
	return out
}

func procs() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// running reports whether the process runs (a zombie does not).
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
	return len(fields) > 0 && string(fields[0]) != "Z"
}
