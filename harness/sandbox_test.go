package harness

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCheckSandbox(t *testing.T) {
	const browser = "/home/runner/.cache/setup-chrome/chromium/stable/x64/chrome"
	restricted := sandboxFacts{Browser: browser, UID: 1001, AppArmorRestrict: "1", UsernsClone: "1", MaxUserNS: "63711"}
	with := func(f sandboxFacts, change func(*sandboxFacts)) sandboxFacts { change(&f); return f }
	for _, tc := range []struct {
		name  string
		facts sandboxFacts
		want  []string // in the error; nil means the sandbox can start
	}{
		{"root", with(restricted, func(f *sandboxFacts) { f.UID = 0 }), nil},
		{"user namespaces allowed", sandboxFacts{Browser: browser, UID: 1001, AppArmorRestrict: "0", UsernsClone: "1", MaxUserNS: "63711"}, nil},
		{"an older kernel without the settings", sandboxFacts{Browser: browser, UID: 1001}, nil},
		{"AppArmor restricts, a profile allows this binary", with(restricted, func(f *sandboxFacts) { f.AppArmorProfile = "/etc/apparmor.d/chrome" }), nil},
		{"AppArmor restricts, a SUID helper", with(restricted, func(f *sandboxFacts) {
			f.Helper, f.HelperMode, f.HelperOwner = "/opt/google/chrome/chrome-sandbox", 0o755|fs.ModeSetuid, 0
		}), nil},
		{"AppArmor restricts, nothing else", restricted, []string{
			sysAppArmorRestrict + " = 1", "no SUID sandbox helper", "Options.NoSandbox", EnvNoSandbox + "=1",
			"sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0", "AppArmor profile", browser,
		}},
		{"AppArmor restricts, the helper is not setuid", with(restricted, func(f *sandboxFacts) {
			f.Helper, f.HelperMode, f.HelperOwner = "/cache/chrome/chrome-sandbox", 0o755, 1001
		}), []string{"/cache/chrome/chrome-sandbox is owned by user 1001, not root", "sudo chown root:root /cache/chrome/chrome-sandbox && sudo chmod 4755 /cache/chrome/chrome-sandbox"}},
		{"AppArmor restricts, the helper is root's but not setuid", with(restricted, func(f *sandboxFacts) {
			f.Helper, f.HelperMode, f.HelperOwner = "/cache/chrome/chrome-sandbox", 0o755, 0
		}), []string{"is not setuid"}},
		{"unprivileged user namespaces off (Debian's switch)", with(restricted, func(f *sandboxFacts) { f.AppArmorRestrict, f.UsernsClone = "", "0" }),
			[]string{sysUsernsClone + " = 0", "Options.NoSandbox"}},
		{"user namespaces off", with(restricted, func(f *sandboxFacts) { f.AppArmorRestrict, f.MaxUserNS = "", "0" }),
			[]string{sysMaxUserNS + " = 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSandbox(tc.facts)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("checkSandbox(%+v) = %v, want nil (the sandbox can start)", tc.facts, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("checkSandbox(%+v) = nil, want an error saying %q", tc.facts, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("checkSandbox's error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// readSandboxFacts reads the /proc settings, the helper and the AppArmor
// profiles from a fake root, and checkSandbox decides from them.
func TestReadSandboxFacts(t *testing.T) {
	root := t.TempDir()
	write := func(p, text string, mode os.FileMode) {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(sysAppArmorRestrict, "1\n", 0o644)
	write(sysUsernsClone, "1\n", 0o644)
	write("opt/cft/chrome", "#!/bin/sh\n", 0o755)
	write("opt/cft/chrome-sandbox", "", 0o755)
	browser := filepath.Join(root, "opt/cft/chrome")
	// Ubuntu's profile for Google Chrome, which does not attach to a
	// Chrome for Testing elsewhere.
	write("etc/apparmor.d/chrome", "abi <abi/4.0>,\ninclude <tunables/global>\n\nprofile chrome /opt/google/chrome{,-beta,-unstable}/chrome flags=(unconfined) {\n  userns,\n}\n", 0o644)

	f := readSandboxFacts(root, browser, 1001)
	if f.AppArmorRestrict != "1" || f.UsernsClone != "1" || f.MaxUserNS != "" {
		t.Errorf("read /proc settings %q %q %q, want 1, 1 and none", f.AppArmorRestrict, f.UsernsClone, f.MaxUserNS)
	}
	if f.Helper != filepath.Join(root, "opt/cft/chrome-sandbox") || f.HelperMode&fs.ModeSetuid != 0 {
		t.Errorf("helper %q (mode %v), want the chrome-sandbox next to the browser, not setuid", f.Helper, f.HelperMode)
	}
	if f.AppArmorProfile != "" {
		t.Errorf("profile %q attaches to %s, want none", f.AppArmorProfile, browser)
	}
	if err := checkSandbox(f); err == nil || !strings.Contains(err.Error(), "chmod 4755 "+f.Helper) {
		t.Errorf("checkSandbox = %v, want an error offering to make %s setuid", err, f.Helper)
	}

	// A profile that attaches to this browser and allows user namespaces.
	write("etc/apparmor.d/cft", "profile cft "+filepath.Join(root, "opt/{cft,other}/chrome")+" flags=(unconfined) {\n  userns,\n}\n", 0o644)
	f = readSandboxFacts(root, browser, 1001)
	if f.AppArmorProfile != filepath.Join(root, "etc/apparmor.d/cft") {
		t.Errorf("profile %q, want etc/apparmor.d/cft", f.AppArmorProfile)
	}
	if err := checkSandbox(f); err != nil {
		t.Errorf("checkSandbox with a profile for the browser = %v, want nil", err)
	}
}

func TestAppArmorGlob(t *testing.T) {
	for _, tc := range []struct {
		glob, path string
		match      bool
	}{
		{"/opt/google/chrome{,-beta,-unstable}/chrome", "/opt/google/chrome/chrome", true},
		{"/opt/google/chrome{,-beta,-unstable}/chrome", "/opt/google/chrome-beta/chrome", true},
		{"/opt/google/chrome{,-beta,-unstable}/chrome", "/home/runner/chrome/chrome", false},
		{"/opt/microsoft/msedge{,-beta,-dev}/msedge", "/opt/microsoft/msedge/msedge", true},
		{"/home/*/chrome", "/home/a/chrome", true},
		{"/home/*/chrome", "/home/a/b/chrome", false},
		{"/home/**/chrome", "/home/a/b/chrome", true},
		{"/usr/lib/chromium/chromium?", "/usr/lib/chromium/chromium1", true},
		{"/x/[ab]", "/x/b", true},
		{"/x.y", "/xzy", false},
	} {
		re, err := appArmorGlob(tc.glob)
		if err != nil {
			t.Fatalf("appArmorGlob(%q): %v", tc.glob, err)
		}
		if got := re.MatchString(tc.path); got != tc.match {
			t.Errorf("%q matches %q: %v, want %v", tc.glob, tc.path, got, tc.match)
		}
	}
}

func TestSandboxDeath(t *testing.T) {
	out := "[12:12:1130/120000.1:ERROR:something_else.cc(1)] unrelated\n" +
		"[12:12:1130/120000.2:FATAL:zygote_host_impl_linux.cc(128)] No usable sandbox! If you are running on Ubuntu 23.10+ or another Linux distro that has disabled unprivileged user namespaces with AppArmor, see https://chromium.googlesource.com/chromium/src/+/main/docs/security/apparmor-userns-restrictions.md.\n"
	err := sandboxDeath("/cft/chrome", []byte(out))
	if err == nil || !strings.HasPrefix(err.ChromeSaid, "[12:12:1130/120000.2:FATAL") || !strings.Contains(err.Error(), "No usable sandbox!") || !strings.Contains(err.Error(), "Options.NoSandbox") {
		t.Fatalf("sandboxDeath = %v, want an error quoting Chrome's line and naming the fixes", err)
	}
	if err := sandboxDeath("/cft/chrome", []byte("[1:1:FATAL:other.cc] something else\n")); err != nil {
		t.Errorf("sandboxDeath on another death = %v, want nil", err)
	}
}

// A Chrome that dies at start saying "No usable sandbox!" makes Launch fail
// with that line and the fixes (a script stands in for Chrome: as root the
// harness's own check passes, chromedp adds --no-sandbox).
func TestLaunchSaysChromeFoundNoSandbox(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Chrome's sandbox check is for Linux")
	}
	if testing.Short() {
		t.Skip("runs a fake browser")
	}
	fake := filepath.Join(t.TempDir(), "chrome")
	script := "#!/bin/sh\necho '[9:9:1130/1.2:FATAL:zygote_host_impl_linux.cc(128)] No usable sandbox! If you are running on Ubuntu 23.10+ ...' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// The harness's check is skipped when Flags name no-sandbox. Launch
	// notices the death only at its deadline (the pipe stays open), hence
	// a short one.
	opts := Options{ChromePath: fake, Timeout: 3 * time.Second, Logf: t.Logf, Flags: map[string]any{"no-sandbox": false}}
	b, err := Launch(t.Context(), opts)
	if err == nil {
		b.Close()
		t.Fatal("Launch of a Chrome that dies at start succeeded")
	}
	var serr *SandboxError
	if !errors.As(err, &serr) || !strings.Contains(serr.ChromeSaid, "No usable sandbox!") || !strings.Contains(err.Error(), "sysctl") {
		t.Fatalf("Launch: %v; want a SandboxError quoting Chrome's line and naming the fixes", err)
	}
}

func TestOptionsFromEnvNoSandbox(t *testing.T) {
	t.Setenv(EnvNoSandbox, "1")
	opts, err := OptionsFromEnv(Options{})
	if err != nil || !opts.NoSandbox {
		t.Fatalf("OptionsFromEnv with %s=1: NoSandbox %v, err %v; want true, nil", EnvNoSandbox, opts.NoSandbox, err)
	}
	t.Setenv(EnvNoSandbox, "yes")
	if _, err := OptionsFromEnv(Options{}); err == nil || !strings.Contains(err.Error(), EnvNoSandbox) {
		t.Fatalf("OptionsFromEnv with %s=yes: got %v, want an error naming the variable", EnvNoSandbox, err)
	}
}
