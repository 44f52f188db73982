// Package specs is portprobe's conformance suite: Ginkgo specs that check, in
// real Chrome, what MDN's runtime.connect() page documents and what Chrome
// really does with extension ports. Each file is one area with its own label,
// so `ginkgo --label-filter=<area> ./specs` runs it alone.
package specs_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portprobe/portprobe/locate"
	"github.com/portprobe/portprobe/probetest"

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

// suite gives the specs their browsers: one shared by the specs of a Ginkgo
// process, each spec isolated from the others, or one of a spec's own (see
// probetest). Its options come from the debugging flags above and the
// environment (harness.OptionsFromEnv).
// BeforeSuite makes it, once the flags are parsed.
var suite *probetest.Suite

// options are the harness options of a browser of the spec's own, with the
// extensions in dirs.
func options(dirs ...string) harness.Options {
	GinkgoHelper()
	opts := suite.Options(GinkgoTB())
	opts.Extensions = append(opts.Extensions, dirs...)
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
	defer selectShard(t, &suiteConfig)() // -portprobe.shard=i/n, shard_test.go
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

	suite = probetest.New(probetest.Config{Options: harness.Options{
		Logf:     harnessLogf,
		Headful:  *headfulFlag,
		SlowMo:   *slowMoFlag,
		DevTools: *devToolsFlag,
		Timeout:  scaled(harness.DefaultTimeout),
	}})
	opts := options()
	if opts.Browser == harness.Firefox {
		// PORTPROBE_BROWSER=firefox: the suite runs on Firefox, and its
		// report is a column of its own in compat.
		path := opts.FirefoxPath
		if path == "" {
			path = must(locate.Firefox())
		}
		ctx, cancel := context.WithTimeout(context.Background(), scaled(30*time.Second))
		defer cancel()
		AddReportEntry("browser", must(locate.FirefoxVersion(ctx, path))+" ("+path+")")
	} else {
		path := opts.ChromePath
		if path == "" {
			path = must(locate.Chrome())
		}
		AddReportEntry("browser", browserVersion(path)+" ("+path+")")
	}
	DeferCleanup(suite.Close)
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

func harnessLogf(format string, args ...any) {
	GinkgoWriter.Printf("portprobe: "+format+"\n", args...)
}

// launch gives the spec the shared browser with the extensions in dirs
// loaded, isolated from the specs before it (probetest.Suite.Browser). A
// spec that needs a browser of its own (other flags, a failing launch)
// calls launchWith.
func launch(ctx context.Context, dirs ...string) *harness.Browser {
	GinkgoHelper()
	return suite.Browser(ctx, GinkgoTB(), dirs...)
}

// launchAlone gives the spec a browser of its own, closed when the spec ends.
func launchAlone(ctx context.Context, dirs ...string) *harness.Browser {
	GinkgoHelper()
	return launchWith(ctx, options(dirs...))
}

// launchWith gives the spec a browser of its own with opts, closed when the
// spec ends, after its artifacts are written if it failed.
func launchWith(ctx context.Context, opts harness.Options) *harness.Browser {
	GinkgoHelper()
	return suite.Launch(ctx, GinkgoTB(), opts)
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
