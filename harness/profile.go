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
	killProfileUsers(dir)
	var err error
	// A helper that was still exiting can add a file as the folder goes.
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		killProfileUsers(dir)
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("removing the profile folder %s: %w", dir, err)
}

// sweepProfiles removes the profile folders that processes which no longer
// run left behind.
func sweepProfiles() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), profilePrefix+"*"))
	for _, dir := range matches {
		rest := strings.TrimPrefix(filepath.Base(dir), profilePrefix)
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
