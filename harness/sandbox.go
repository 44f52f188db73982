package harness

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Chrome's sandbox on Linux needs one of two things from the system: user
// namespaces that an unprivileged process may create (the namespace
// sandbox), or a setuid-root helper next to the browser (chrome-sandbox,
// msedge-sandbox for Edge: the SUID sandbox). As root, Chrome refuses to
// start with its sandbox at all, and chromedp adds --no-sandbox for root
// (allocate.go), which the harness keeps. For anyone else, Launch checks the
// system first (checkSandbox) and fails at once, naming the cause and the
// fixes, rather than letting Chrome die with "No usable sandbox!" or quietly
// dropping the sandbox.
//
// The case that needs it: Ubuntu 23.10 and later (the ubuntu-24.04 runners of
// GitHub Actions) set kernel.apparmor_restrict_unprivileged_userns=1, so only
// binaries an AppArmor profile lets do so may use user namespaces; Google
// Chrome's and Edge's packages come with such a profile or a SUID helper,
// a Chrome for Testing unpacked in a cache folder has neither.

// The files that say whether unprivileged user namespaces can be made.
const (
	sysAppArmorRestrict = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
	sysUsernsClone      = "/proc/sys/kernel/unprivileged_userns_clone"
	sysMaxUserNS        = "/proc/sys/user/max_user_namespaces"
	appArmorDir         = "/etc/apparmor.d"
)

// sandboxHelpers are the names of Chrome's SUID sandbox helper, looked for
// next to the browser's real binary (Edge renames it).
var sandboxHelpers = []string{"chrome-sandbox", "msedge-sandbox"}

// sandboxFacts are what checkSandbox decides from; readSandboxFacts reads
// them from the machine, tests write them by hand.
type sandboxFacts struct {
	Browser string // the browser binary, as given
	UID     int    // this process's user ID

	// The contents of the /proc/sys files above, trimmed; "" when the file
	// does not exist (a kernel without that setting).
	AppArmorRestrict, UsernsClone, MaxUserNS string

	// Helper is the SUID helper found next to the browser ("" if none), with
	// its mode and owner.
	Helper      string
	HelperMode  fs.FileMode
	HelperOwner int

	// AppArmorProfile is a profile in /etc/apparmor.d that attaches to the
	// browser and allows user namespaces ("" if none).
	AppArmorProfile string
}

// SandboxError is Launch's error when Chrome's sandbox cannot start on this
// machine (Linux, not root), or when Chrome died saying so ("No usable
// sandbox!"). Its message names the cause and the fixes.
type SandboxError struct {
	Browser string // the browser binary
	Cause   string // why the sandbox cannot start, in a sentence
	Helper  string // the SUID helper that would do, made setuid root
	// ChromeSaid is what Chrome printed when it died for this reason, or "".
	ChromeSaid string
}

func (e *SandboxError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "launching Chrome %q: its sandbox cannot start: %s", e.Browser, e.Cause)
	if e.ChromeSaid != "" {
		fmt.Fprintf(&b, " (Chrome said: %q)", e.ChromeSaid)
	}
	b.WriteString(". Either run it without the sandbox, on a machine that opens only pages you trust: " +
		"Options.NoSandbox, or " + EnvNoSandbox + "=1 where Options come from OptionsFromEnv; " +
		"or let the sandbox work: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` " +
		"(until reboot), or an AppArmor profile for this binary that allows userns")
	if e.Helper != "" {
		fmt.Fprintf(&b, ", or make its helper setuid root: `sudo chown root:root %[1]s && sudo chmod 4755 %[1]s`", e.Helper)
	}
	b.WriteString(" (see docs/ci.md)")
	return b.String()
}

// checkSandbox reports why Chrome's sandbox cannot start for a non-root
// user on Linux, or nil when it can: unprivileged user namespaces are
// allowed (and, under AppArmor's restriction, a profile allows them to this
// browser), or a setuid-root helper is next to it.
func checkSandbox(f sandboxFacts) *SandboxError {
	if f.UID == 0 {
		return nil // chromedp adds --no-sandbox for root, as before
	}
	if f.Helper != "" && f.HelperMode&fs.ModeSetuid != 0 && f.HelperOwner == 0 {
		return nil // the SUID sandbox works without user namespaces
	}
	var cause string
	switch {
	case f.MaxUserNS == "0":
		cause = "user namespaces are off (" + sysMaxUserNS + " = 0)"
	case f.UsernsClone == "0":
		cause = "unprivileged user namespaces are off (" + sysUsernsClone + " = 0)"
	case f.AppArmorRestrict == "1" && f.AppArmorProfile == "":
		cause = "AppArmor restricts unprivileged user namespaces (" + sysAppArmorRestrict +
			" = 1) and no profile in " + appArmorDir + " allows them to this binary"
	default:
		return nil
	}
	helper := f.Helper
	switch {
	case helper == "":
		cause += ", and no SUID sandbox helper (chrome-sandbox) is next to it"
		helper = filepath.Join(filepath.Dir(realPath(f.Browser)), "chrome-sandbox")
		if strings.Contains(filepath.Base(f.Browser), "msedge") {
			helper = filepath.Join(filepath.Dir(realPath(f.Browser)), "msedge-sandbox")
		}
		if _, err := os.Stat(helper); err != nil {
			helper = "" // nothing to chmod
		}
	case f.HelperOwner != 0:
		cause += fmt.Sprintf(", and its sandbox helper %s is owned by user %d, not root", f.Helper, f.HelperOwner)
	default:
		cause += fmt.Sprintf(", and its sandbox helper %s is not setuid (mode %v)", f.Helper, f.HelperMode)
	}
	return &SandboxError{Browser: f.Browser, Cause: cause, Helper: helper}
}

// readSandboxFacts reads the facts about browser from the machine; root is
// "/" but for tests, which give a folder laid out as one.
func readSandboxFacts(root, browser string, uid int) sandboxFacts {
	f := sandboxFacts{Browser: browser, UID: uid}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	f.AppArmorRestrict, f.UsernsClone, f.MaxUserNS = read(sysAppArmorRestrict), read(sysUsernsClone), read(sysMaxUserNS)
	real := realPath(browser)
	for _, name := range sandboxHelpers {
		p := filepath.Join(filepath.Dir(real), name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			f.Helper, f.HelperMode, f.HelperOwner = p, st.Mode(), fileOwner(st)
			break
		}
	}
	if f.AppArmorRestrict == "1" {
		f.AppArmorProfile = appArmorProfileFor(filepath.Join(root, appArmorDir), browser, real)
	}
	return f
}

// realPath is p with its symbolic links resolved, or p if that fails.
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		if abs, err := filepath.Abs(r); err == nil {
			return abs
		}
		return r
	}
	return p
}

// appArmorProfileFor returns the file of a profile in dir that attaches to
// one of paths (or to the browser binary next to them: /usr/bin/google-chrome
// is a script that runs /opt/google/chrome/chrome) and allows user
// namespaces ("userns,"), or "" if there is none.
func appArmorProfileFor(dir string, paths ...string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var candidates []string
	for _, p := range paths {
		candidates = append(candidates, p)
		for _, name := range []string{"chrome", "msedge", "chromium"} {
			candidates = append(candidates, filepath.Join(filepath.Dir(p), name))
		}
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		file := filepath.Join(dir, e.Name())
		attach, userns := readAppArmorProfile(file)
		if !userns {
			continue
		}
		for _, glob := range attach {
			re, err := appArmorGlob(glob)
			if err != nil {
				continue
			}
			for _, c := range candidates {
				if re.MatchString(c) {
					return file
				}
			}
		}
	}
	return ""
}

// readAppArmorProfile returns the attachment paths of the profiles in a file
// (`profile name /path {` or `/path {`) and whether it allows user
// namespaces. It is a reading good enough for the packaged profiles of
// browsers, not a parser of the language.
func readAppArmorProfile(file string) (attach []string, userns bool) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, false
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line == "userns," || strings.HasPrefix(line, "userns ") {
			userns = true
		}
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 3 && fields[0] == "profile" && strings.HasPrefix(fields[2], "/"):
			attach = append(attach, fields[2])
		case len(fields) >= 2 && strings.HasPrefix(fields[0], "/") && strings.HasSuffix(line, "{"):
			attach = append(attach, fields[0])
		}
	}
	return attach, userns
}

// appArmorGlob turns an AppArmor path glob (*, **, ?, {a,b}, [..]) into a
// regular expression that matches a whole path.
func appArmorGlob(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	depth := 0
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '{':
			b.WriteString("(?:")
			depth++
		case c == '}' && depth > 0:
			b.WriteString(")")
			depth--
		case c == ',' && depth > 0:
			b.WriteString("|")
		case c == '[':
			j := strings.IndexByte(glob[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unclosed [ in %q", glob)
			}
			b.WriteString(glob[i : i+j+1])
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// noUsableSandbox is what Chrome prints when it dies for want of a sandbox.
const noUsableSandbox = "No usable sandbox!"

// sandboxDeath returns a SandboxError when Chrome's output (its stderr, as
// the harness keeps it in the profile folder) says it died for want of a
// sandbox, or nil.
func sandboxDeath(browser string, output []byte) *SandboxError {
	for line := range strings.SplitSeq(string(output), "\n") {
		if strings.Contains(line, noUsableSandbox) {
			return &SandboxError{
				Browser:    browser,
				Cause:      "Chrome found no usable sandbox (neither user namespaces nor a SUID helper it may use)",
				ChromeSaid: strings.TrimSpace(line),
			}
		}
	}
	return nil
}
