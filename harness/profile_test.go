package harness

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProfileFoldersArePrivate(t *testing.T) {
	dir, err := newProfileDir()
	if err != nil {
		t.Fatal(err)
	}
	defer removeProfileDir(dir)
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o700 {
		t.Errorf("profile folder %s has mode %v, want 0700", dir, st.Mode().Perm())
	}
	if want := fmt.Sprintf("%s%d-", profilePrefix, os.Getpid()); filepath.Base(dir)[:len(want)] != want {
		t.Errorf("profile folder %s is not named after this process (%s...)", dir, want)
	}
}

func TestSweepRemovesOnlyTheFoldersOfDeadProcesses(t *testing.T) {
	mine, err := newProfileDir()
	if err != nil {
		t.Fatal(err)
	}
	defer removeProfileDir(mine)
	// The parent (go test) runs; a PID past the systems' limits never does.
	alive := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-sweeptest", profilePrefix, os.Getppid()))
	dead := filepath.Join(os.TempDir(), profilePrefix+"2147483646-sweeptest")
	for _, d := range []string{alive, dead} {
		if err := os.MkdirAll(filepath.Join(d, "Default"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	defer os.RemoveAll(alive)
	defer os.RemoveAll(dead)

	sweepProfiles()
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the folder of a process that is gone was kept: %v", err)
	}
	for _, d := range []string{alive, mine} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("the folder %s of a running process was swept: %v", d, err)
		}
	}
}

func TestNamesProfile(t *testing.T) {
	const dir = "/tmp/portprobe-profile-1-x"
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"chrome", "--user-data-dir=" + dir, "--headless"}, true},
		{[]string{"firefox", "--profile", dir, "--headless"}, true},
		{[]string{"chrome", "--user-data-dir=" + dir + "-other"}, false},
		{[]string{"chrome", "--user-data-dir", dir}, false}, // Chrome's form is one argument
		{[]string{"firefox", "--profile"}, false},
		{[]string{"grep", dir}, false},
		{nil, false},
	} {
		if got := namesProfile(tc.args, dir); got != tc.want {
			t.Errorf("namesProfile(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// TestProfileHelperProcess is not a test: the tests below run the test
// binary as a process that names a profile on its command line, and it
// waits until its stdin closes.
func TestProfileHelperProcess(t *testing.T) {
	if os.Getenv("PORTPROBE_PROFILE_HELPER") != "1" {
		t.Skip("a helper process of TestProfileUsersAreFoundAndKilled")
	}
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// The processes that name a profile folder (as Chrome and Firefox do) are
// found by their command line and killed, on every system.
func TestProfileUsersAreFoundAndKilled(t *testing.T) {
	for name, args := range map[string][]string{
		"chrome":  {"--user-data-dir=%s"},
		"firefox": {"--profile", "%s"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), profilePrefix+"helper")
			cmdArgs := []string{"-test.run=^TestProfileHelperProcess$", "--"}
			for _, a := range args {
				cmdArgs = append(cmdArgs, strings.ReplaceAll(a, "%s", dir))
			}
			cmd := exec.Command(os.Args[0], cmdArgs...)
			cmd.Env = append(os.Environ(), "PORTPROBE_PROFILE_HELPER=1")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			defer cmd.Process.Kill()
			// The helper's command line is readable once it runs; the
			// system gives no event for that.
			if !retryUntil(10*time.Second, 10*time.Millisecond, func() bool { return slices.Contains(profileUsers(dir), cmd.Process.Pid) }) {
				t.Fatalf("profileUsers(%s) = %v, want the helper %d among them", dir, profileUsers(dir), cmd.Process.Pid)
			}
			if other := profileUsers(dir + "-other"); len(other) != 0 {
				t.Errorf("profileUsers of another folder = %v, want none", other)
			}
			killProfileUsers(dir)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("the helper exited cleanly; want it killed")
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("killProfileUsers(%s) did not end the helper %d", dir, cmd.Process.Pid)
			}
			if users := profileUsers(dir); len(users) != 0 {
				t.Errorf("after killProfileUsers, profileUsers = %v, want none", users)
			}
		})
	}
}
