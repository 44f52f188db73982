package locate

// This file finds the Chrome binary. Starting and driving it is browser.go's
// job; keeping the search apart lets it be tested without a browser.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// ChromeEnvVar names the environment variable that ChromeFromEnv reads: when
// set, it gives the Chrome or Chromium binary to use and turns off the
// search of PATH and the usual install locations. Chrome never reads it.
const ChromeEnvVar = "PORTPROBE_CHROME"

// chromeNames are the executable names looked up on PATH, in order.
var chromeNames = []string{
	"chromium",
	"chromium-browser",
	"google-chrome",
	"google-chrome-stable",
	"chrome",
}

// Debian and Ubuntu ship /usr/bin/chromium as a shell script that reads
// /etc/chromium.d and then execs the real binary. portprobe starts the real
// binary so that the flags it passes are the only ones in effect and the
// process it starts is Chrome itself.
const (
	debianChromiumWrapper = "/usr/bin/chromium"
	debianChromiumBinary  = "/usr/lib/chromium/chromium"
)

// chromeLocation is a well-known place a Chrome binary may be installed.
type chromeLocation struct {
	// base, if not empty, is the environment variable whose value path is
	// relative to (HOME, ProgramFiles, ...).
	base string
	// path is an absolute path, or one relative to base's value, written
	// with the separators of the target system. It may be a filepath.Glob
	// pattern, in which case the newest matching version is used.
	path string
}

// chromeLocations returns the well-known install locations for goos, in the
// order they are tried.
func chromeLocations(goos string) []chromeLocation {
	switch goos {
	case "darwin":
		return []chromeLocation{
			{path: "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"},
			{path: "/Applications/Chromium.app/Contents/MacOS/Chromium"},
			{path: "/Applications/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing"},
			{base: "HOME", path: "Applications/Google Chrome.app/Contents/MacOS/Google Chrome"},
			{base: "HOME", path: "Applications/Chromium.app/Contents/MacOS/Chromium"},
			// Puppeteer's cache, and `npx @puppeteer/browsers install chrome`
			// run in the home directory.
			{base: "HOME", path: ".cache/puppeteer/chrome/mac*-*/chrome-mac*/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing"},
			{base: "HOME", path: "chrome/mac*-*/chrome-mac*/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing"},
		}
	case "windows":
		return []chromeLocation{
			{base: "ProgramFiles", path: `Google\Chrome\Application\chrome.exe`},
			{base: "ProgramFiles(x86)", path: `Google\Chrome\Application\chrome.exe`},
			{base: "LOCALAPPDATA", path: `Google\Chrome\Application\chrome.exe`},
			{base: "ProgramFiles", path: `Chromium\Application\chrome.exe`},
			{base: "LOCALAPPDATA", path: `Chromium\Application\chrome.exe`},
			{base: "USERPROFILE", path: `.cache\puppeteer\chrome\win64-*\chrome-win64\chrome.exe`},
			{base: "USERPROFILE", path: `chrome\win64-*\chrome-win64\chrome.exe`},
		}
	default:
		return []chromeLocation{
			{path: debianChromiumBinary},
			{path: "/usr/lib/chromium-browser/chromium-browser"},
			{path: debianChromiumWrapper},
			{path: "/usr/bin/chromium-browser"},
			{path: "/snap/bin/chromium"},
			{path: "/usr/bin/google-chrome-stable"},
			{path: "/usr/bin/google-chrome"},
			{path: "/opt/google/chrome/chrome"},
			{path: "/opt/chrome-for-testing/chrome"},
			{base: "HOME", path: ".cache/puppeteer/chrome/linux-*/chrome-linux64/chrome"},
			{base: "HOME", path: "chrome/linux-*/chrome-linux64/chrome"},
		}
	}
}

// NotFoundError is returned by Chrome when no Chrome or Chromium
// binary was found in any of the places it looks.
type NotFoundError struct {
	// Searched lists every place looked at, in order: the environment
	// variable, each name looked up on PATH ("chromium on PATH"), and each
	// well-known path or glob pattern.
	Searched []string
}

// Error lists the places searched and says how to fix the problem.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no Chrome or Chromium found (searched: %s); "+
		"run scripts/setup.sh to install Chromium, or give the path of a Chrome binary "+
		"(Options.ChromePath, or %s where options come from harness.OptionsFromEnv)",
		strings.Join(e.Searched, ", "), ChromeEnvVar)
}

// Chrome returns the absolute path of the Chrome or Chromium binary to use.
// It looks up chromium, chromium-browser, google-chrome,
// google-chrome-stable and chrome on PATH, then tries the usual install
// locations for the operating system, including the Chrome for Testing
// builds that Puppeteer downloads (the newest version wins). On Debian the
// /usr/bin/chromium wrapper script is replaced by the binary it starts,
// /usr/lib/chromium/chromium.
//
// When nothing is found the error is a *NotFoundError. Chrome only inspects
// the file system; it does not run the binary, and it reads no environment
// variable of its own (see ChromeFromEnv).
func Chrome() (string, error) {
	return newChromeFinder().find()
}

// ChromeFromEnv is Chrome, except that when the PORTPROBE_CHROME
// environment variable is set its value is used as given and must name an
// executable file; nothing else is tried.
func ChromeFromEnv() (string, error) {
	f := newChromeFinder()
	f.useEnvVar = true
	return f.find()
}

// chromeFinder holds the operating-system dependencies of the search for
// Chrome, so that tests can replace them.
type chromeFinder struct {
	getenv       func(string) string
	lookPath     func(string) (string, error)
	isExecutable func(string) bool
	glob         func(string) ([]string, error)
	// evalSymlinks resolves symbolic links; nil means paths are taken as
	// they are.
	evalSymlinks func(string) (string, error)
	goos         string
	// useEnvVar makes ChromeEnvVar, when set, the answer.
	useEnvVar bool
}

// newChromeFinder returns a chromeFinder that uses the real environment and
// file system.
func newChromeFinder() chromeFinder {
	return chromeFinder{
		getenv:       os.Getenv,
		lookPath:     exec.LookPath,
		isExecutable: isExecutableFile,
		glob:         filepath.Glob,
		evalSymlinks: filepath.EvalSymlinks,
		goos:         runtime.GOOS,
	}
}

// find runs the search described on Chrome.
func (f chromeFinder) find() (string, error) {
	var searched []string
	if p := f.getenv(ChromeEnvVar); f.useEnvVar && p != "" {
		if !f.isExecutable(p) {
			return "", fmt.Errorf("%s is set to %q, which is not an executable file; "+
				"point it at a Chrome or Chromium binary, or unset it to search the usual places",
				ChromeEnvVar, p)
		}
		abs, err := f.abs(p)
		if err != nil {
			return "", fmt.Errorf("making %s=%q absolute: %w", ChromeEnvVar, p, err)
		}
		return abs, nil
	} else if f.useEnvVar {
		searched = append(searched, ChromeEnvVar+" (unset)")
	}

	for _, name := range chromeNames {
		searched = append(searched, name+" on PATH")
		// exec.LookPath also returns an error (exec.ErrDot) for a match in
		// a relative PATH entry; such a match is deliberately ignored.
		p, err := f.lookPath(name)
		if err != nil {
			continue
		}
		if abs, err := f.abs(p); err == nil {
			p = abs
		}
		return f.preferRealBinary(p), nil
	}

	for _, loc := range chromeLocations(f.goos) {
		pattern, label, ok := f.expand(loc)
		searched = append(searched, label)
		if !ok {
			continue
		}
		if p, ok := f.firstExecutable(pattern, strings.ContainsAny(loc.path, "*?[")); ok {
			return f.preferRealBinary(p), nil
		}
	}
	return "", &NotFoundError{Searched: searched}
}

// expand returns loc's path with its base variable's value prepended, and
// the label to list it under in NotFoundError.Searched. ok is false
// when the base variable is unset, so there is nothing to look at.
func (f chromeFinder) expand(loc chromeLocation) (pattern, label string, ok bool) {
	if loc.base == "" {
		return loc.path, loc.path, true
	}
	sep := "/"
	if f.goos == "windows" {
		sep = `\`
	}
	dir := f.getenv(loc.base)
	if dir == "" {
		ref := "$" + loc.base
		if f.goos == "windows" {
			ref = "%" + loc.base + "%"
		}
		return "", ref + sep + loc.path + " (" + loc.base + " unset)", false
	}
	p := strings.TrimSuffix(dir, sep) + sep + loc.path
	return p, p, true
}

// firstExecutable returns pattern itself if it is not a glob pattern and is
// executable; otherwise the executable match of pattern with the highest
// version, comparing runs of digits as numbers.
func (f chromeFinder) firstExecutable(pattern string, isGlob bool) (string, bool) {
	if !isGlob {
		return pattern, f.isExecutable(pattern)
	}
	matches, err := f.glob(pattern)
	if err != nil { // only filepath.ErrBadPattern, and the patterns are ours
		return "", false
	}
	slices.SortFunc(matches, func(a, b string) int { return compareNatural(b, a) })
	for _, m := range matches {
		if f.isExecutable(m) {
			return m, true
		}
	}
	return "", false
}

// abs returns p made absolute against the working directory, unless it
// already is an absolute path on f.goos.
func (f chromeFinder) abs(p string) (string, error) {
	if f.goos == "windows" {
		if strings.HasPrefix(p, `\\`) || len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
			return p, nil
		}
	} else if strings.HasPrefix(p, "/") {
		return p, nil
	}
	return filepath.Abs(p)
}

// preferRealBinary maps Debian's /usr/bin/chromium wrapper script (reached
// directly or through a symbolic link) to the binary it runs, when that
// binary exists.
func (f chromeFinder) preferRealBinary(p string) string {
	if f.goos != "linux" {
		return p
	}
	resolved := p
	if f.evalSymlinks != nil {
		if r, err := f.evalSymlinks(p); err == nil {
			resolved = r
		}
	}
	if resolved == debianChromiumWrapper && f.isExecutable(debianChromiumBinary) {
		return debianChromiumBinary
	}
	return p
}

// isExecutableFile reports whether p is a regular file (following symbolic
// links) that can be executed: on Unix, one with an execute bit set.
func isExecutableFile(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	return runtime.GOOS == "windows" || fi.Mode().Perm()&0o111 != 0
}

// compareNatural compares a and b like strings.Compare, except that runs of
// ASCII digits compare by numeric value, so "linux-131.0" sorts after
// "linux-99.0".
func compareNatural(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			na, ra := splitDigits(a)
			nb, rb := splitDigits(b)
			na = strings.TrimLeft(na, "0")
			nb = strings.TrimLeft(nb, "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// splitDigits splits s after its leading run of digits.
func splitDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// ChromeVersion runs `<path> --version` and returns the trimmed output, e.g.
// "Chromium 156.0.8078.79" (Debian's /usr/bin/chromium wrapper adds
// "built on Debian ..."). It starts a short-lived browser process, which
// takes a fraction of a second; ctx bounds it.
//
// On Windows chrome.exe prints nothing for --version, so ChromeVersion
// returns an error there.
func ChromeVersion(ctx context.Context, path string) (string, error) {
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("running %q --version: %w (%v)", path, ctxErr, err)
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if stderr := strings.TrimSpace(string(exitErr.Stderr)); stderr != "" {
				return "", fmt.Errorf("running %q --version: %w: %s", path, err, stderr)
			}
		}
		return "", fmt.Errorf("running %q --version: %w", path, err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		return "", fmt.Errorf("running %q --version: it printed nothing", path)
	}
	return v, nil
}
