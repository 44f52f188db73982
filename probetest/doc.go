// Package probetest is the test lifecycle that portprobe's own conformance
// suite uses, for the tests of any extension: one browser shared by the tests
// of a process with each test isolated from the others, a browser of a test's
// own on request, extensions written from Go, and artifacts (the trace, its
// sequence diagram, the console, screenshots) when a test fails.
//
// It works with go test and with Ginkgo alike: every call takes a
// testing.TB, and a Ginkgo spec passes GinkgoTB(), whose Cleanup is
// DeferCleanup. Cleanups are registered where the resource is made, in an
// order that writes a failed test's artifacts before its tabs are emptied,
// its extensions uninstalled or its browser closed.
//
// A go test of an extension of one's own:
//
//	var suite = probetest.New(probetest.Config{})
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		suite.Close()
//		os.Exit(code)
//	}
//
//	func TestGreets(t *testing.T) {
//		b := suite.Browser(t.Context(), t, "../my-extension")
//		...
//	}
//
// The same in a Ginkgo suite:
//
//	var suite = probetest.New(probetest.Config{})
//	var _ = AfterSuite(func() { suite.Close() })
//
//	It("greets", func(ctx SpecContext) {
//		b := suite.Browser(ctx, GinkgoTB(), "../my-extension")
//		...
//	})
//
// The environment is read here, once, through harness.OptionsFromEnv (so
// PORTPROBE_HEADFUL=1 shows the browser) and Config's own variables:
// PORTPROBE_ARTIFACTS, PORTPROBE_PAUSE_ON_FAILURE and
// PORTPROBE_FRESH_BROWSER.
package probetest
