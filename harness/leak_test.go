//go:build linux

package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The leak tests run the harness in a child process (this test binary again,
// running TestLeakChild) and end that process in each way a test run ends:
// a pass, a failure, a panic, SIGINT and SIGKILL. Afterwards no process may
// use the browser's profile folder, and the folder must be gone: removed by
// Close, or, when the process died without running it, by the next Launch.

const leakModeEnv = "PORTPROBE_LEAK_MODE"

func TestLeakChild(t *testing.T) {
	mode := os.Getenv(leakModeEnv)
	if mode == "" {
		t.Skip("run by TestNoLeaks in a child process")
	}
	b, _ := launchMDN(t, Options{Logf: func(string, ...any) {}})
	defer b.Close()
	fmt.Printf("READY %s %d\n", b.profileDir, b.chromeProcess().Pid)
	switch mode {
	case "pass":
	case "fail":
		t.Fatal("failing on purpose")
	case "panic":
		panic("panicking on purpose")
	case "sigint", "sigkill":
		select {} // until the parent sends the signal
	}
}

func TestNoLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	for _, mode := range []string{"pass", "fail", "panic", "sigint", "sigkill"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLeakChild$", "-test.v")
			cmd.Env = append(os.Environ(), leakModeEnv+"="+mode)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			profile, chromePid := readReady(t, stdout)
			switch mode {
			case "sigint":
				cmd.Process.Signal(os.Interrupt)
			case "sigkill":
				cmd.Process.Kill()
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				wantFail := mode != "pass"
				if (err != nil) != wantFail {
					t.Fatalf("child (%s) ended with %v; stderr:\n%s", mode, err, stderr.String())
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("child (%s) did not end in 60 s", mode)
			}

			// The kernel kills Chrome with its parent (Pdeathsig); give it
			// a bounded moment to reap the processes.
			if !retryUntil(10*time.Second, 20*time.Millisecond, func() bool { return len(profileUsers(profile)) == 0 }) {
				t.Fatalf("after %s, processes still use the profile %s: %v (Chrome was %d)", mode, profile, profileUsers(profile), chromePid)
			}
			if _, err := os.Stat(profile); err == nil {
				if mode == "pass" || mode == "fail" || mode == "panic" {
					t.Fatalf("after %s, Close did not remove the profile %s", mode, profile)
				}
				// The process died before Close could run: the next
				// Launch's sweep removes the folder.
				sweepProfiles()
			}
			if _, err := os.Stat(profile); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("after %s and a sweep, the profile %s is still there (%v)", mode, profile, err)
			}
		})
	}
}

// readReady reads the child's READY line: its profile folder and Chrome's
// process ID.
func readReady(t *testing.T, stdout interface{ Read([]byte) (int, error) }) (string, int) {
	t.Helper()
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if strings.HasPrefix(s.Text(), "READY ") {
				lines <- s.Text()
			}
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatal("the child ended without READY")
		}
		f := strings.Fields(line)
		pid, _ := strconv.Atoi(f[2])
		return f[1], pid
	case <-time.After(60 * time.Second):
		t.Fatal("the child did not get ready in 60 s")
	}
	return "", 0
}
