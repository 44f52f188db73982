package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
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
	if runtime.GOOS == "windows" {
		t.Skip("folders of other processes are never swept on Windows: no portable liveness check")
	}
	mine, err := newProfileDir()
	if err != nil {
		t.Fatal(err)
	}
	defer removeProfileDir(mine)
	// PID 1 always runs; a PID past the kernel's limit never does.
	alive := filepath.Join(os.TempDir(), profilePrefix+"1-sweeptest")
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
