package specs_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// noReceiver is Chrome's lastError when nothing accepts a connection.
const noReceiver = "Could not establish connection. Receiving end does not exist."

// Connect basics (catalog section A). Each spec carries its catalog ID as a
// label; docs/behaviors.md is generated from a run of these labels.
var _ = Describe("runtime.connect", Label("connect"), func() {
	It("returns a Port at once, with no exception, even when nothing will receive it", Label("RC-01", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("connect-basics"))
		// Nothing listens anywhere: connect still returns a Port synchronously.
		props := must(EvalAs[[]string](ctx, w.worker, `(() => {
			const p = chrome.runtime.connect({name: "nobody"});
			return Object.getOwnPropertyNames(p).sort();
		})()`))
		want := []string{"disconnect", "name", "onDisconnect", "onMessage", "postMessage", "sender"}
		if w.b.Engine() == Firefox {
			// Firefox's Port also has its error property from the start
			// (null until the port closes with an error).
			want = []string{"disconnect", "error", "name", "onDisconnect", "onMessage", "postMessage", "sender"}
		}
		Expect(props).To(Equal(want))
		// The failure arrives later, through onDisconnect.
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			Connect().In(w.worker).Named("nobody"),
			closedWith(w.b, OnDisconnect().In(w.worker), noReceiver),
		))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
	})

	It("fires onConnect in the receiver only after connect() has returned in the caller", Label("RC-02"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("connect-async"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		// The probe stamps connect with the time it was called; onConnect in
		// the worker comes later, and nothing of it runs inside the call.
		state := must(EvalAs[string](ctx, w.cs, `(() => {
			let returned = false;
			const p = chrome.runtime.connect({name: "async"});
			returned = true;
			return returned ? "returned" : "not returned";
		})()`))
		Expect(state).To(Equal("returned"))
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			Connect().In(w.cs).Named("async"),
			OnConnect().In(w.worker).Named("async"),
		))
	})

	It("never delivers a context's own connect to that context's onConnect", Label("RC-03", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("connect-self"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.worker.Connect(ctx, map[string]any{"name": "to-self"}))
		// With no other listener in the extension, the worker's own listener
		// does not count: the caller gets NO_RECEIVER.
		Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect().In(w.worker).Named("to-self")))
	})

	DescribeTable("targets the caller's own extension when the ID is omitted, null, undefined, empty or its own",
		Label("RC-04"),
		func(ctx SpecContext, args string) {
			w := openWorld(ctx, blank("connect-own"))
			Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
			Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
			must(w.cs.ConnectJS(ctx, args))
			Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("own")))
			Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnectExternal()))
		},
		Entry("connect(undefined, info)", `undefined, {name: "own"}`),
		Entry("connect(null, info)", `null, {name: "own"}`),
		Entry(`connect("", info)`, `"", {name: "own"}`),
		Entry("connect(chrome.runtime.id, info)", `chrome.runtime.id, {name: "own"}`),
		Entry("connect(info)", `{name: "own"}`),
	)

	It("reaches every other extension context with a listener, each with its own Port", Label("RC-05"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("connect-fanout"))
		_, page1 := must2(w.ext.OpenPage(ctx, "page.html"))
		_, page2 := must2(w.ext.OpenPage(ctx, "page.html"))
		for _, r := range []*Realm{page1, page2, w.worker} {
			Expect(r.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		}
		must(page1.Connect(ctx, map[string]any{"name": "fan"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page2).Named("fan")))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("fan")))
		// Not the caller itself, and not the content script.
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnect().In(page1)))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect().In(w.cs)))
	})

	It("from a content script reaches the worker and extension pages, never another content script", Label("RC-06"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("connect-from-cs"))
		tab2 := must(w.b.OpenTab(ctx, w.b.Pages().URL("/other")))
		cs2 := must(w.ext.ContentScript(ctx, tab2))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		for _, r := range []*Realm{w.worker, page, cs2} {
			Expect(r.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		}
		must(w.cs.Connect(ctx, map[string]any{"name": "from-cs"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("from-cs")))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page).Named("from-cs")))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnect().In(cs2)))
	})

	It("calls onConnect with (port), onMessage with (message, port) and onDisconnect with (port)", Label("RC-12"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("connect-listener-args"))
		must(w.worker.Eval(ctx, `(() => {
			self.seen = {};
			chrome.runtime.onConnect.addListener(function (port) {
				self.seen.onConnect = arguments.length;
				port.onMessage.addListener(function (message, p) {
					self.seen.onMessage = [arguments.length, p === port, message];
				});
				port.onDisconnect.addListener(function (p) {
					self.seen.onDisconnect = [arguments.length, p === port];
				});
			});
		})()`))
		port := must(w.cs.Connect(ctx, map[string]any{"name": "args"}))
		Expect(port.Post(ctx, "m")).To(Succeed())
		Expect(port.Disconnect(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker)))
		Eventually(func(ctx SpecContext) (map[string]any, error) {
			return EvalAs[map[string]any](ctx, w.worker, `self.seen`)
		}).WithContext(ctx).Should(Equal(map[string]any{
			"onConnect":    1.0,
			"onMessage":    []any{2.0, true, "m"},
			"onDisconnect": []any{1.0, true},
		}))
	})
})
