package specs_test

import (
	"encoding/json"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// rtExt is the blank extension with its content script in every frame, and
// the tabs permission so the worker can find tabs by URL.
func rtExt(name string) ext {
	return blank(name).
		With("content_scripts", []any{map[string]any{
			"matches":    []string{"http://127.0.0.1/*"},
			"js":         []string{"cs.js"},
			"all_frames": true,
		}}).
		With("permissions", []string{"tabs"})
}

// rtFrame is one frame of the frames page: its content script's realm and
// the frame and document IDs that the extension APIs use for it.
type rtFrame struct {
	cs         *Realm
	frameID    int
	documentID string
}

// rtFrames is a tab on a page with two same-origin iframes, each frame with
// the content script, which listens to onConnect.
type rtFrames struct {
	tab            *Tab
	tabID          int
	main, one, two rtFrame
}

// all returns the three frames.
func (f rtFrames) all() []rtFrame { return []rtFrame{f.main, f.one, f.two} }

// rtOpenFrames opens the frames page in a new tab and learns each frame's IDs
// from the sender of a connect that its content script makes to the worker.
func rtOpenFrames(ctx SpecContext, w world) rtFrames {
	GinkgoHelper()
	if w.b.Engine() == Firefox {
		// Seen passing in runs of this file alone, failing in loaded ones;
		// the Firefox branches below are what those passing runs showed.
		Skip("Firefox: harness cannot yet probe the content scripts of a page with iframes reliably: " +
			"the content script of each frame pauses at its first statement in a nested event loop of the same process, " +
			"and the probe's evaluation in one (evaluateJSAsync with the paused frame) can get no result until the deadline " +
			"(\"probing content-script(...): firefox: evaluating in ...console...: no result: context deadline exceeded\"), " +
			"so a frame's realm is missing (RT-02's iframe case failed so in 1 of 2 runs)")
	}
	w.b.Pages().Handle("/frames", `<!doctype html><title>frames</title>
<iframe src="/frame-one"></iframe><iframe src="/frame-two"></iframe>`)
	var f rtFrames
	f.tab = must(w.b.OpenTab(ctx, w.b.Pages().URL("/frames")))
	Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
	for _, it := range []struct {
		path  string
		frame *rtFrame
	}{{"/frames", &f.main}, {"/frame-one", &f.one}, {"/frame-two", &f.two}} {
		url := w.b.Pages().URL(it.path)
		Eventually(func() *Realm {
			it.frame.cs = nil
			for _, r := range w.b.Realms() {
				// This extension's live realms only: a pooled tab can
				// still list the realms of an earlier spec's extension.
				if r.Kind == ContentScriptRealm && r.Tab == f.tab && r.URL == url && r.ExtensionID == w.ext.ID && !r.Gone() {
					it.frame.cs = r
				}
			}
			return it.frame.cs
		}).ShouldNot(BeNil(), "the content script in %s", url)
		name := "where-am-i " + it.path
		must(it.frame.cs.Connect(ctx, map[string]any{"name": name}))
		e := must(w.b.Trace().Wait(ctx, OnConnect().In(w.worker).Named(name)))
		var sender struct {
			FrameID    int    `json:"frameId"`
			DocumentID string `json:"documentId"`
			Tab        struct {
				ID int `json:"id"`
			} `json:"tab"`
		}
		Expect(json.Unmarshal(e.Sender, &sender)).To(Succeed())
		it.frame.frameID, it.frame.documentID, f.tabID = sender.FrameID, sender.DocumentID, sender.Tab.ID
		Expect(it.frame.cs.ListenConnect(ctx, KindOnConnect)).To(Succeed())
	}
	Expect(f.main.frameID).To(Equal(0))
	Expect(f.one.frameID).To(BeNumerically(">", 0))
	Expect(f.two.frameID).NotTo(Equal(f.one.frameID))
	return f
}

// rtTabID returns the ID of the one tab whose URL is url.
func rtTabID(ctx SpecContext, w world, url string) int {
	GinkgoHelper()
	u, _ := json.Marshal(url)
	ids := must(EvalAs[[]int](ctx, w.worker, `chrome.tabs.query({}).then((tabs) =>
		tabs.filter((t) => t.url === `+string(u)+`).map((t) => t.id))`))
	Expect(ids).To(HaveLen(1), "tabs with URL %s", url)
	return ids[0]
}

// rtOnlyIn asserts that the port named name reaches the content script of
// target and no other frame.
func rtOnlyIn(w world, name string, target rtFrame) {
	GinkgoHelper()
	Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(target.cs).Named(name)))
	Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnect().Named(name).Where("in another frame", func(e Event) bool {
		return e.Realm != target.cs
	})))
}

// tabs.connect and frames (catalog section H), and the two-port conversation
// of RC-13.
var _ = Describe("tabs.connect", Label("tabs-connect"), func() {
	DescribeTable("reaches the content script of every frame in the tab when no frameId is given",
		Label("RT-01"),
		func(ctx SpecContext, connectInfo string) {
			w := openWorld(ctx, rtExt("rt-all-frames"))
			f := rtOpenFrames(ctx, w)
			must(w.worker.Eval(ctx, fmt.Sprintf(`(self.rtPort = chrome.tabs.connect(%d, %s)).postMessage("to every frame"), true`, f.tabID, connectInfo)))
			for _, fr := range f.all() {
				Eventually(w.b.Trace()).Should(HaveEventsInOrder(
					OnConnect().In(fr.cs).Named("all"),
					Message().In(fr.cs).Named("all").WithMessage("to every frame"),
				))
			}
			// Each frame gets a Port of its own.
			Expect(countOf(w.b, OnConnect().Named("all"))()).To(Equal(3))
		},
		Entry("connectInfo {name}", `{name: "all"}`),
		Entry("frameId: undefined", `{name: "all", frameId: undefined}`),
		Entry("frameId: null", `{name: "all", frameId: null}`),
	)

	It("reaches only the main frame with frameId 0", Label("RT-02"), func(ctx SpecContext) {
		w := openWorld(ctx, rtExt("rt-frame-zero"))
		f := rtOpenFrames(ctx, w)
		must(w.worker.ConnectTab(ctx, f.tabID, map[string]any{"name": "main", "frameId": 0}))
		rtOnlyIn(w, "main", f.main)
	})

	It("reaches only the iframe whose frameId is given", Label("RT-02"), func(ctx SpecContext) {
		w := openWorld(ctx, rtExt("rt-frame-id"))
		f := rtOpenFrames(ctx, w)
		must(w.worker.ConnectTab(ctx, f.tabID, map[string]any{"name": "second", "frameId": f.two.frameID}))
		rtOnlyIn(w, "second", f.two)
	})

	It("reaches only the document whose documentId is given", Label("RT-03"), func(ctx SpecContext) {
		w := openWorld(ctx, rtExt("rt-document-id"))
		f := rtOpenFrames(ctx, w)
		must(w.worker.ConnectTab(ctx, f.tabID, map[string]any{"name": "doc", "documentId": f.one.documentID}))
		rtOnlyIn(w, "doc", f.one)
	})

	It("accepts a documentId together with the frameId of the same frame", Label("RT-03"), func(ctx SpecContext) {
		w := openWorld(ctx, rtExt("rt-document-and-frame"))
		f := rtOpenFrames(ctx, w)
		must(w.worker.ConnectTab(ctx, f.tabID, map[string]any{"name": "both", "documentId": f.two.documentID, "frameId": f.two.frameID}))
		rtOnlyIn(w, "both", f.two)
	})

	DescribeTable("fails a bad frame or document target through onDisconnect with NO_RECEIVER, without throwing",
		// Firefox: the error is on port.error, not runtime.lastError
		// (closedWith); and a documentId with another frame's frameId
		// reaches the document.
		Label("RT-04", "firefox-differs"),
		func(ctx SpecContext, connectInfo func(rtFrames) map[string]any, firefoxReachesDocument bool) {
			w := openWorld(ctx, rtExt("rt-bad-target"))
			f := rtOpenFrames(ctx, w)
			info := connectInfo(f)
			info["name"] = "bad"
			port := must(w.worker.ConnectTab(ctx, f.tabID, info))
			if w.b.Engine() == Firefox && firefoxReachesDocument {
				// Firefox does not check that the frameId and the
				// documentId name the same frame: the port reaches the
				// document's frame, and stays open.
				rtOnlyIn(w, "bad", f.one)
				Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().OnPort(port)))
				return
			}
			Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect().Named("bad")))
			Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		},
		Entry("a frameId the tab does not have", func(f rtFrames) map[string]any {
			return map[string]any{"frameId": f.one.frameID + f.two.frameID + 1000}
		}, false),
		Entry("a malformed documentId", func(f rtFrames) map[string]any {
			return map[string]any{"documentId": "not-a-document-id"}
		}, false),
		Entry("a truncated documentId", func(f rtFrames) map[string]any {
			return map[string]any{"documentId": f.one.documentID[:len(f.one.documentID)/2]}
		}, false),
		Entry("a documentId with the frameId of another frame", func(f rtFrames) map[string]any {
			return map[string]any{"documentId": f.one.documentID, "frameId": f.two.frameID}
		}, true),
	)

	DescribeTable("gives NO_RECEIVER through onDisconnect when the tab has nothing to connect to",
		Label("RT-05", "firefox-differs"), // Firefox: the error is on port.error, not runtime.lastError (closedWith)
		func(ctx SpecContext, target func(SpecContext, world) int) {
			w := openWorld(ctx, rtExt("rt-nothing-in-tab"))
			port := must(w.worker.ConnectTab(ctx, target(ctx, w), map[string]any{"name": "nothing"}))
			Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect()))
			Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		},
		Entry("a tab without a content script", func(ctx SpecContext, w world) int {
			// A data: URL matches no content script.
			const page = "data:text/html,<title>no content script</title>"
			must(w.b.OpenTab(ctx, page))
			return rtTabID(ctx, w, page)
		}),
		Entry("a tab whose content script has no onConnect listener", func(ctx SpecContext, w world) int {
			return rtTabID(ctx, w, w.b.Pages().URL("/"))
		}),
		Entry("a tab that has been closed", func(ctx SpecContext, w world) int {
			tab := must(w.b.OpenTab(ctx, w.b.Pages().URL("/closing")))
			id := rtTabID(ctx, w, w.b.Pages().URL("/closing"))
			Expect(tab.Close(ctx)).To(Succeed())
			Eventually(func() []int {
				return must(EvalAs[[]int](ctx, w.worker, `chrome.tabs.query({}).then((tabs) => tabs.map((t) => t.id))`))
			}).ShouldNot(ContainElement(id))
			return id
		}),
		Entry("a tab ID that no tab has", func(ctx SpecContext, w world) int {
			return must(EvalAs[int](ctx, w.worker, `chrome.tabs.query({}).then((tabs) => Math.max(...tabs.map((t) => t.id)) + 1000)`))
		}),
	)

	It("reaches the extension's own page shown in the tab, though the tab has no content script", Label("RT-05", "differs", "firefox-differs"), func(ctx SpecContext) {
		// Catalog: a tab with no content script gives NO_RECEIVER. Chrome 156:
		// a tab showing one of the extension's pages is a receiver too; the
		// page's runtime.onConnect fires, with the worker as the sender.
		w := openWorld(ctx, rtExt("rt-extension-page-tab"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.worker.ConnectTab(ctx, rtTabID(ctx, w, w.ext.URL("page.html")), map[string]any{"name": "to-page"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page).Named("to-page").WithSender("url", rxBackgroundURL(w.b, w.ext))))
		Expect(port.Post(ctx, "hello page")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(page).WithMessage("hello page")))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().OnPort(port)))
	})

	DescribeTable("throws a TypeError at once for a negative tabId or frameId",
		Label("RT-07", "firefox-differs"),
		func(ctx SpecContext, args string, want, firefoxSays string) {
			w := openWorld(ctx, rtExt("rt-ranges"))
			if w.b.Engine() == Firefox {
				// Firefox checks the same minimum in its schema
				// (browser/components/extensions/schemas/tabs.json) and throws
				// its own schema error, an Error, not a TypeError.
				want = firefoxSays
			}
			_, err := w.worker.Eval(ctx, `chrome.tabs.connect(`+args+`), "returned"`)
			Expect(thrownText(err)).To(Equal(want))
			Eventually(w.b.Trace()).Should(HaveEvent(Exception().In(w.worker).WithError(want)))
			Expect(w.b.Trace()).NotTo(HaveEvent(Connect()))
		},
		Entry("tabId -1", `-1, {name: "x"}`,
			"TypeError: Error in invocation of tabs.connect(integer tabId, optional object connectInfo): Error at parameter 'tabId': Value must be at least 0.",
			"Error: Type error for parameter tabId (Integer -1 is too small (must be at least 0)) for tabs.connect."),
		Entry("frameId -1", `0, {name: "x", frameId: -1}`,
			"TypeError: Error in invocation of tabs.connect(integer tabId, optional object connectInfo): Error at parameter 'connectInfo': Error at property 'frameId': Value must be at least 0.",
			"Error: Type error for parameter connectInfo (Error processing frameId: Integer -1 is too small (must be at least 0)) for tabs.connect."),
	)

	It("is not available to content scripts, and runtime.connect never reaches a content script", Label("RT-08", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, rtExt("rt-cs-no-tabs"))
		Expect(must(EvalAs[string](ctx, w.cs, `typeof chrome.tabs`))).To(Equal("undefined"))
		// The content script listens, but runtime.connect from the worker
		// looks for extension contexts only.
		Expect(w.cs.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.worker.Connect(ctx, map[string]any{"name": "to-cs"}))
		// Firefox: the error is on port.error, not runtime.lastError.
		Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect().In(w.cs)))
	})

	It("lets a receiver's onConnect call tabs.connect back to sender.tab.id, for a two-port conversation", Label("RC-13", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, rtExt("rc-connect-back"))
		must(w.worker.Eval(ctx, `chrome.runtime.onConnect.addListener((port) => {
			const back = chrome.tabs.connect(port.sender.tab.id, {name: "back", frameId: port.sender.frameId});
			back.onMessage.addListener((m) => port.postMessage({relayed: m}));
			port.onMessage.addListener((m) => back.postMessage({echo: m}));
		}), true`))
		must(w.cs.Eval(ctx, `chrome.runtime.onConnect.addListener((port) => {
			port.onMessage.addListener((m) => port.postMessage({answer: m}));
		}), true`))
		there := must(w.cs.Connect(ctx, map[string]any{"name": "there"}))
		Expect(there.Post(ctx, "ping")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			OnConnect().In(w.worker).Named("there"),
			Connect().In(w.worker).Named("back"),
			OnConnect().In(w.cs).Named("back").WithSender("url", rxBackgroundURL(w.b, w.ext)),
			Message().In(w.cs).Named("back").WithMessage(map[string]any{"echo": "ping"}),
			Message().In(w.worker).Named("back").WithMessage(map[string]any{"answer": map[string]any{"echo": "ping"}}),
			Message().OnPort(there).WithMessage(map[string]any{"relayed": map[string]any{"answer": map[string]any{"echo": "ping"}}}),
		))
	})
})
