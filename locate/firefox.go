package locate

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// FirefoxNotFoundError is returned by Firefox when no Firefox binary was
// found in any of the places it looks.
type FirefoxNotFoundError struct {
	// Searched lists every place looked at, in order.
	Searched []string
}

func (e *FirefoxNotFoundError) Error() string {
	return fmt.Sprintf("no Firefox found (searched: %s); run scripts/setup.sh to install Firefox ESR, "+
		"or give the path of a Firefox binary (Options.FirefoxPath, or PORTPROBE_FIREFOX where options come from harness.OptionsFromEnv)",
		strings.Join(e.Searched, ", "))
}

// firefoxNames are the executable names looked up on PATH, in order: the
// ESR first, the version portprobe supports.
var firefoxNames = []string{"firefox-esr", "firefox"}

// firefoxPaths are the usual install places, by operating system.
func firefoxPaths(goos string) []string {
	switch goos {
	case "darwin":
		return []string{"/Applications/Firefox.app/Contents/MacOS/firefox"}
	case "windows":
		return []string{`C:\Program Files\Mozilla Firefox\firefox.exe`}
	}
	return []string{"/usr/lib/firefox-esr/firefox-esr", "/usr/lib/firefox/firefox", "/opt/firefox/firefox"}
}

// Firefox returns the absolute path of the Firefox binary to use: Debian's
// /usr/lib/firefox-esr/firefox-esr (the binary itself, not the /usr/bin
// script), firefox-esr or firefox on PATH, or the usual install places. It
// only looks at the file system and reads no environment variable.
func Firefox() (string, error) {
	var searched []string
	for _, p := range firefoxPaths(runtime.GOOS)[:1] {
		searched = append(searched, p)
		if isExecutableFile(p) {
			return p, nil
		}
	}
	for _, name := range firefoxNames {
		searched = append(searched, name+" on PATH")
		if p, err := exec.LookPath(name); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				return abs, nil
			}
			return p, nil
		}
	}
	for _, p := range firefoxPaths(runtime.GOOS)[1:] {
		searched = append(searched, p)
		if isExecutableFile(p) {
			return p, nil
		}
	}
	return "", &FirefoxNotFoundError{Searched: searched}
}

// FirefoxVersion runs `<path> --version` and returns what it prints, such
// as "Mozilla Firefox 153.8.0esr".
func FirefoxVersion(ctx context.Context, path string) (string, error) {
	return ChromeVersion(ctx, path) // the same --version, the same errors
}
