package probetest_test

import (
	"fmt"
	"log"
	"os"
	"testing"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/matchers"
	"github.com/portprobe/portprobe/probetest"
	"github.com/portprobe/portprobe/trace"

	"github.com/onsi/gomega"
)

// The suite of this package's tests: one browser for all of them, each test
// isolated. A user's own test package starts the same way.
var suite = probetest.New(probetest.Config{Options: harness.Options{Logf: func(string, ...any) {}}})

func TestMain(m *testing.M) {
	code := m.Run()
	if err := suite.Close(); err != nil {
		log.Print(err)
	}
	os.Exit(code)
}

// TestUsersOwnExtension is the whole test a new user writes for an
// extension of their own: no helper of their own, a shared browser, the
// trace checked with Gomega, and artifacts under ./artifacts if it fails.
func TestUsersOwnExtension(t *testing.T) {
	g := gomega.NewWithT(t)
	ctx := t.Context()
	b := suite.Browser(ctx, t, "../fixtures/extensions/mdn-example")

	ext, err := b.Extension("mdn-example")
	g.Expect(err).NotTo(gomega.HaveOccurred())
	worker, err := ext.Worker(ctx)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	tab, err := b.OpenTab(ctx, b.Pages().URL("/"))
	g.Expect(err).NotTo(gomega.HaveOccurred())
	cs, err := ext.ContentScript(ctx, tab)
	g.Expect(err).NotTo(gomega.HaveOccurred())

	g.Eventually(b.Trace()).Should(matchers.HaveEventsInOrder(
		trace.Connect().In(cs).Named("port-from-cs"),
		trace.OnConnect().In(worker).Named("port-from-cs"),
		trace.Message().In(cs).WithField("greeting", "hi there content script!"),
	))
}

// An extension written from Go: a manifest, its files, and an ID known
// before it loads.
func ExampleExtension_Write() {
	dir, err := os.MkdirTemp("", "example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	e := probetest.Extension{Name: "greeter", Keyed: true}.
		With("background", map[string]any{"service_worker": "worker.js"}).
		WithFile("worker.js", "chrome.runtime.onConnect.addListener(p => p.postMessage('hi'));\n")
	built, err := e.Write(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(built.ID), built.Dir == dir)
	// Output: 32 true
}
