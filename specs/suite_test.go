// Package specs is portprobe's conformance suite: Ginkgo specs that check, in
// real Chrome, what MDN's runtime.connect() page documents and what Chrome
// really does with extension ports. Each file is one area with its own label,
// so `ginkgo --label-filter=<area> ./specs` runs it alone.
package specs_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/portprobe/portprobe/harness"
)

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
	SetDefaultEventuallyTimeout(5 * time.Second)
	SetDefaultEventuallyPollingInterval(5 * time.Millisecond)
	SetDefaultConsistentlyDuration(300 * time.Millisecond)

	path, err := harness.FindChrome()
	Expect(err).NotTo(HaveOccurred())
	version, err := harness.ChromeVersion(context.Background(), path)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("browser", version+" ("+path+")")
	DeferCleanup(func() {
		if shared != nil {
			shared.Close()
		}
	})
})

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
		b, err := harness.Launch(context.Background(), harness.Options{Logf: harnessLogf})
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
	b, err := harness.Launch(ctx, harness.Options{Extensions: dirs, Logf: harnessLogf})
	Expect(err).NotTo(HaveOccurred(), "launching Chrome")
	DeferCleanup(b.Close)
	return b
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
