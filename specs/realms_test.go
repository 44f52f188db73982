package specs_test

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// What the harness reaches: every context of an extension, probed before its
// own code runs, and nothing of the probe where the web page can see it.
var _ = Describe("Realms", Label("harness", "realms"), func() {
	It("reaches an extension page opened in a tab, from its first line of code", func(ctx SpecContext) {
		b := launch(ctx, fixture("echo-page"))
		ext := must(b.Extension("echo-page"))
		worker := must(ext.Worker(ctx))
		_, page := must2(ext.OpenPage(ctx, "page.html"))
		Expect(page.Kind).To(Equal(PageRealm))

		// page.js connected while the page loaded; the probe saw it.
		// (The page's post and the worker's onConnect race; only causes
		// are ordered.)
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			Connect().In(page).Named("from-page"),
			Post().In(page).WithMessage("hello from the page"),
			Message().In(worker).WithMessage("hello from the page"),
			Message().In(page).WithMessage(map[string]any{"echo": "hello from the page"}),
		))
		Expect(b.Trace()).To(HaveEventsInOrder(
			Connect().In(page).Named("from-page"),
			OnConnect().In(worker).Named("from-page").WithSender("url", ext.URL("page.html")),
			Message().In(worker).WithMessage("hello from the page"),
		))

		// Go drives a second port from the same page.
		port := must(page.Connect(ctx, map[string]any{"name": "from-go"}))
		Expect(port.Post(ctx, 42)).To(Succeed())
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			OnConnect().In(worker).Named("from-go"),
			Message().In(page).OnPort(port).WithMessage(map[string]any{"echo": 42}),
		))
	})

	It("reaches an extension page that has no script of its own", func(ctx SpecContext) {
		dir := writeExtension(map[string]string{
			"manifest.json": `{"manifest_version": 3, "name": "quiet-page", "version": "1", "background": {"service_worker": "worker.js"}}`,
			"worker.js":     `chrome.runtime.onConnect.addListener((port) => port.postMessage("welcome " + port.name));`,
			"quiet.html":    `<!doctype html><title>quiet</title><p>no script here</p>`,
		})
		b := launch(ctx, dir)
		ext := must(b.Extension("quiet-page"))
		worker := must(ext.Worker(ctx))
		_, page := must2(ext.OpenPage(ctx, "quiet.html"))
		port := must(page.Connect(ctx, map[string]any{"name": "quiet"}))
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			OnConnect().In(worker).Named("quiet"),
			Message().In(page).OnPort(port).WithMessage("welcome quiet"),
		))
	})

	It("leaves nothing of the probe on the global objects of the page or the content script", func(ctx SpecContext) {
		b := launch(ctx, fixture("mdn-example"))
		ext := must(b.Extension("mdn-example"))
		tab := must(b.OpenTab(ctx, b.Pages().URL("/")))
		cs := must(ext.ContentScript(ctx, tab))
		const probeGlobals = `Object.getOwnPropertyNames(globalThis).filter((k) => k.includes("portprobe"))`
		var names []string
		Expect(json.Unmarshal(must(tab.Eval(ctx, probeGlobals)), &names)).To(Succeed())
		Expect(names).To(BeEmpty(), "the web page's own world")
		Expect(must(EvalAs[[]string](ctx, cs, probeGlobals))).To(BeEmpty(), "the content script's world")
		// The content script's world is not the page's.
		Expect(must(EvalAs[string](ctx, cs, `typeof chrome.runtime.connect`))).To(Equal("function"))
		Expect(string(must(tab.Eval(ctx, `typeof chrome === "undefined" || typeof chrome.runtime === "undefined"`)))).To(Equal("true"))
	})
})

// must2 returns the two values, failing the spec when err is not nil.
func must2[A, B any](a A, b B, err error) (A, B) {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return a, b
}
