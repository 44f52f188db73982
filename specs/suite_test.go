// Package specs is portprobe's conformance suite: Ginkgo specs that check, in
// real Chrome, what MDN's runtime.connect() page documents and what Chrome
// really does with extension ports. Each file is one area with its own label,
// so `ginkgo --label-filter=<area> ./specs` runs it alone.
package specs_test

import (
	"context"
	"path/filepath"
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
})

// fixture returns the folder of a fixture extension.
func fixture(name string) string {
	return filepath.Join("..", "fixtures", "extensions", name)
}

// launch starts a browser with the extensions in dirs and closes it when the
// spec (or, in BeforeAll, the container) ends.
func launch(ctx context.Context, dirs ...string) *harness.Browser {
	GinkgoHelper()
	b, err := harness.Launch(ctx, harness.Options{
		Extensions: dirs,
		Logf:       func(format string, args ...any) { GinkgoWriter.Printf("portprobe: "+format+"\n", args...) },
	})
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
