package specs_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/portprobe/portprobe/manifest"
	"github.com/portprobe/portprobe/probetest"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// rdDisconnected is what postMessage throws on a disconnected Port, as the
// probe writes an exception: "Name: message".
const rdDisconnected = "Error: Attempting to use a disconnected port object"

// rdDisconnectedIn is rdDisconnected in b's engine: Firefox throws a plain
// Error too, in its own words (ExtensionChild.sys.mjs, Port.sendPortMessage).
func rdDisconnectedIn(b *Browser) string {
	if b.Engine() == Firefox {
		return "Error: Attempt to postMessage on disconnected port"
	}
	return rdDisconnected
}

// Disconnect, onDisconnect and lastError (catalog section E), and who counts
// as a receiver of a runtime.connect (RC-07, RC-08).
var _ = Describe("disconnect and onDisconnect", Label("disconnect"), func() {
	It("notifies the receiver when the opener calls disconnect(), and not the opener itself", Label("RD-01"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-opener-disconnects"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "bye"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("bye")))
		Expect(port.Disconnect(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("bye").WithoutLastError()))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().OnPort(port)))
	})

	It("notifies the opener when the receiver calls disconnect(), and not the receiver itself", Label("RD-01"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-receiver-disconnects"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "bye"}))
		received := receivedPort(ctx, w.b, OnConnect().In(w.worker).Named("bye"))
		Expect(received.Disconnect(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().In(w.worker)))
	})

	It("closes the opener's end when one of several receivers calls disconnect(), and tells no other receiver", Label("RD-01", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-one-receiver-disconnects"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "two"}))
		inPage := receivedPort(ctx, w.b, OnConnect().In(page).Named("two"))
		inWorker := receivedPort(ctx, w.b, OnConnect().In(w.worker).Named("two"))
		// Unlike a receiver that unloads (RD-12), an explicit disconnect()
		// closes the channel: the opener is told, the worker is not.
		Expect(inPage.Disconnect(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))
		Expect(thrownText(port.Post(ctx, "after"))).To(Equal(rdDisconnectedIn(w.b)))
		if w.b.Engine() == Firefox {
			// Firefox closes the channel for every end: the other
			// receiver's Port is disconnected too (its postMessage
			// throws), and it is told through its onDisconnect.
			Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("two").WithoutLastError().WithoutError()))
			Expect(thrownText(inWorker.Post(ctx, "into the void"))).To(Equal(rdDisconnectedIn(w.b)))
			Expect(w.b.Trace()).NotTo(HaveEvent(Message()))
			return
		}
		// The worker's Port still looks open, but nothing it posts arrives.
		Expect(inWorker.Post(ctx, "into the void")).To(Succeed())
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().In(w.worker)))
		Expect(w.b.Trace()).NotTo(HaveEvent(Message()))
	})

	It("makes postMessage throw after the port's own disconnect()", Label("RD-03", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-post-after-own"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "closed"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("closed")))
		Expect(port.Disconnect(ctx)).To(Succeed())
		Expect(thrownText(port.Post(ctx, "late"))).To(Equal(rdDisconnectedIn(w.b)))
		Eventually(w.b.Trace()).Should(HaveEvent(Exception().OnPort(port).WithError(rdDisconnectedIn(w.b))))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(Message()))
	})

	It("makes postMessage throw after the other end disconnected", Label("RD-03", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-post-after-other"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "closed"}))
		Expect(receivedPort(ctx, w.b, OnConnect().In(w.worker).Named("closed")).Disconnect(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port)))
		Expect(thrownText(port.Post(ctx, "late"))).To(Equal(rdDisconnectedIn(w.b)))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(Message()))
	})

	It("makes postMessage throw from inside the port's own onDisconnect listener", Label("RD-03", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-post-in-listener"))
		// The worker hangs up on every port at once.
		must(w.worker.Eval(ctx, `chrome.runtime.onConnect.addListener((port) => port.disconnect()), true`))
		thrown := must(EvalAs[string](ctx, w.cs, `new Promise((resolve) => {
			const port = chrome.runtime.connect({name: "hung-up"});
			port.onDisconnect.addListener(() => {
				try {
					port.postMessage("from onDisconnect");
					resolve("no exception");
				} catch (e) {
					resolve(e.name + ": " + e.message);
				}
			});
		})`))
		Expect(thrown).To(Equal(rdDisconnectedIn(w.b)))
	})

	It("fires onDisconnect at most once, and ignores listeners added afterwards", Label("RD-04", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-once"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		must(w.cs.Eval(ctx, `(() => {
			self.rdCalls = 0;
			self.rdPort = chrome.runtime.connect({name: "once"});
			self.rdPort.onDisconnect.addListener(() => { self.rdCalls++; });
		})()`))
		Expect(receivedPort(ctx, w.b, OnConnect().In(w.worker).Named("once")).Disconnect(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.cs).Named("once")))
		if w.b.Engine() == Firefox {
			// Firefox: a local disconnect() afterwards neither throws nor
			// fires it again either, but the Port's events still take
			// listeners (hasListener says so; they never fire), and they
			// have no hasListeners (ExtensionChild.sys.mjs, Port.api).
			kept := must(EvalAs[map[string]any](ctx, w.cs, `(() => {
				self.rdPort.disconnect();
				const f = () => { self.rdCalls += 100; };
				self.rdPort.onDisconnect.addListener(f);
				self.rdPort.onMessage.addListener(f);
				return {
					onDisconnect: self.rdPort.onDisconnect.hasListener(f),
					onMessage: self.rdPort.onMessage.hasListener(f),
					hasListeners: typeof self.rdPort.onDisconnect.hasListeners,
				};
			})()`))
			Expect(kept).To(Equal(map[string]any{"onDisconnect": true, "onMessage": true, "hasListeners": "undefined"}))
			Consistently(countOf(w.b, OnDisconnect().In(w.cs).Named("once"))).Should(Equal(1))
			Expect(must(EvalAs[int](ctx, w.cs, `self.rdCalls`))).To(Equal(1))
			Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
			return
		}
		// A local disconnect() afterwards neither throws nor fires it again,
		// and the Port's events no longer take listeners.
		invalidated := must(EvalAs[map[string]bool](ctx, w.cs, `(() => {
			self.rdPort.disconnect();
			const f = () => { self.rdCalls += 100; };
			self.rdPort.onDisconnect.addListener(f);
			self.rdPort.onMessage.addListener(f);
			return {
				onDisconnect: self.rdPort.onDisconnect.hasListener(f),
				onMessage: self.rdPort.onMessage.hasListener(f),
				anyOnDisconnect: self.rdPort.onDisconnect.hasListeners(),
			};
		})()`))
		Expect(invalidated).To(Equal(map[string]bool{"onDisconnect": false, "onMessage": false, "anyOnDisconnect": false}))
		Consistently(countOf(w.b, OnDisconnect().In(w.cs).Named("once"))).Should(Equal(1))
		Expect(must(EvalAs[int](ctx, w.cs, `self.rdCalls`))).To(Equal(1))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
	})

	It("leaves lastError unset in onDisconnect when the other end called disconnect()", Label("RD-05"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-clean-disconnect"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "clean"}))
		Expect(receivedPort(ctx, w.b, OnConnect().In(w.worker).Named("clean")).Disconnect(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port)))
		Expect(w.b.Trace()).To(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))
	})

	It("leaves lastError unset in onDisconnect when the other end's tab closed", Label("RD-05"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-tab-closed"))
		tab, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "page-closes"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page).Named("page-closes")))
		Expect(tab.Close(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port)))
		Expect(w.b.Trace()).To(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))
	})

	It("sets lastError only during onDisconnect: afterwards runtime.lastError is undefined again", Label("RD-06", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-lasterror-cleared"))
		if w.b.Engine() == Firefox {
			// Firefox never sets runtime.lastError for a port: the error
			// is the Port's own error property, and it stays there after
			// the listener. runtime.lastError is null, not undefined,
			// whenever no callback is running (child/ext-runtime.js reads
			// context.lastError; ExtensionChild.sys.mjs,
			// Port.recvPortDisconnect sets port.error).
			seen := must(EvalAs[map[string]any](ctx, w.cs, `new Promise((resolve) => {
				const port = chrome.runtime.connect({name: "nobody"});
				port.onDisconnect.addListener((p) => {
					const inside = chrome.runtime.lastError;
					const error = p.error && p.error.message;
					setTimeout(() => resolve({
						inside: inside === null ? "null" : String(inside),
						error: error,
						laterError: port.error && port.error.message,
						later: chrome.runtime.lastError === null ? "null" : String(chrome.runtime.lastError),
					}), 0);
				});
			})`))
			Expect(seen).To(Equal(map[string]any{"inside": "null", "error": noReceiver, "laterError": noReceiver, "later": "null"}))
			Expect(must(EvalAs[bool](ctx, w.cs, `chrome.runtime.lastError === null`))).To(BeTrue())
			return
		}
		seen := must(EvalAs[map[string]any](ctx, w.cs, `new Promise((resolve) => {
			const port = chrome.runtime.connect({name: "nobody"});
			port.onDisconnect.addListener(() => {
				const inside = chrome.runtime.lastError;
				const message = inside ? inside.message : null;
				setTimeout(() => resolve({inside: message, later: chrome.runtime.lastError === undefined}), 0);
			});
		})`))
		Expect(seen).To(Equal(map[string]any{"inside": noReceiver, "later": true}))
		// Read again, in a later task, from Go.
		Expect(must(EvalAs[bool](ctx, w.cs, `chrome.runtime.lastError === undefined`))).To(BeTrue())
	})

	// Firefox reports NO_RECEIVER in port.error instead (closedWith).
	DescribeTable("reports each failed connection as NO_RECEIVER in onDisconnect's lastError",
		Label("RD-07", "firefox-differs"),
		func(ctx SpecContext, connect func(SpecContext, world) *Port) {
			w := openWorld(ctx, blank("rd-errors").With("permissions", []string{"tabs"}))
			port := connect(ctx, w)
			Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
			Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		},
		Entry("no context has an onConnect listener", func(ctx SpecContext, w world) *Port {
			return must(w.cs.Connect(ctx, map[string]any{"name": "nobody"}))
		}),
		Entry("a well-formed extension ID that is not installed", func(ctx SpecContext, w world) *Port {
			_, absent, _, err := manifest.NewKey()
			Expect(err).NotTo(HaveOccurred())
			return must(w.worker.Connect(ctx, absent, map[string]any{"name": "absent"}))
		}),
		Entry("tabs.connect to a frame the tab does not have", func(ctx SpecContext, w world) *Port {
			Expect(w.cs.ListenConnect(ctx, KindOnConnect)).To(Succeed())
			tabID := must(EvalAs[int](ctx, w.worker, `chrome.tabs.query({url: "http://127.0.0.1/*"}).then((tabs) => tabs[0].id)`))
			return must(w.worker.ConnectTab(ctx, tabID, map[string]any{"name": "no-frame", "frameId": 4242}))
		}),
	)

	It("reports NO_RECEIVER, as for a missing extension, when externally_connectable refuses the caller", Label("RD-07", "firefox-differs"), func(ctx SpecContext) {
		target := func(name string, manifest map[string]any) probetest.Built {
			// Firefox runs the scripts as its background page.
			manifest["background"] = map[string]any{"service_worker": "worker.js", "scripts": []string{"worker.js"}}
			return ext{Name: name, Keyed: true, Manifest: manifest, Files: map[string]string{
				"worker.js": "chrome.runtime.onConnectExternal.addListener(() => {});\n",
			}}.Build(GinkgoTB())
		}
		// A key with only matches lets no extension connect; no key lets all.
		refusing := target("rd-refusing", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}}})
		open := target("rd-open", map[string]any{})
		w := openWorld(ctx, blank("rd-caller"), refusing, open)
		openWorker := must(must(w.b.Extension(open.IDIn(w.b))).Worker(ctx))
		refusingWorker := must(must(w.b.Extension(refusing.IDIn(w.b))).Worker(ctx))

		accepted := must(w.worker.Connect(ctx, open.IDIn(w.b), map[string]any{"name": "let-in"}))
		refused := must(w.worker.Connect(ctx, refusing.IDIn(w.b), map[string]any{"name": "kept-out"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(openWorker).Named("let-in")))
		if w.b.Engine() == Firefox {
			// Firefox does not support externally_connectable (it warns
			// and ignores the key): every extension may connect to every
			// other, so the "refusing" one takes the port too.
			Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(refusingWorker).Named("kept-out")))
			Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().OnPort(refused)))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().OnPort(accepted)))
			return
		}
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(refused).WithLastError(noReceiver)))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().OnPort(accepted)))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnectExternal().In(refusingWorker)))
	})

	It("refuses a connection through onDisconnect with NO_RECEIVER when no context listens, and delivers nothing", Label("RD-08", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-no-receiver"))
		// Messages posted before the failure is known do not throw.
		must(w.cs.Eval(ctx, `(() => {
			const port = chrome.runtime.connect({name: "nobody"});
			port.postMessage("first");
			port.postMessage("second");
		})()`))
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			Connect().In(w.cs).Named("nobody"),
			Post().In(w.cs).WithMessage("first"),
			Post().In(w.cs).WithMessage("second"),
			// Firefox: in port.error, not lastError (closedWith).
			closedWith(w.b, OnDisconnect().In(w.cs).Named("nobody"), noReceiver),
		))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		Expect(w.b.Trace()).NotTo(HaveEvent(Message()))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect()))
	})

	It("still fires onConnect, then onDisconnect without lastError, in the receiver of connect().disconnect()", Label("RD-09"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-connect-disconnect"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		must(w.cs.Eval(ctx, `chrome.runtime.connect({name: "brief"}).disconnect()`))
		// The caller's disconnect and the worker's onConnect race; each
		// side's own events are in order.
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			Connect().In(w.cs).Named("brief"),
			Disconnect().In(w.cs).Named("brief"),
		))
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			OnConnect().In(w.worker).Named("brief"),
			OnDisconnect().In(w.worker).Named("brief").WithoutLastError(),
		))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().In(w.cs)))
	})

	It("reaches every receiver with the opener's disconnect(), without lastError", Label("RD-11"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-disconnect-all"))
		_, opener := must2(w.ext.OpenPage(ctx, "page.html"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(opener.Connect(ctx, map[string]any{"name": "all"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page).Named("all")))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("all")))
		Expect(port.Disconnect(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(page).Named("all").WithoutLastError()))
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("all").WithoutLastError()))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().In(opener)))
	})

	It("keeps the channel open when one of two receiving pages closes, and closes it cleanly when the last one does", Label("RD-12", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-receiver-closes"))
		tab1, page1 := must2(w.ext.OpenPage(ctx, "page.html"))
		tab2, page2 := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page1.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(page2.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.worker.Connect(ctx, map[string]any{"name": "survivor"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page1).Named("survivor")))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page2).Named("survivor")))

		Expect(tab1.Close(ctx)).To(Succeed())
		if w.b.Engine() == Firefox {
			rd12FirefoxClosesAll(ctx, w, port, page2)
			return
		}
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().OnPort(port)))
		Expect(port.Post(ctx, "still there?")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(page2).WithMessage("still there?")))

		Expect(tab2.Close(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))
	})

	It("keeps the channel open when one of two receiving pages navigates away", Label("RD-12", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rd-receiver-navigates"))
		tab1, page1 := must2(w.ext.OpenPage(ctx, "page.html"))
		_, page2 := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page1.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(page2.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.worker.Connect(ctx, map[string]any{"name": "survivor"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page1).Named("survivor")))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page2).Named("survivor")))

		Expect(tab1.Navigate(ctx, w.b.Pages().URL("/elsewhere"))).To(Succeed())
		Eventually(page1.Gone).Should(BeTrue())
		if w.b.Engine() == Firefox {
			rd12FirefoxClosesAll(ctx, w, port, page2)
			return
		}
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().OnPort(port)))
		Expect(port.Post(ctx, "still there?")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(page2).WithMessage("still there?")))
		Expect(w.b.Trace()).NotTo(HaveEvent(Message().In(page1)))
	})

	It("skips contexts that only listen to runtime.onMessage, so the opener gets NO_RECEIVER", Label("RC-07", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rc-onmessage-only"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		// (Firefox's events have hasListener but no hasListeners.)
		for _, r := range []*Realm{w.worker, page} {
			Expect(must(EvalAs[bool](ctx, r, `(() => {
				const f = () => {};
				chrome.runtime.onMessage.addListener(f);
				return chrome.runtime.onMessage.hasListener(f);
			})()`))).To(BeTrue())
		}
		port := must(w.cs.Connect(ctx, map[string]any{"name": "wrong-event"}))
		// Firefox: in port.error, not lastError (closedWith).
		Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect()))
	})

	It("fans the opener's messages out to every receiver, and sends a receiver's messages to the opener only", Label("RC-08"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rc-fan-out"))
		_, opener := must2(w.ext.OpenPage(ctx, "page.html"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(opener.Connect(ctx, map[string]any{"name": "fan"}))
		inPage := receivedPort(ctx, w.b, OnConnect().In(page).Named("fan"))
		inWorker := receivedPort(ctx, w.b, OnConnect().In(w.worker).Named("fan"))

		Expect(port.Post(ctx, "to all")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(inPage).WithMessage("to all")))
		Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(inWorker).WithMessage("to all")))

		Expect(inPage.Post(ctx, "from the page")).To(Succeed())
		Expect(inWorker.Post(ctx, "from the worker")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(port).WithMessage("from the page")))
		Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(port).WithMessage("from the worker")))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(Message().In(page).WithMessage("from the worker")))
		Expect(w.b.Trace()).NotTo(HaveEvent(Message().In(w.worker).WithMessage("from the page")))
	})
})

// rd12FirefoxClosesAll checks what Firefox does when one of two receivers of
// port unloads: it closes the whole channel, cleanly. The opener and the
// other receiver (in page) get onDisconnect with no error, and the opener's
// Port is disconnected. Chrome keeps the channel open while a receiver is
// left.
func rd12FirefoxClosesAll(ctx SpecContext, w world, port *Port, page *Realm) {
	GinkgoHelper()
	Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError().WithoutError()))
	Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(page).Named("survivor").WithoutLastError().WithoutError()))
	Expect(thrownText(port.Post(ctx, "still there?"))).To(Equal(rdDisconnectedIn(w.b)))
	Consistently(w.b.Trace()).ShouldNot(HaveEvent(Message()))
}
