package specs_test

import (
	"encoding/json"
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// What the harness reaches: every context of an extension, probed before its
// own code runs, and nothing of the probe where the web page can see it.
var _ = Describe("Realms", Label("harness", "realms"), func() {
	It("reaches an extension page opened in a tab, from its first line of code", Label("firefox-differs"), func(ctx SpecContext) {
		var b *Browser
		if options().Browser == Firefox {
			// The fixture's background is a service worker only, which
			// Firefox refuses (it runs background.scripts as an event
			// page); the same files with background.scripts load.
			b = launch(ctx)
			_, err := b.LoadExtension(ctx, fixture("echo-page"))
			var loadErr *ExtensionLoadError
			Expect(errors.As(err, &loadErr)).To(BeTrue(), "an *ExtensionLoadError, got %v", err)
			Expect(loadErr.Chrome).To(ContainSubstring("Error: background.service_worker is currently disabled. Add background.scripts."))
			must(b.LoadExtension(ctx, ffWithBackgroundScripts(fixture("echo-page"))))
		} else {
			b = launch(ctx, fixture("echo-page"))
		}
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
		if options().Browser == Firefox {
			Skip("Firefox: harness cannot yet reach an extension page that runs no script: the Firefox engine probes a realm when one of its scripts pauses at its first statement (script.source.firstStatement), and quiet.html has none, so Extension.OpenPage waits for a realm that never comes")
		}
		dir := writeExtension(map[string]string{
			"manifest.json": `{"manifest_version": 3, "name": "quiet-page", "version": "1", "background": {"service_worker": "worker.js", "scripts": ["worker.js"]}}`, // Firefox runs scripts as its background page
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
		// The content script's world is not the page's.
		Expect(must(EvalAs[string](ctx, cs, `typeof chrome.runtime.connect`))).To(Equal("function"))
		Expect(string(must(tab.Eval(ctx, `typeof chrome === "undefined" || typeof chrome.runtime === "undefined"`)))).To(Equal("true"))
		if b.Engine() == Firefox {
			Skip("Firefox: harness cannot yet hide its probe from the content script's own world: the Firefox engine keeps the probe's control object on the content script's global (__portprobe_ctl_<hex>, firefox.go handlePause), where Chrome holds it by a CDP object reference")
		}
		Expect(must(EvalAs[[]string](ctx, cs, probeGlobals))).To(BeEmpty(), "the content script's world")
	})
})

// must2 returns the two values, failing the spec when err is not nil.
func must2[A, B any](a A, b B, err error) (A, B) {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return a, b
}
