package specs_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// topLevelEcho is a worker that registers its listener at top level, as MV3
// requires for a worker that must wake for a connection.
const topLevelEcho = `chrome.runtime.onConnect.addListener((port) => {
  port.onMessage.addListener((m) => port.postMessage({ echo: m }));
});
`

// Each lifecycle spec has a browser of its own: its faults (stopped workers,
// crashed renderers, disabled extensions) change the browser for what follows.
var _ = Describe("ports when contexts die", Label("lifecycle"), func() {
	It("disconnects the worker's ports without lastError when the worker is stopped, and a new connect wakes it", Label("RL-03", "RC-10"), func(ctx SpecContext) {
		w := openWorldAlone(ctx, blank("lifecycle-stop").WithFile("worker.js", topLevelEcho))
		port := must(w.cs.Connect(ctx, map[string]any{"name": "before-stop"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("before-stop")))

		Expect(w.ext.StopWorker(ctx)).To(Succeed())
		Expect(w.worker.Gone()).To(BeTrue())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))

		again := must(w.cs.Connect(ctx, map[string]any{"name": "after-stop"}))
		Expect(again.Post(ctx, "wake")).To(Succeed())
		restarted := must(w.ext.Worker(ctx))
		Expect(restarted).NotTo(BeIdenticalTo(w.worker))
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			OnConnect().In(restarted).Named("after-stop"),
			Message().In(restarted).WithMessage("wake"),
			Message().OnPort(again).WithMessage(map[string]any{"echo": "wake"}),
		))
	})

	It("closes the worker's port without lastError when the opener's tab closes", Label("RL-06"), func(ctx SpecContext) {
		w := openWorldAlone(ctx, blank("lifecycle-close-tab").WithFile("worker.js", topLevelEcho))
		must(w.cs.Connect(ctx, map[string]any{"name": "doomed"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("doomed")))
		Expect(w.tab.Close(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("doomed").WithoutLastError()))
	})

	It("closes the worker's port without lastError when the opener's frame navigates to a new document", Label("RL-07"), func(ctx SpecContext) {
		w := openWorldAlone(ctx, blank("lifecycle-navigate").WithFile("worker.js", topLevelEcho))
		must(w.cs.Connect(ctx, map[string]any{"name": "navigating"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("navigating")))
		// A page with an unload handler never enters the back/forward cache.
		must(w.tab.Eval(ctx, `addEventListener("unload", () => {}), true`))
		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/next"))).To(Succeed())
		Expect(w.cs.Gone()).To(BeTrue())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("navigating").WithoutLastError()))
	})

	// Not in the catalog: a same-document navigation (a fragment, a
	// pushState route) keeps the document, so its realms and ports stay.
	It("keeps the port open through same-document navigations (hash, pushState)", func(ctx SpecContext) {
		w := openWorld(ctx, blank("lifecycle-same-document").WithFile("worker.js", topLevelEcho))
		port := must(w.cs.Connect(ctx, map[string]any{"name": "routing"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("routing")))

		if w.b.Engine() == Firefox {
			// The harness's SetHash and PushState wait on Chrome's
			// navigation events; in Firefox the page navigates itself,
			// and both are synchronous in the document.
			must(w.tab.Eval(ctx, `(location.hash = "#section-2", history.pushState(null, "", "/app/route?x=1"), true)`))
		} else {
			Expect(w.tab.SetHash(ctx, "#section-2")).To(Succeed())
			Expect(w.tab.PushState(ctx, "/app/route?x=1")).To(Succeed())
		}
		Expect(must(EvalAs[string](ctx, w.cs, `location.pathname + location.search + location.hash`))).To(Equal("/app/route?x=1"))
		Expect(w.cs.Gone()).To(BeFalse())

		Expect(port.Post(ctx, "still here")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(port).WithMessage(map[string]any{"echo": "still here"})))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().Named("routing")))
	})

	It("closes the channel with the bfcache lastError when the opener's page enters the back/forward cache", Label("RL-09", "firefox-differs"), func(ctx SpecContext) {
		w := openWorldAlone(ctx, blank("lifecycle-bfcache").WithFile("worker.js", topLevelEcho))
		port := must(w.cs.Connect(ctx, map[string]any{"name": "cached"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("cached")))
		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/next"))).To(Succeed())
		if w.b.Engine() == Firefox {
			// Firefox keeps the channel of a page in the back/forward
			// cache open: neither end gets onDisconnect, and once the page
			// is back the port carries messages again. (The worker's side
			// is checked: the harness does not yet trace a restored
			// content script's events in Firefox, see ffBack.)
			Consistently(countOf(w.b, OnDisconnect().Named("cached")), "1s").Should(BeZero())
			ffBack(ctx, w.tab, w.b.Pages().URL("/"))
			Expect(port.Post(ctx, "after the cache")).To(Succeed())
			Eventually(w.b.Trace()).Should(HaveEventsInOrder(
				Message().In(w.worker).Named("cached").WithMessage("after the cache"),
				Post().In(w.worker).Named("cached").WithMessage(map[string]any{"echo": "after the cache"}),
			))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().Named("cached")))
			return
		}
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("cached").WithLastError(
			"The page keeping the extension port is moved into back/forward cache, so the message channel is closed.")))
	})

	// Not in the catalog: what a content script restored from the
	// back/forward cache finds. Its world lived on frozen (its globals keep
	// their values) and the harness adopts it as a new realm. Chrome 156
	// closed the channel when the page entered the cache (the worker's side
	// got onDisconnect with the bfcache lastError, RL-09), but the restored
	// page's own end of the port never learns it: no onDisconnect, and
	// postMessage neither throws nor reaches anyone. A new connect works.
	It("restores the content script's world from the back/forward cache with a port that is silently dead, and it can connect again", Label("RL-09", "firefox-differs"), func(ctx SpecContext) {
		w := openWorldAlone(ctx, blank("lifecycle-bfcache-restore").WithFile("worker.js", topLevelEcho))
		port := must(w.cs.Connect(ctx, map[string]any{"name": "cached"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("cached")))
		// The content script's own record, independent of the probe.
		must(w.cs.Eval(ctx, `(globalThis.seen = [],
			globalThis.port_ = chrome.runtime.connect({ name: "own" }),
			port_.onDisconnect.addListener(() => seen.push("onDisconnect: " + chrome.runtime.lastError?.message)), true)`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("own")))

		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/next"))).To(Succeed())
		if w.b.Engine() == Firefox {
			// Firefox keeps the cached page's channels open: its world
			// comes back with its ports alive (no onDisconnect on either
			// end), and the same realm goes on.
			Consistently(countOf(w.b, OnDisconnect().Named("own")), "1s").Should(BeZero())
			ffBack(ctx, w.tab, w.b.Pages().URL("/"))
			Expect(w.cs.Gone()).To(BeFalse())
			Expect(must(EvalAs[string](ctx, w.cs, `port_.name`))).To(Equal("own"), "the world's state lived on")
			Expect(must(EvalAs[[]string](ctx, w.cs, `seen`))).To(BeEmpty())
			// The content script's own port works both ways (its own
			// record: the harness does not yet trace a restored content
			// script's events in Firefox, see ffBack).
			must(w.cs.Eval(ctx, `(port_.onMessage.addListener((m) => seen.push("echo: " + m.echo)), port_.postMessage("back again"), true)`))
			Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).Named("own").WithMessage("back again")))
			Eventually(func() []string { return must(EvalAs[[]string](ctx, w.cs, `seen`)) }).Should(Equal([]string{"echo: back again"}))
			Expect(port.Post(ctx, "and the probe's port")).To(Succeed())
			Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).Named("cached").WithMessage("and the probe's port")))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect()))
			return
		}
		Eventually(w.cs.Done()).Should(BeClosed(), "the cached page's content script is no longer a live realm")
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("own").WithLastError(
			"The page keeping the extension port is moved into back/forward cache, so the message channel is closed.")))
		Expect(w.tab.Back(ctx)).To(Succeed())

		restored := must(w.ext.ContentScript(ctx, w.tab))
		Expect(restored).NotTo(BeIdenticalTo(w.cs))
		Expect(restored.URL).To(Equal(w.cs.URL))
		Expect(must(EvalAs[string](ctx, restored, `port_.name`))).To(Equal("own"), "the world's state lived on")
		Expect(must(EvalAs[string](ctx, restored, `try { port_.postMessage("into the void"); "sent" } catch (e) { String(e) }`))).To(Equal("sent"))
		Consistently(func() []string { return must(EvalAs[[]string](ctx, restored, `seen`)) }, "1s").Should(BeEmpty(),
			"the restored page's port gets no onDisconnect")
		Expect(w.b.Trace()).NotTo(HaveEvent(Message().In(w.worker).WithMessage("into the void")))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().OnPort(port)))

		again := must(restored.Connect(ctx, map[string]any{"name": "restored"}))
		Expect(again.Post(ctx, "back again")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			OnConnect().In(w.worker).Named("restored"),
			Message().OnPort(again).WithMessage(map[string]any{"echo": "back again"}),
		))
	})

	It("delivers nothing to a page in the back/forward cache: a tabs.connect meanwhile reaches only the current page, not even after the restore", Label("RL-11"), func(ctx SpecContext) {
		w := openWorldAlone(ctx, blank("lifecycle-bfcache-deliver").WithFile("worker.js", topLevelEcho))
		must(w.cs.Connect(ctx, map[string]any{"name": "hello"}))
		tabID := int(senderOf(w.b, OnConnect().In(w.worker).Named("hello"))["tab"].(map[string]any)["id"].(float64))
		// The cached page's own record, independent of the probe.
		must(w.cs.Eval(ctx, `(globalThis.seen = [],
			chrome.runtime.onConnect.addListener((p) => seen.push(p.name)), true)`))

		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/next"))).To(Succeed())
		var current *Realm
		if w.b.Engine() == Firefox {
			// The harness keeps a cached page's content script live in
			// Firefox (its target stays): find the new page's by its URL.
			current = ffContentScriptAt(w, w.b.Pages().URL("/next"))
		} else {
			current = must(w.ext.ContentScript(ctx, w.tab))
		}
		Expect(current.URL).To(HaveSuffix("/next"))
		Expect(current.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		must(w.worker.ConnectTab(ctx, tabID, map[string]any{"name": "while-cached"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(current).Named("while-cached")))

		var restored *Realm
		if w.b.Engine() == Firefox {
			ffBack(ctx, w.tab, w.b.Pages().URL("/"))
			restored = w.cs // the same realm in Firefox
		} else {
			Expect(w.tab.Back(ctx)).To(Succeed())
			restored = must(w.ext.ContentScript(ctx, w.tab))
		}
		Consistently(func() []string { return must(EvalAs[[]string](ctx, restored, `seen`)) }, "1s").Should(BeEmpty(),
			"the restored page never gets the connect made while it was cached")
		Expect(w.b.Trace().Count(OnConnect().Named("while-cached"))).To(Equal(1))
	})

	It("disconnects the extension side when the opener's renderer crashes", Label("RL-12"), func(ctx SpecContext) {
		ffCannotCrash()
		w := openWorldAlone(ctx, blank("lifecycle-crash").WithFile("worker.js", topLevelEcho))
		must(w.cs.Connect(ctx, map[string]any{"name": "crashing"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("crashing")))
		Expect(w.tab.Crash(ctx)).To(Succeed())
		Expect(w.cs.Gone()).To(BeTrue())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("crashing")))
	})

	It("closes the other end without lastError when an extension page closes", Label("RL-15"), func(ctx SpecContext) {
		w := openWorldAlone(ctx, blank("lifecycle-close-page").WithFile("worker.js", topLevelEcho))
		pageTab, page := must2(w.ext.OpenPage(ctx, "page.html"))
		must(page.Connect(ctx, map[string]any{"name": "from-page"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("from-page")))
		Expect(pageTab.Close(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("from-page").WithoutLastError()))
	})

	// Catalog: "The orphaned script receives no onDisconnect". Chrome 156:
	// the orphaned content script's open port does get onDisconnect, without
	// lastError, in all three cases. And after a disable, chrome.runtime is
	// gone from the content script's world altogether.
	//
	// Firefox leaves no orphan: when an extension shuts down it unloads
	// the content scripts' contexts with it (ExtensionContent.sys.mjs,
	// DocumentManager.uninitExtension: each context is unloaded and its
	// sandbox nuked), so the content script's realm goes away and its port
	// gets no onDisconnect in it.
	DescribeTable("orphans the content scripts of an extension that is reloaded, disabled or uninstalled", Label("RL-13", "differs", "firefox-differs"),
		func(ctx SpecContext, fault func(SpecContext, *Extension) error, runtimeType string) {
			w := openWorldAlone(ctx, blank("lifecycle-orphan").WithFile("worker.js", topLevelEcho))
			port := must(w.cs.Connect(ctx, map[string]any{"name": "orphan"}))
			Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("orphan")))

			Expect(fault(ctx, w.ext)).To(Succeed())
			Eventually(w.worker.Done()).Should(BeClosed(), "the old worker's realm goes away")
			if w.b.Engine() == Firefox {
				Eventually(w.cs.Done()).Should(BeClosed(), "the content script's context is unloaded with its extension")
				_, err := w.cs.Connect(ctx, map[string]any{"name": "after"})
				Expect(err).To(MatchError(ErrRealmGone))
				Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().OnPort(port)))
				return
			}
			Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))

			// The content script's world lives on, invalidated.
			Expect(must(EvalAs[string](ctx, w.cs, `typeof chrome.runtime`))).To(Equal(runtimeType))
			Expect(must(EvalAs[any](ctx, w.cs, `chrome.runtime?.id`))).To(BeNil())
			// The probe kept the functions the script had; calling them throws.
			_, err := w.cs.Connect(ctx, map[string]any{"name": "after"})
			Expect(err).To(MatchError(ContainSubstring("Error: Extension context invalidated.")))
			Expect(port.Post(ctx, "late")).To(MatchError(ContainSubstring("Error: Extension context invalidated.")))
		},
		Entry("reloaded", func(ctx SpecContext, e *Extension) error { return e.Reload(ctx) }, "object"),
		Entry("disabled", func(ctx SpecContext, e *Extension) error { return e.Disable(ctx) }, "undefined"),
		Entry("uninstalled", func(ctx SpecContext, e *Extension) error { return e.Uninstall(ctx) }, "object"),
	)

	It("closes the ports the worker opened when the worker stops", Label("RL-04"), func(ctx SpecContext) {
		w := openWorldAlone(ctx, blank("lifecycle-worker-opener").WithFile("worker.js", topLevelEcho))
		Expect(w.cs.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		// The content script tells the worker its tab; the worker connects back.
		must(w.cs.Connect(ctx, map[string]any{"name": "hello"}))
		tabID := senderOf(w.b, OnConnect().In(w.worker).Named("hello"))["tab"].(map[string]any)["id"]
		must(w.worker.ConnectTab(ctx, int(tabID.(float64)), map[string]any{"name": "from-worker"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.cs).Named("from-worker")))

		Expect(w.ext.StopWorker(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.cs).Named("from-worker")))
	})

	DescribeTable("closes a cross-extension port when the target extension goes away, and later connects find no receiver", Label("RL-14", "firefox-differs"),
		func(ctx SpecContext, fault func(SpecContext, *Extension) error) {
			target := ext{Name: "lifecycle-target", Keyed: true,
				Manifest: map[string]any{"background": map[string]any{"service_worker": "worker.js", "scripts": []string{"worker.js"}}}, // Firefox runs scripts as its background page
				Files:    map[string]string{"worker.js": "chrome.runtime.onConnectExternal.addListener((port) => {});\n"},
			}.Build(GinkgoTB())
			w := openWorldAlone(ctx, blank("lifecycle-caller"), target)
			port := must(w.worker.Connect(ctx, target.IDIn(w.b), map[string]any{"name": "external"}))
			targetExt := must(w.b.Extension(target.IDIn(w.b)))
			targetWorker := must(targetExt.Worker(ctx))
			Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(targetWorker).Named("external")))

			Expect(fault(ctx, targetExt)).To(Succeed())
			// Catalog (inferred): no lastError expected on the open port.
			Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))
			again := must(w.worker.Connect(ctx, target.IDIn(w.b), map[string]any{"name": "again"}))
			// Firefox sets the error on the port, not runtime.lastError.
			Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(again), noReceiver)))
		},
		Entry("disabled", func(ctx SpecContext, e *Extension) error { return e.Disable(ctx) }),
		Entry("uninstalled", func(ctx SpecContext, e *Extension) error { return e.Uninstall(ctx) }),
	)

	// After a fault the harness keeps no stale realm: a call on the realm that
	// went away fails at once with ErrRealmGone, naming the realm, instead of
	// waiting for a context that will not answer.
	DescribeTable("fails calls on a realm that a fault took away with ErrRealmGone",
		func(ctx SpecContext, fault func(SpecContext, world) error, stale func(world) *Realm, crashes bool) {
			if crashes {
				ffCannotCrash()
			}
			w := openWorldAlone(ctx, blank("lifecycle-stale").WithFile("worker.js", topLevelEcho))
			must(w.cs.Connect(ctx, map[string]any{"name": "before"}))
			Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("before")))

			Expect(fault(ctx, w)).To(Succeed())
			gone := stale(w)
			Eventually(gone.Done()).Should(BeClosed(), "the realm %s goes away", gone)
			_, err := gone.Connect(ctx, map[string]any{"name": "after"})
			Expect(err).To(MatchError(ErrRealmGone))
			Expect(err.Error()).To(ContainSubstring(gone.String()))
			_, err = gone.Eval(ctx, `1`)
			Expect(err).To(MatchError(ErrRealmGone))
		},
		Entry("a stopped worker", func(ctx SpecContext, w world) error { return w.ext.StopWorker(ctx) }, func(w world) *Realm { return w.worker }, false),
		Entry("an uninstalled extension's worker", func(ctx SpecContext, w world) error { return w.ext.Uninstall(ctx) }, func(w world) *Realm { return w.worker }, false),
		Entry("a closed tab's content script", func(ctx SpecContext, w world) error { return w.tab.Close(ctx) }, func(w world) *Realm { return w.cs }, false),
		Entry("a navigated tab's content script", func(ctx SpecContext, w world) error {
			// An unload handler keeps the page out of the back/forward cache.
			if _, err := w.tab.Eval(ctx, `addEventListener("unload", () => {}), true`); err != nil {
				return err
			}
			return w.tab.Navigate(ctx, w.b.Pages().URL("/next"))
		}, func(w world) *Realm { return w.cs }, false),
		Entry("a crashed tab's content script", func(ctx SpecContext, w world) error { return w.tab.Crash(ctx) }, func(w world) *Realm { return w.cs }, true),
	)
})
