package harness

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Each browser gets a fresh profile folder, private to the user (0700),
// named after the process that made it: portprobe-profile-<pid>-<random>.
// Close removes it. A process that dies without Close (SIGKILL, a Ctrl-C
// that nothing handles) leaves it behind with its Chrome killed by the kernel
// (chromedp starts Chrome with Pdeathsig on Linux); the next Launch on the
// machine removes the folders whose process is gone.

const profilePrefix = "portprobe-profile-"

// newProfileDir creates the profile folder of a new browser.
func newProfileDir() (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", profilePrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("creating the profile folder: %w", err)
	}
	return dir, nil
}

// removeProfileDir ends the processes that still use dir (Chrome's helpers
// can outlive the browser process for a moment) and removes it.
func removeProfileDir(dir string) error {
	var err error
	// A helper that was still exiting can add a file as the folder goes;
	// no event says when the last one is gone, so try again a few times.
	if retryUntil(2*time.Second, 10*time.Millisecond, func() bool {
		killProfileUsers(dir)
		err = os.RemoveAll(dir)
		return err == nil
	}) {
		return nil
	}
	return fmt.Errorf("removing the profile folder %s: %w", dir, err)
}

// retryUntil calls try at once and then every interval until it returns
// true or limit has passed, and reports whether it returned true. It is for
// what the operating system does without telling (processes that are not
// our children exiting), never for the browser, whose events say when.
func retryUntil(limit, interval time.Duration, try func() bool) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if try() {
			return true
		}
		select {
		case <-deadline.C:
			return try()
		case <-tick.C:
		}
	}
}

// sweepProfiles removes the profile folders (and native host socket
// folders) that processes which no longer run left behind.
func sweepProfiles() {
	for _, prefix := range []string{profilePrefix, hostSocketPrefix} {
		sweepFolders(prefix)
	}
}

// sweepFolders removes the folders prefix+"<pid>-…" of processes that no
// longer run.
func sweepFolders(prefix string) {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, dir := range matches {
		rest := strings.TrimPrefix(filepath.Base(dir), prefix)
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		if err := removeProfileDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue // another Launch may be sweeping it too
		}
	}
}
