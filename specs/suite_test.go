// Package specs is portprobe's conformance suite: Ginkgo specs that check, in
// real Chrome, what MDN's runtime.connect() page documents and what Chrome
// really does with extension ports. Each file is one area with its own label,
// so `ginkgo --label-filter=<area> ./specs` runs it alone.
package specs_test

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portprobe/portprobe/locate"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/portprobe/portprobe/harness"
)

// Debugging flags, for `go test ./specs -portprobe.headful` or
// `go tool ginkgo ./specs -- -portprobe.headful`. The environment variables
// PORTPROBE_HEADFUL, PORTPROBE_SLOWMO and PORTPROBE_DEVTOOLS do the same for
// any harness user; PORTPROBE_PAUSE_ON_FAILURE=1 keeps the browser of a failed
// spec open until Enter is pressed (never when CI is set).
var (
	headfulFlag  = flag.Bool("portprobe.headful", false, "open a visible Chrome (as PORTPROBE_HEADFUL=1)")
	slowMoFlag   = flag.Duration("portprobe.slowmo", 0, "wait this long before each harness action (as PORTPROBE_SLOWMO)")
	devToolsFlag = flag.Bool("portprobe.devtools", false, "open DevTools for each tab (as PORTPROBE_DEVTOOLS=1)")
	scaleFlag    = flag.Float64("portprobe.timeout-scale", 0, "multiply every deadline of the suite by this (as PORTPROBE_TIMEOUT_SCALE; default 1)")
)

// scaled is how long the suite gives something that takes d on a quiet
// machine. Every deadline of the suite comes from here: the harness's waits
// (Options.Timeout), Eventually and Consistently, spec timeouts. A slow or
// loaded machine scales them all with -portprobe.timeout-scale=3 or
// PORTPROBE_TIMEOUT_SCALE=3 (scripts/soak.sh does, with its CPU hogs).
// Deadlines that are the behavior under test (a context that must expire
// before Chrome answers, Chrome's own 30 s idle timeout) are not scaled.
func scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * timeScale())
}

// bigMessageTimeout is the deadline of a spec that moves a 64 MiB message:
// its context's deadline, which the harness's calls then use instead of
// Options.Timeout (a 64 MiB message takes seconds on a loaded machine).
func bigMessageTimeout() SpecTimeout { return SpecTimeout(scaled(2 * time.Minute)) }

var timeScale = sync.OnceValue(func() float64 {
	scale := *scaleFlag
	if v := os.Getenv("PORTPROBE_TIMEOUT_SCALE"); scale == 0 && v != "" {
		var err error
		if scale, err = strconv.ParseFloat(v, 64); err != nil || scale <= 0 {
			panic(fmt.Sprintf("PORTPROBE_TIMEOUT_SCALE=%q: want a number above 0, such as 3", v))
		}
	}
	if scale <= 0 {
		scale = 1
	}
	return scale
})

// options are the harness options of every browser of the suite.
func options(dirs ...string) harness.Options {
	opts, err := harness.OptionsFromEnv(harness.Options{Extensions: dirs, Logf: harnessLogf, Headful: *headfulFlag, SlowMo: *slowMoFlag, DevTools: *devToolsFlag, Timeout: scaled(harness.DefaultTimeout)})
	if err != nil {
		panic(err)
	}
	return opts
}

func TestSpecs(t *testing.T) {
	RegisterFailHandler(Fail)
	suiteConfig, reporterConfig := GinkgoConfiguration()
	// Specs labelled slow wait out Chrome's ~30 s service-worker idle
	// timeout; `go test ./...` leaves them out unless a label filter is given
	// (ginkgo --label-filter=slow ./specs runs them).
	if suiteConfig.LabelFilter == "" {
		suiteConfig.LabelFilter = "!slow"
	}
	RunSpecs(t, "portprobe conformance", suiteConfig, reporterConfig)
}

var _ = BeforeSuite(func() {
	// Chrome's answers take milliseconds, but CI machines are shared and slow.
	SetDefaultEventuallyTimeout(scaled(5 * time.Second))
	SetDefaultEventuallyPollingInterval(5 * time.Millisecond)
	SetDefaultConsistentlyDuration(scaled(300 * time.Millisecond))
	if timeScale() != 1 {
		AddReportEntry("timeout scale", timeScale())
	}

	path, err := locate.ChromeFromEnv()
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("browser", browserVersion(path)+" ("+path+")")
	DeferCleanup(func() {
		if shared != nil {
			shared.Close()
		}
	})
})

// browserVersion names the browser at path for reports, such as "Chromium
// 156.0.8078.79". chrome.exe prints no version on Windows; there the browser
// is asked over CDP ("Chrome/143.0.7499.4").
func browserVersion(path string) string {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), scaled(30*time.Second))
	defer cancel()
	if goruntime.GOOS != "windows" {
		return must(locate.ChromeVersion(ctx, path))
	}
	b, err := harness.Launch(ctx, harness.Options{ChromePath: path, Logf: harnessLogf, Timeout: scaled(harness.DefaultTimeout)})
	Expect(err).NotTo(HaveOccurred(), "launching Chrome to read its version")
	defer b.Close()
	return b.Version()
}

// fixture returns the folder of a fixture extension.
func fixture(name string) string {
	return filepath.Join("..", "fixtures", "extensions", name)
}

// shared is the browser of this Ginkgo process, reused by every spec that
// calls launch (see there). PORTPROBE_FRESH_BROWSER=1 gives each spec its own.
var shared *harness.Browser

func freshBrowsers() bool { return os.Getenv("PORTPROBE_FRESH_BROWSER") == "1" }

func harnessLogf(format string, args ...any) {
	GinkgoWriter.Printf("portprobe: "+format+"\n", args...)
}

// launch gives the spec a browser with the extensions in dirs loaded.
//
// The browser is the process's shared one: a launch costs about a second, a
// load a few milliseconds. The spec is isolated from the ones before it: its
// trace starts empty and takes only the events of extensions loaded during
// the spec (and of web pages), and when the spec ends the harness empties the
// tabs it opened (about:blank, kept for the next spec) and uninstalls the
// extensions it loaded, which ends their workers and state. A spec that needs a browser of its own (other flags, a
// failing launch) calls harness.Launch itself.
func launch(ctx context.Context, dirs ...string) *harness.Browser {
	GinkgoHelper()
	if freshBrowsers() {
		return launchAlone(ctx, dirs...)
	}
	if shared == nil {
		b, err := harness.Launch(context.Background(), options())
		Expect(err).NotTo(HaveOccurred(), "launching Chrome")
		shared = b
	}
	b := shared
	before := map[string]bool{}
	for _, e := range b.Extensions() {
		before[e.ID] = true
	}
	tabsBefore := b.Tabs()
	DeferCleanup(func(ctx SpecContext) {
		for _, t := range b.Tabs() {
			if !slices.Contains(tabsBefore, t) {
				t.Recycle(ctx) // the next spec's OpenTab reuses it
			}
		}
		for _, e := range b.Extensions() {
			if !before[e.ID] {
				Expect(e.Uninstall(ctx)).To(Succeed(), "uninstalling the spec's extension %s", e)
			}
		}
	})
	whenFailed(b)
	b.ResetTrace(func(r *harness.Realm) bool {
		if r.ExtensionID == "" {
			return true // a web page of this spec's tabs
		}
		return !before[r.ExtensionID] && r.Extension() != nil
	})
	for _, dir := range dirs {
		_, err := b.LoadExtension(ctx, dir)
		Expect(err).NotTo(HaveOccurred(), "loading %s", dir)
	}
	return b
}

// launchAlone gives the spec a browser of its own, closed when the spec ends.
func launchAlone(ctx context.Context, dirs ...string) *harness.Browser {
	GinkgoHelper()
	return launchWith(ctx, options(dirs...))
}

// launchWith gives the spec a browser of its own with opts, closed when the
// spec ends.
func launchWith(ctx context.Context, opts harness.Options) *harness.Browser {
	GinkgoHelper()
	b, err := harness.Launch(ctx, opts)
	Expect(err).NotTo(HaveOccurred(), "launching Chrome")
	DeferCleanup(b.Close)
	whenFailed(b)
	return b
}

// whenFailed makes a failed spec leave artifacts of b (the trace as JSON and
// as a sequence diagram, the realms' console, a screenshot of each tab) under
// PORTPROBE_ARTIFACTS (default specs/artifacts), one folder per spec, with
// their paths in the report; and, with PORTPROBE_PAUSE_ON_FAILURE=1 outside
// CI, waits for Enter before the browser is emptied or closed. Cleanups run
// last-registered first, so this runs before the spec's other cleanups. It
// has no node timeout, so a person can take their time; writing the
// artifacts is bounded by the harness's own deadlines.
func whenFailed(b *harness.Browser) {
	DeferCleanup(func(ctx SpecContext) {
		report := CurrentSpecReport()
		if !report.Failed() {
			return
		}
		root, err := filepath.Abs(cmp.Or(os.Getenv("PORTPROBE_ARTIFACTS"), "artifacts"))
		Expect(err).NotTo(HaveOccurred())
		dir := filepath.Join(root, specSlug(report))
		paths, err := b.WriteArtifacts(ctx, dir)
		if err != nil {
			GinkgoWriter.Printf("portprobe: %v\n", err)
		}
		if len(paths) > 0 {
			AddReportEntry("artifacts", strings.Join(paths, "\n"))
		}
		pauseOnFailure(report)
	})
}

// specSlug names a spec's artifact folder: its text, made safe for a path.
func specSlug(report SpecReport) string {
	text := strings.ToLower(report.FullText())
	slug := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, text)
	for strings.Contains(slug, "--") {
		slug = strings.ReplaceAll(slug, "--", "-")
	}
	slug = strings.Trim(slug, "-")
	if len(slug) > 100 {
		slug = strings.TrimRight(slug[:100], "-")
	}
	return fmt.Sprintf("%s-line%d", slug, report.LeafNodeLocation.LineNumber)
}

// pauseOnFailure keeps a failed spec's browser open until the person at the
// terminal presses Enter, when PORTPROBE_PAUSE_ON_FAILURE=1 and CI is unset.
func pauseOnFailure(report SpecReport) {
	if v := os.Getenv("PORTPROBE_PAUSE_ON_FAILURE"); v == "" || v == "0" || v == "false" {
		return
	}
	if os.Getenv("CI") != "" {
		GinkgoWriter.Println("portprobe: PORTPROBE_PAUSE_ON_FAILURE is ignored in CI")
		return
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		GinkgoWriter.Printf("portprobe: cannot pause on failure without a terminal: %v\n", err)
		return
	}
	defer tty.Close()
	fmt.Fprintf(tty, "\nportprobe: %q failed at %s.\nThe browser stays open; press Enter to go on.\n", report.FullText(), report.FailureLocation())
	bufio.NewReader(tty).ReadString('\n')
}

// must returns v, failing the spec when err is not nil.
func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}

// greeting is the message shape of the MDN example.
func greeting(text string) map[string]any {
	return map[string]any{"greeting": text}
}
