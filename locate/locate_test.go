package locate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// fakeSystem describes the environment a chromeFinder sees in a test.
type fakeSystem struct {
	goos     string
	env      map[string]string // environment variables
	path     map[string]string // name -> what exec.LookPath would return
	files    []string          // executable files
	symlinks map[string]string // path -> what filepath.EvalSymlinks returns
}

// finder returns a chromeFinder that sees only s.
func (s fakeSystem) finder() chromeFinder {
	goos := s.goos
	if goos == "" {
		goos = "linux"
	}
	return chromeFinder{
		getenv: func(k string) string { return s.env[k] },
		lookPath: func(name string) (string, error) {
			if p, ok := s.path[name]; ok {
				return p, nil
			}
			return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
		},
		isExecutable: func(p string) bool { return slices.Contains(s.files, p) },
		glob: func(pattern string) ([]string, error) {
			var matches []string
			for _, f := range s.files {
				if ok, err := path.Match(pattern, f); err != nil {
					return nil, err
				} else if ok {
					matches = append(matches, f)
				}
			}
			return matches, nil
		},
		evalSymlinks: func(p string) (string, error) {
			if r, ok := s.symlinks[p]; ok {
				return r, nil
			}
			return p, nil
		},
		goos:      goos,
		useEnvVar: true,
	}
}

func TestChromeFinderFinds(t *testing.T) {
	tests := []struct {
		name string
		sys  fakeSystem
		want string
	}{
		{
			name: "environment variable wins over PATH",
			sys: fakeSystem{
				env:   map[string]string{"PORTPROBE_CHROME": "/custom/chrome"},
				path:  map[string]string{"chromium": "/usr/local/bin/chromium"},
				files: []string{"/custom/chrome", "/usr/local/bin/chromium"},
			},
			want: "/custom/chrome",
		},
		{
			name: "environment variable is used as given, even the Debian wrapper",
			sys: fakeSystem{
				env:   map[string]string{"PORTPROBE_CHROME": "/usr/bin/chromium"},
				files: []string{"/usr/bin/chromium", "/usr/lib/chromium/chromium"},
			},
			want: "/usr/bin/chromium",
		},
		{
			name: "chromium comes first on PATH",
			sys: fakeSystem{
				path: map[string]string{
					"chromium":      "/usr/local/bin/chromium",
					"google-chrome": "/usr/local/bin/google-chrome",
				},
			},
			want: "/usr/local/bin/chromium",
		},
		{
			name: "chromium-browser before google-chrome",
			sys: fakeSystem{
				path: map[string]string{
					"google-chrome":    "/usr/local/bin/google-chrome",
					"chromium-browser": "/usr/local/bin/chromium-browser",
				},
			},
			want: "/usr/local/bin/chromium-browser",
		},
		{
			name: "google-chrome before google-chrome-stable and chrome",
			sys: fakeSystem{
				path: map[string]string{
					"chrome":               "/x/chrome",
					"google-chrome-stable": "/x/google-chrome-stable",
					"google-chrome":        "/x/google-chrome",
				},
			},
			want: "/x/google-chrome",
		},
		{
			name: "chrome, last on PATH",
			sys: fakeSystem{
				path: map[string]string{"chrome": "/x/chrome"},
			},
			want: "/x/chrome",
		},
		{
			name: "PATH before well-known locations",
			sys: fakeSystem{
				path:  map[string]string{"google-chrome": "/usr/local/bin/google-chrome"},
				files: []string{"/opt/google/chrome/chrome"},
			},
			want: "/usr/local/bin/google-chrome",
		},
		{
			name: "Debian wrapper on PATH maps to the real binary",
			sys: fakeSystem{
				path:  map[string]string{"chromium": "/usr/bin/chromium"},
				files: []string{"/usr/bin/chromium", "/usr/lib/chromium/chromium"},
			},
			want: "/usr/lib/chromium/chromium",
		},
		{
			name: "Debian wrapper reached through a symlink maps to the real binary",
			sys: fakeSystem{
				path:     map[string]string{"chromium": "/bin/chromium"},
				files:    []string{"/bin/chromium", "/usr/bin/chromium", "/usr/lib/chromium/chromium"},
				symlinks: map[string]string{"/bin/chromium": "/usr/bin/chromium"},
			},
			want: "/usr/lib/chromium/chromium",
		},
		{
			name: "Debian wrapper kept when the real binary is missing",
			sys: fakeSystem{
				path:  map[string]string{"chromium": "/usr/bin/chromium"},
				files: []string{"/usr/bin/chromium"},
			},
			want: "/usr/bin/chromium",
		},
		{
			name: "Debian real binary found without PATH",
			sys: fakeSystem{
				files: []string{"/usr/bin/chromium", "/usr/lib/chromium/chromium"},
			},
			want: "/usr/lib/chromium/chromium",
		},
		{
			name: "Google Chrome in /opt",
			sys: fakeSystem{
				files: []string{"/opt/google/chrome/chrome"},
			},
			want: "/opt/google/chrome/chrome",
		},
		{
			name: "newest Chrome for Testing in Puppeteer's cache",
			sys: fakeSystem{
				env: map[string]string{"HOME": "/home/u"},
				files: []string{
					"/home/u/.cache/puppeteer/chrome/linux-99.0.4844.51/chrome-linux64/chrome",
					"/home/u/.cache/puppeteer/chrome/linux-131.0.6778.85/chrome-linux64/chrome",
					"/home/u/.cache/puppeteer/chrome/linux-131.0.6778.9/chrome-linux64/chrome",
				},
			},
			want: "/home/u/.cache/puppeteer/chrome/linux-131.0.6778.85/chrome-linux64/chrome",
		},
		{
			name: "Chrome for Testing installed in the home directory",
			sys: fakeSystem{
				env:   map[string]string{"HOME": "/home/u"},
				files: []string{"/home/u/chrome/linux-140.0.7339.0/chrome-linux64/chrome"},
			},
			want: "/home/u/chrome/linux-140.0.7339.0/chrome-linux64/chrome",
		},
		{
			name: "macOS Chromium app",
			sys: fakeSystem{
				goos:  "darwin",
				files: []string{"/Applications/Chromium.app/Contents/MacOS/Chromium"},
			},
			want: "/Applications/Chromium.app/Contents/MacOS/Chromium",
		},
		{
			name: "macOS Chrome for Testing app",
			sys: fakeSystem{
				goos:  "darwin",
				files: []string{"/Applications/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing"},
			},
			want: "/Applications/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
		},
		{
			name: "Windows per-user Chrome",
			sys: fakeSystem{
				goos: "windows",
				env: map[string]string{
					"ProgramFiles": `C:\Program Files`,
					"LOCALAPPDATA": `C:\Users\u\AppData\Local`,
				},
				files: []string{`C:\Users\u\AppData\Local\Google\Chrome\Application\chrome.exe`},
			},
			want: `C:\Users\u\AppData\Local\Google\Chrome\Application\chrome.exe`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sys.finder().find()
			if err != nil {
				t.Fatalf("find() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("find() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChromeFinderEnvNotExecutable(t *testing.T) {
	sys := fakeSystem{
		env: map[string]string{"PORTPROBE_CHROME": "/no/such/chrome"},
		// Something the search would find, to show there is no fallback.
		path:  map[string]string{"chromium": "/usr/local/bin/chromium"},
		files: []string{"/usr/local/bin/chromium"},
	}
	got, err := sys.finder().find()
	if err == nil {
		t.Fatalf("find() = %q, want an error", got)
	}
	var notFound *NotFoundError
	if errors.As(err, &notFound) {
		t.Errorf("find() error is a *NotFoundError, want a plain error about the variable: %v", err)
	}
	for _, want := range []string{"PORTPROBE_CHROME", `"/no/such/chrome"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("find() error %q does not mention %s", err, want)
		}
	}
}

func TestChromeFinderNotFound(t *testing.T) {
	tests := []struct {
		name string
		sys  fakeSystem
		want []string
	}{
		{
			name: "linux",
			sys:  fakeSystem{env: map[string]string{"HOME": "/home/u"}},
			want: []string{
				"PORTPROBE_CHROME (unset)",
				"chromium on PATH",
				"chromium-browser on PATH",
				"google-chrome on PATH",
				"google-chrome-stable on PATH",
				"chrome on PATH",
				"/usr/lib/chromium/chromium",
				"/usr/lib/chromium-browser/chromium-browser",
				"/usr/bin/chromium",
				"/usr/bin/chromium-browser",
				"/snap/bin/chromium",
				"/usr/bin/google-chrome-stable",
				"/usr/bin/google-chrome",
				"/opt/google/chrome/chrome",
				"/opt/chrome-for-testing/chrome",
				"/home/u/.cache/puppeteer/chrome/linux-*/chrome-linux64/chrome",
				"/home/u/chrome/linux-*/chrome-linux64/chrome",
			},
		},
		{
			name: "linux without HOME",
			sys:  fakeSystem{},
			want: []string{
				"PORTPROBE_CHROME (unset)",
				"chromium on PATH",
				"chromium-browser on PATH",
				"google-chrome on PATH",
				"google-chrome-stable on PATH",
				"chrome on PATH",
				"/usr/lib/chromium/chromium",
				"/usr/lib/chromium-browser/chromium-browser",
				"/usr/bin/chromium",
				"/usr/bin/chromium-browser",
				"/snap/bin/chromium",
				"/usr/bin/google-chrome-stable",
				"/usr/bin/google-chrome",
				"/opt/google/chrome/chrome",
				"/opt/chrome-for-testing/chrome",
				"$HOME/.cache/puppeteer/chrome/linux-*/chrome-linux64/chrome (HOME unset)",
				"$HOME/chrome/linux-*/chrome-linux64/chrome (HOME unset)",
			},
		},
		{
			name: "windows",
			sys: fakeSystem{
				goos: "windows",
				env: map[string]string{
					"ProgramFiles": `C:\Program Files`,
					"USERPROFILE":  `C:\Users\u`,
				},
			},
			want: []string{
				"PORTPROBE_CHROME (unset)",
				"chromium on PATH",
				"chromium-browser on PATH",
				"google-chrome on PATH",
				"google-chrome-stable on PATH",
				"chrome on PATH",
				`C:\Program Files\Google\Chrome\Application\chrome.exe`,
				`%ProgramFiles(x86)%\Google\Chrome\Application\chrome.exe (ProgramFiles(x86) unset)`,
				`%LOCALAPPDATA%\Google\Chrome\Application\chrome.exe (LOCALAPPDATA unset)`,
				`C:\Program Files\Chromium\Application\chrome.exe`,
				`%LOCALAPPDATA%\Chromium\Application\chrome.exe (LOCALAPPDATA unset)`,
				`C:\Users\u\.cache\puppeteer\chrome\win64-*\chrome-win64\chrome.exe`,
				`C:\Users\u\chrome\win64-*\chrome-win64\chrome.exe`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sys.finder().find()
			var notFound *NotFoundError
			if !errors.As(err, &notFound) {
				t.Fatalf("find() = %q, %v; want a *NotFoundError", got, err)
			}
			if !slices.Equal(notFound.Searched, tt.want) {
				t.Errorf("Searched =\n\t%s\nwant\n\t%s",
					strings.Join(notFound.Searched, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
			msg := err.Error()
			for _, want := range append([]string{"PORTPROBE_CHROME", "scripts/setup.sh"}, tt.want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error message does not mention %q:\n%s", want, msg)
				}
			}
		})
	}
}

func TestChromeFinderNotFoundMacOS(t *testing.T) {
	sys := fakeSystem{goos: "darwin", env: map[string]string{"HOME": "/Users/u"}}
	_, err := sys.finder().find()
	var notFound *NotFoundError
	if !errors.As(err, &notFound) {
		t.Fatalf("find() error = %v, want a *NotFoundError", err)
	}
	for _, want := range []string{
		"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
		"/Applications/Chromium.app/Contents/MacOS/Chromium",
		"/Applications/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
	} {
		if !slices.Contains(notFound.Searched, want) {
			t.Errorf("Searched does not include %q: %q", want, notFound.Searched)
		}
	}
}

// TestFindChrome runs the real search. Whether a browser is installed
// depends on the machine, so it only checks that the answer is consistent.
func TestFindChrome(t *testing.T) {
	p, err := Chrome()
	var notFound *NotFoundError
	switch {
	case errors.As(err, &notFound):
		t.Logf("no Chrome on this machine: %v", err)
	case err != nil:
		t.Fatalf("Chrome() error is neither nil nor a *NotFoundError: %v", err)
	default:
		if !filepath.IsAbs(p) {
			t.Errorf("Chrome() = %q, want an absolute path", p)
		}
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			t.Errorf("Chrome() = %q, which is not a file (%v)", p, err)
		}
		t.Logf("Chrome() = %q", p)
	}
}

func TestChromeVersion(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses shell scripts as fake browsers")
	}
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()

	t.Run("trims output", func(t *testing.T) {
		p := script("ok", `[ "$1" = --version ] && printf '  Chromium 156.0.8078.73 built on Debian\n\n'`)
		got, err := ChromeVersion(ctx, p)
		if err != nil {
			t.Fatalf("ChromeVersion: %v", err)
		}
		if want := "Chromium 156.0.8078.73 built on Debian"; got != want {
			t.Errorf("ChromeVersion = %q, want %q", got, want)
		}
	})
	t.Run("failure includes stderr and path", func(t *testing.T) {
		p := script("fails", `echo "cannot open display" >&2; exit 3`)
		_, err := ChromeVersion(ctx, p)
		if err == nil {
			t.Fatal("ChromeVersion succeeded, want an error")
		}
		for _, want := range []string{fmt.Sprintf("%q", p), "cannot open display", "exit status 3"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
	})
	t.Run("no output", func(t *testing.T) {
		p := script("silent", "exit 0")
		if _, err := ChromeVersion(ctx, p); err == nil || !strings.Contains(err.Error(), "printed nothing") {
			t.Errorf("ChromeVersion error = %v, want one saying it printed nothing", err)
		}
	})
	t.Run("missing binary", func(t *testing.T) {
		p := filepath.Join(dir, "missing")
		_, err := ChromeVersion(ctx, p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("ChromeVersion error = %v, want one naming %s", err, p)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		p := script("ok2", "echo Chromium 1")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := ChromeVersion(cctx, p)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ChromeVersion error = %v, want context.Canceled", err)
		}
	})
}

// TestChromeVersionReal asks the installed browser, if there is one.
func TestChromeVersionReal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the browser")
	}
	p, err := Chrome()
	if err != nil {
		t.Skipf("no browser: %v", err)
	}
	v, err := ChromeVersion(t.Context(), p)
	if err != nil {
		t.Fatalf("ChromeVersion: %v", err)
	}
	if !strings.Contains(v, "Chrom") {
		t.Errorf("ChromeVersion = %q, want it to name Chrome or Chromium", v)
	}
	t.Logf("%s: %s", p, v)
}

func TestCompareNatural(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign only
	}{
		{"linux-131.0.1", "linux-99.0.1", 1},
		{"linux-99.0.1", "linux-131.0.1", -1},
		{"linux-131.0.6778.85", "linux-131.0.6778.9", 1},
		{"linux-1.2", "linux-1.2", 0},
		{"linux-01", "linux-1", 0},
		{"a", "b", -1},
		{"linux-1", "linux-1.0", -1},
	}
	for _, tt := range tests {
		got := compareNatural(tt.a, tt.b)
		if sign(got) != tt.want {
			t.Errorf("compareNatural(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func ExampleChrome() {
	p, err := Chrome()
	if err != nil {
		fmt.Println(err) // names every place searched and how to install Chromium
		return
	}
	v, err := ChromeVersion(context.Background(), p)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p, v)
}

// Without ChromeFromEnv, the variable changes nothing.
func TestChromeIgnoresTheEnvVar(t *testing.T) {
	f := fakeSystem{
		env:   map[string]string{ChromeEnvVar: "/opt/mine/chrome"},
		files: []string{"/opt/mine/chrome", "/usr/bin/google-chrome"},
	}.finder()
	f.useEnvVar = false
	got, err := f.find()
	if err != nil || got != "/usr/bin/google-chrome" {
		t.Fatalf("find without useEnvVar = %q, %v; want /usr/bin/google-chrome", got, err)
	}
}
