package specs_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gs "github.com/onsi/gomega/gstruct"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// Chrome's texts for one-time messages that go nowhere or cannot go.
const (
	// mtTooBig is the size error, as sendResponse throws it and as the
	// sender's promise rejects with it.
	mtTooBig = "Message exceeded maximum allowed size of 64MiB."
	// mtNoSerialize is the serialization error of sendMessage and
	// sendResponse.
	mtNoSerialize = "Could not serialize message."
	// mtTabsInvocation starts the TypeError of tabs.sendMessage's bad
	// arguments.
	mtTabsInvocation = "TypeError: Error in invocation of tabs.sendMessage(integer tabId, any message, optional object options, optional function callback): "
)

// mtEcho adds a listener that answers every message with {echo: message}.
// It is one expression (whose value is true): Firefox's evaluations take an
// expression, not statements.
const mtEcho = `(chrome.runtime.onMessage.addListener((m, s, respond) => { respond({echo: m}); }), true)`

// mtFramesExt is the blank extension with its content script in every frame
// of the local page server, and the tabs permission. The content script says
// hello to the worker with its frame's path, which gives the worker's trace
// the frame's sender (frameId, documentId, tab); the worker's own listener
// is there so the hello has a receiver.
func mtFramesExt(name string) ext {
	return blank(name).
		With("content_scripts", []any{map[string]any{
			"matches":    []string{"http://127.0.0.1/*"},
			"js":         []string{"cs.js"},
			"all_frames": true,
		}}).
		With("permissions", []string{"tabs"}).
		WithFile("cs.js", "chrome.runtime.sendMessage({hello: location.pathname});\n").
		WithFile("worker.js", "chrome.runtime.onMessage.addListener(() => {});\n")
}

// mtFrame is one frame of the frames page: its path, its content script, and
// the IDs that tabs.sendMessage takes for it.
type mtFrame struct {
	path       string
	cs         *Realm
	frameID    int
	documentID string
}

// mtFrames is a tab on a page with two same-origin iframes.
type mtFrames struct {
	tab            *Tab
	tabID          int
	main, one, two mtFrame
}

func (f mtFrames) all() []mtFrame { return []mtFrame{f.main, f.one, f.two} }

// mtOpenFrames opens the frames page in a new tab of w (an mtFramesExt
// world) and learns each frame's IDs from the sender of its hello.
func mtOpenFrames(ctx SpecContext, w world) mtFrames {
	GinkgoHelper()
	w.b.Pages().Handle("/mt-frames", `<!doctype html><title>frames</title>
<iframe src="/mt-frame-one"></iframe><iframe src="/mt-frame-two"></iframe>`)
	f := mtFrames{
		main: mtFrame{path: "/mt-frames"},
		one:  mtFrame{path: "/mt-frame-one"},
		two:  mtFrame{path: "/mt-frame-two"},
	}
	f.tab = must(w.b.OpenTab(ctx, w.b.Pages().URL("/mt-frames")))
	f.tabID = must(f.tab.ChromeID(ctx))
	for _, fr := range []*mtFrame{&f.main, &f.one, &f.two} {
		url := w.b.Pages().URL(fr.path)
		Eventually(func() *Realm {
			fr.cs = nil
			for _, r := range w.b.Realms() {
				if r.Kind == ContentScriptRealm && r.Tab == f.tab && r.URL == url {
					fr.cs = r
				}
			}
			return fr.cs
		}).ShouldNot(BeNil(), "the content script in %s", url)
		hello := eventOf(w.b, OnMessage().In(w.worker).WithMessage(map[string]any{"hello": fr.path}))
		var sender struct {
			FrameID    int    `json:"frameId"`
			DocumentID string `json:"documentId"`
			Tab        struct {
				ID int `json:"id"`
			} `json:"tab"`
		}
		Expect(json.Unmarshal(hello.Sender, &sender)).To(Succeed())
		Expect(sender.Tab.ID).To(Equal(f.tabID))
		fr.frameID, fr.documentID = sender.FrameID, sender.DocumentID
	}
	Expect(f.main.frameID).To(Equal(0))
	Expect(f.one.frameID).To(BeNumerically(">", 0))
	Expect(f.two.frameID).NotTo(Equal(f.one.frameID))
	return f
}

// mtSkipFramesOnFirefox skips a spec on the frames page in Firefox.
func mtSkipFramesOnFirefox(w world) {
	if w.b.Engine() == Firefox {
		Skip("Firefox: harness cannot yet probe the content scripts of a page's iframes reliably: each frame's content script pauses at its first statement in a nested event loop of the same process, and one frame's realm is now and then missing (MT-04 failed 1 run in 5 with /mt-frames: two same-origin iframes, content script in all frames)")
	}
}

// mtAnswerWithPath makes each frame's content script answer every message
// with its frame's path.
func mtAnswerWithPath(ctx SpecContext, f mtFrames) {
	GinkgoHelper()
	for _, fr := range f.all() {
		must(fr.cs.Eval(ctx, `chrome.runtime.onMessage.addListener((m, s, respond) => { respond(location.pathname); }), true`))
	}
}

// mtThrown runs a call in r inside try/catch and returns what it threw as
// [name, message], or ["returned"]: it shows that the call threw
// synchronously, before any promise.
func mtThrown(ctx SpecContext, r *Realm, call string) []string {
	GinkgoHelper()
	return must(EvalAs[[]string](ctx, r, `(() => {
		try {
			const p = `+call+`;
			if (p && typeof p.catch === "function") p.catch(() => {});
			return ["returned"];
		} catch (e) {
			return [e.name, e.message];
		}
	})()`))
}

// mtBackgroundURL is the sender url of w's background: the service worker's
// script in Chrome; in Firefox, which runs background.scripts in a
// background page, that page's generated document.
func mtBackgroundURL(w world) string {
	if w.b.Engine() == Firefox {
		return w.ext.URL("_generated_background_page.html")
	}
	return w.ext.URL("worker.js")
}

// mtNoWebMessaging checks, in Firefox, that the web page's own world of w's
// tab has no chrome and no browser object, and returns true: Firefox gives
// web pages no extension messaging, and ignores externally_connectable's
// matches for them (MDN: externally_connectable, web pages not supported).
// In Chrome it returns false.
func mtNoWebMessaging(ctx SpecContext, w world) bool {
	GinkgoHelper()
	if w.b.Engine() != Firefox {
		return false
	}
	Expect(must(w.tab.Eval(ctx, `[typeof chrome, typeof browser]`))).To(MatchJSON(`["undefined", "undefined"]`))
	return true
}

// mtWebResult evaluates a promise in the web page's main world of tab and
// returns ["resolved", value] or ["rejected", message], decoded.
func mtWebResult(ctx SpecContext, tab *Tab, promise string) []any {
	GinkgoHelper()
	var out []any
	Expect(json.Unmarshal(must(tab.Eval(ctx, `(`+promise+`).then((r) => ["resolved", r], (e) => ["rejected", e.message])`)), &out)).To(Succeed())
	return out
}

// Where one-time messages go (docs/catalog/message-routing.md, MT-*), with
// the shared catalog's RZ-01, RT-06 and RS-13 as they apply to them.
var _ = Describe("where one-time messages go", Label("send-message"), func() {
	It("from the worker, runtime.sendMessage reaches extension pages' onMessage but never a content script", Label("MT-01", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("mt01-worker-to-pages"))
		Expect(w.cs.ListenMessages(ctx, KindOnMessage)).To(Succeed())
		// With no extension page open, nothing receives it, though the
		// content script listens.
		_, err := w.worker.SendMessage(ctx, "nobody")
		Expect(jsText(err)).To(Equal("Error: " + noReceiver))

		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		must(page.Eval(ctx, `chrome.runtime.onMessage.addListener((m, s, respond) => { respond("page got " + m); }), true`))
		Expect(must(w.worker.SendMessage(ctx, "hello"))).To(MatchJSON(`"page got hello"`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(page).WithMessage("hello").WithSender("url", mtBackgroundURL(w))))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnMessage().In(w.cs)))
	})

	It("from a content script, runtime.sendMessage reaches the worker and every open extension page, the first answer wins, and no content script gets it", Label("MT-02"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("mt02-cs-to-all"))
		other := must(w.b.OpenTab(ctx, w.b.Pages().URL("/mt-other")))
		otherCS := must(w.ext.ContentScript(ctx, other))
		Expect(otherCS.ListenMessages(ctx, KindOnMessage)).To(Succeed())
		_, page1 := must2(w.ext.OpenPage(ctx, "page.html"))
		_, page2 := must2(w.ext.OpenPage(ctx, "page.html"))
		receivers := []*Realm{w.worker, page1, page2}
		for _, r := range receivers {
			Expect(r.ListenMessages(ctx, KindOnMessage)).To(Succeed())
		}
		must(w.cs.Eval(ctx, `self.answer = chrome.runtime.sendMessage("to everyone"), true`))
		got := map[*Realm]Event{}
		for _, r := range receivers {
			got[r] = eventOf(w.b, OnMessage().In(r).WithMessage("to everyone"))
		}
		// page2 answers first; the worker and page1 answer after it.
		Expect(ReplyTo(got[page2]).Send(ctx, "page2 first")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Response().In(w.cs).WithMessage("page2 first")))
		Expect(ReplyTo(got[w.worker]).Send(ctx, "worker second")).To(Succeed())
		Expect(ReplyTo(got[page1]).Send(ctx, "page1 third")).To(Succeed())
		Expect(must(w.cs.Eval(ctx, `self.answer`))).To(MatchJSON(`"page2 first"`))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnMessage().In(otherCS)))
		Expect(countOf(w.b, Response().In(w.cs))()).To(Equal(1))
	})

	It("tabs.sendMessage without options reaches the content script of every frame of the tab, and the first answer wins", Label("MT-03"), func(ctx SpecContext) {
		w := openWorld(ctx, mtFramesExt("mt03-all-frames"))
		mtSkipFramesOnFirefox(w)
		f := mtOpenFrames(ctx, w)
		for _, fr := range f.all() {
			Expect(fr.cs.ListenMessages(ctx, KindOnMessage)).To(Succeed())
		}
		must(w.worker.Eval(ctx, fmt.Sprintf(`self.answer = chrome.tabs.sendMessage(%d, "to every frame"), true`, f.tabID)))
		got := map[string]Event{}
		for _, fr := range f.all() {
			got[fr.path] = eventOf(w.b, OnMessage().In(fr.cs).WithMessage("to every frame"))
		}
		Expect(ReplyTo(got[f.two.path]).Send(ctx, "from frame two")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Response().In(w.worker).Via("promise").WithMessage("from frame two")))
		Expect(ReplyTo(got[f.main.path]).Send(ctx, "from the main frame")).To(Succeed())
		Expect(ReplyTo(got[f.one.path]).Send(ctx, "from frame one")).To(Succeed())
		Expect(must(w.worker.Eval(ctx, `self.answer`))).To(MatchJSON(`"from frame two"`))
		Expect(countOf(w.b, OnMessage().WithMessage("to every frame"))()).To(Equal(3))
	})

	DescribeTable("tabs.sendMessage with a frameId or a documentId reaches only that frame",
		Label("MT-04"),
		func(ctx SpecContext, options func(mtFrames) (map[string]any, mtFrame)) {
			w := openWorld(ctx, mtFramesExt("mt04-one-frame"))
			mtSkipFramesOnFirefox(w)
			f := mtOpenFrames(ctx, w)
			mtAnswerWithPath(ctx, f)
			opts, target := options(f)
			Expect(must(w.worker.SendTabMessage(ctx, f.tabID, "just you", opts))).To(MatchJSON(strconv.Quote(target.path)))
			Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(target.cs).WithMessage("just you")))
			Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnMessage().WithMessage("just you").Where("in another frame", func(e Event) bool {
				return e.Realm != target.cs
			})))
		},
		Entry("frameId 0: the main frame", func(f mtFrames) (map[string]any, mtFrame) {
			return map[string]any{"frameId": 0}, f.main
		}),
		Entry("the frameId of an iframe", func(f mtFrames) (map[string]any, mtFrame) {
			return map[string]any{"frameId": f.two.frameID}, f.two
		}),
		Entry("the documentId of an iframe", func(f mtFrames) (map[string]any, mtFrame) {
			return map[string]any{"documentId": f.one.documentID}, f.one
		}),
		Entry("a documentId with the frameId of the same frame", func(f mtFrames) (map[string]any, mtFrame) {
			return map[string]any{"documentId": f.two.documentID, "frameId": f.two.frameID}, f.two
		}),
	)

	DescribeTable("a content script receiving tabs.sendMessage sees the sender as id, url and the extension's origin, with no tab or frame",
		Label("MT-05", "firefox-differs"),
		func(ctx SpecContext, fromPage bool) {
			w := openWorld(ctx, blank("mt05-sender"))
			tabID := must(w.tab.ChromeID(ctx))
			sender, url := w.worker, w.ext.URL("worker.js")
			if fromPage {
				_, sender = must2(w.ext.OpenPage(ctx, "page.html"))
				url = w.ext.URL("page.html")
			}
			must(w.cs.Eval(ctx, `chrome.runtime.onMessage.addListener((m, s, respond) => { respond("ok"); }), true`))
			Expect(must(sender.SendTabMessage(ctx, tabID, "who am I"))).To(MatchJSON(`"ok"`))
			if w.b.Engine() == Firefox {
				// Firefox gives the content script the sender's full
				// MessageSender: the background page's (Firefox runs
				// background.scripts there), or the page's with its tab and
				// frameId 0; each with contextId, envType and documentId.
				want := otfBackgroundSender(w)
				if fromPage {
					want = otfPageInTabSender(w)
				}
				Expect(senderOf(w.b, OnMessage().In(w.cs).WithMessage("who am I"))).To(want)
				return
			}
			Expect(senderOf(w.b, OnMessage().In(w.cs).WithMessage("who am I"))).To(gs.MatchAllKeys(gs.Keys{
				"id":     Equal(w.ext.ID),
				"url":    Equal(url),
				"origin": Equal("chrome-extension://" + w.ext.ID),
			}))
		},
		Entry("from the service worker", false),
		Entry("from an extension page in a tab", true),
	)

	DescribeTable("tabs.sendMessage with nothing to receive it rejects with NO_RECEIVER, and throws nothing",
		Label("MT-06"),
		func(ctx SpecContext, target func(SpecContext, world) (int, map[string]any)) {
			w := openWorld(ctx, mtFramesExt("mt06-nothing"))
			tabID, opts := target(ctx, w)
			args := []any{}
			if opts != nil {
				args = append(args, opts)
			}
			_, err := w.worker.SendTabMessage(ctx, tabID, "anyone?", args...)
			Expect(jsText(err)).To(Equal("Error: " + noReceiver))
			Eventually(w.b.Trace()).Should(HaveEvent(Response().In(w.worker).Via("promise").WithError(noReceiver)))
			Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage().WithMessage("anyone?")))
		},
		Entry("a tab without a content script (a data: URL)", func(ctx SpecContext, w world) (int, map[string]any) {
			tab := must(w.b.OpenTab(ctx, "data:text/html,<title>no content script</title>"))
			return must(tab.ChromeID(ctx)), nil
		}),
		Entry("a tab whose content script has no onMessage listener", func(ctx SpecContext, w world) (int, map[string]any) {
			return must(w.tab.ChromeID(ctx)), nil
		}),
		Entry("a tab ID that no tab has", func(ctx SpecContext, w world) (int, map[string]any) {
			return must(EvalAs[int](ctx, w.worker, `chrome.tabs.query({}).then((tabs) => Math.max(...tabs.map((t) => t.id)) + 1000)`)), nil
		}),
		Entry("a frameId the tab does not have", func(ctx SpecContext, w world) (int, map[string]any) {
			must(w.cs.Eval(ctx, mtEcho))
			return must(w.tab.ChromeID(ctx)), map[string]any{"frameId": 999999}
		}),
		Entry("a malformed documentId", func(ctx SpecContext, w world) (int, map[string]any) {
			must(w.cs.Eval(ctx, mtEcho))
			return must(w.tab.ChromeID(ctx)), map[string]any{"documentId": "0123456789ABCDEF"}
		}),
	)

	It("tabs.sendMessage reaches the extension's own page shown in the tab, which has no content script", Label("MT-07", "differs", "firefox-differs"), func(ctx SpecContext) {
		// Expected (the brief, and RT-05 for ports): a tab with no content
		// script has no receiver. Chrome 156: a tab showing one of the
		// extension's pages is a receiver; the page's runtime.onMessage
		// fires with the worker as the sender, and its answer comes back.
		w := openWorld(ctx, blank("mt07-page-tab"))
		pageTab, page := must2(w.ext.OpenPage(ctx, "page.html"))
		must(page.Eval(ctx, `chrome.runtime.onMessage.addListener((m, s, respond) => { respond("page here"); }), true`))
		Expect(must(w.worker.SendTabMessage(ctx, must(pageTab.ChromeID(ctx)), "to the page's tab"))).To(MatchJSON(`"page here"`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(page).WithMessage("to the page's tab").WithSender("url", mtBackgroundURL(w))))
	})

	DescribeTable("runtime.sendMessage reaches the own extension when the first of two arguments is an object, null, undefined, \"\" or the own ID",
		Label("MT-08"),
		func(ctx SpecContext, args string, want string) {
			w := openWorld(ctx, blank("mt08-own-extension"))
			must(w.worker.Eval(ctx, mtEcho))
			args = strings.ReplaceAll(args, "OWN_ID", strconv.Quote(w.ext.ID))
			Expect(must(w.cs.SendMessageJS(ctx, args))).To(MatchJSON(want))
			Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker).WithSender("id", w.ext.ID)))
		},
		Entry("(message)", `"hi"`, `{"echo": "hi"}`),
		Entry("(a lone object message)", `{a: 1}`, `{"echo": {"a": 1}}`),
		Entry("(ownId, message)", `OWN_ID, "hi"`, `{"echo": "hi"}`),
		Entry("(null, message)", `null, "hi"`, `{"echo": "hi"}`),
		Entry("(undefined, message)", `undefined, "hi"`, `{"echo": "hi"}`),
		Entry(`("", message): the empty string counts as no ID`, `"", "hi"`, `{"echo": "hi"}`),
		Entry("(object message, options): an object first is the message", `{a: 1}, {}`, `{"echo": {"a": 1}}`),
		Entry("(ownId, message, options)", `OWN_ID, "hi", {}`, `{"echo": "hi"}`),
	)

	DescribeTable("runtime.sendMessage with a string first of two arguments takes it as an extension ID, and throws a TypeError at the call when it is malformed",
		Label("MT-09", "firefox-differs"),
		func(ctx SpecContext, args string, detail string) {
			w := openWorld(ctx, blank("mt09-string-is-id"))
			must(w.worker.Eval(ctx, mtEcho))
			if w.b.Engine() == Firefox {
				// Firefox also takes the string as an extension ID, but does
				// not check its form: the message goes out to an extension
				// that does not exist, and the promise rejects with
				// NO_RECEIVER.
				Expect(otfOutcome(ctx, w.cs, `chrome.runtime.sendMessage(`+args+`)`)).To(Equal([]string{"rejected", "Error", noReceiver}))
				Expect(w.b.Trace()).To(HaveEvent(SendMessage().In(w.cs)))
				Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
				return
			}
			Expect(mtThrown(ctx, w.cs, `chrome.runtime.sendMessage(`+args+`)`)).To(Equal([]string{"TypeError", sendMessageInvocation + detail}))
			Expect(w.b.Trace()).To(HaveEvent(Exception().In(w.cs).WithError(sendMessageInvocation + detail).Via("runtime.sendMessage")))
			Expect(w.b.Trace()).NotTo(HaveEvent(SendMessage()))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
		},
		Entry(`("a", "b")`, `"a", "b"`, "Invalid extension id: 'a'"),
		Entry(`("hello", {an: "object"}): the string is still the ID`, `"hello", {an: "object"}`, "Invalid extension id: 'hello'"),
	)

	DescribeTable("runtime.sendMessage throws a TypeError at the call for argument lists no signature matches",
		Label("MT-10", "firefox-differs"),
		func(ctx SpecContext, args string, detail string, firefox []string) {
			w := openWorld(ctx, blank("mt10-bad-arguments"))
			must(w.worker.Eval(ctx, mtEcho))
			args = strings.ReplaceAll(args, "OWN_ID", strconv.Quote(w.ext.ID))
			if w.b.Engine() == Firefox {
				// Firefox reads the arguments itself and rejects the promise
				// with an Error in its own words, instead of throwing
				// (toolkit/components/extensions/child/ext-runtime.js,
				// sendMessage). Nothing is received.
				if firefox[0] == "callback" {
					Expect(must(EvalAs[[]string](ctx, w.cs, `new Promise((resolve) => chrome.runtime.sendMessage(() => resolve(["callback", chrome.runtime.lastError ? chrome.runtime.lastError.message : "no lastError"])))`))).To(Equal(firefox))
				} else {
					Expect(otfOutcome(ctx, w.cs, `chrome.runtime.sendMessage(`+args+`)`)).To(Equal(firefox))
				}
				Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
				return
			}
			Expect(mtThrown(ctx, w.cs, `chrome.runtime.sendMessage(`+args+`)`)).To(Equal([]string{"TypeError", sendMessageInvocation + detail}))
			Expect(w.b.Trace()).NotTo(HaveEvent(SendMessage()))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
		},
		Entry("no arguments", ``, "No matching signature.",
			[]string{"rejected", "Error", "runtime.sendMessage's message argument is missing"}),
		Entry("4 arguments, the last not a function", `OWN_ID, "hi", {}, "not a callback"`, "No matching signature.",
			[]string{"rejected", "Error", "runtime.sendMessage's last argument is not a function"}),
		Entry("5 arguments", `OWN_ID, "hi", {}, () => {}, 5`, "No matching signature.",
			[]string{"rejected", "Error", "runtime.sendMessage received too many arguments"}),
		Entry("a number as the extension ID", `42, "hi"`, "No matching signature.",
			[]string{"rejected", "Error", "runtime.sendMessage's extensionId argument is invalid"}),
		Entry("an object message with a string second", `{a: 1}, "hi"`, "No matching signature.",
			[]string{"rejected", "Error", "runtime.sendMessage's extensionId argument is invalid"}),
		Entry("an options property sendMessage does not have", `OWN_ID, "hi", {frameId: 0}`, "Error at parameter 'options': Unexpected property: 'frameId'.",
			[]string{"rejected", "Error", "runtime.sendMessage's options argument is invalid"}),
		// A lone function is taken as the callback, which leaves no message;
		// Chrome then parses it as the message, and cannot serialize it.
		// Firefox takes it as the callback too, and calls it with
		// runtime.lastError set.
		Entry("a lone function", `() => 1`, "Could not serialize message.",
			[]string{"callback", "runtime.sendMessage's message argument is missing"}),
	)

	DescribeTable("runtime.sendMessage delivers the message as JSON makes it",
		Label("MT-11", "firefox-differs"),
		func(ctx SpecContext, message, want, firefox string) {
			w := openWorld(ctx, blank("mt11-json"))
			must(w.worker.Eval(ctx, mtEcho))
			if w.b.Engine() == Firefox {
				// Firefox structured-clones the message: undefined, a Date,
				// a Map, a Set, NaN arrive as they are (the receiver's probe
				// tags them), and a function cannot be cloned: the promise
				// rejects with the DataCloneError.
				if rejected, ok := strings.CutPrefix(firefox, "!"); ok {
					name, msg, _ := strings.Cut(rejected, ": ")
					Expect(otfOutcome(ctx, w.cs, `chrome.runtime.sendMessage(`+message+`)`)).To(Equal([]string{"rejected", name, msg}))
					Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
					return
				}
				must(w.cs.SendMessageJS(ctx, message))
				if firefox == "" {
					Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker).Where("with message undefined", func(e Event) bool { return len(e.Message) == 0 })))
					return
				}
				Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker).WithMessage(json.RawMessage(firefox))))
				return
			}
			Expect(must(w.cs.SendMessageJS(ctx, message))).To(MatchJSON(`{"echo": ` + want + `}`))
			Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker).WithMessage(json.RawMessage(want))))
		},
		Entry("undefined becomes null", `undefined`, `null`, ``),
		Entry("a Date becomes its ISO string", `new Date(0)`, `"1970-01-01T00:00:00.000Z"`, `{"$type": "Date", "value": "1970-01-01T00:00:00.000Z"}`),
		Entry("a Map and a Set become {}", `[new Map([[1, 2]]), new Set([1])]`, `[{}, {}]`, `[{"$type": "Map", "entries": [[1, 2]]}, {"$type": "Set", "values": [1]}]`),
		Entry("undefined and function properties are dropped", `{u: undefined, f() {}, kept: 1}`, `{"kept": 1}`, `!DataCloneError: Function object could not be cloned.`),
		Entry("undefined and functions in arrays become null", `[undefined, () => 1]`, `[null, null]`, `!DataCloneError: Function object could not be cloned.`),
		Entry("NaN and Infinity become null", `[NaN, Infinity]`, `[null, null]`, `[{"$type": "number", "value": "NaN"}, {"$type": "number", "value": "Infinity"}]`),
	)

	DescribeTable("runtime.sendMessage throws a TypeError with the invocation prefix for a message JSON cannot write, and sends nothing",
		Label("MT-11", "firefox-differs"),
		func(ctx SpecContext, message string) {
			// Contrast RM-02: port.postMessage throws a plain Error with no prefix.
			w := openWorld(ctx, blank("mt11-unserializable"))
			must(w.worker.Eval(ctx, mtEcho))
			if w.b.Engine() == Firefox {
				// Firefox structured-clones: a BigInt and a cyclic object
				// arrive; a Symbol cannot be cloned, and the promise rejects
				// with Firefox's sanitized "An unexpected error occurred".
				if message == `Symbol("s")` {
					Expect(otfOutcome(ctx, w.cs, `chrome.runtime.sendMessage(`+message+`)`)).To(Equal([]string{"rejected", "Error", otfUnexpected}))
					Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
					return
				}
				kind := "object"
				if message == `10n` {
					kind = "bigint"
				}
				Expect(otfOutcome(ctx, w.cs, `chrome.runtime.sendMessage(`+message+`).then((r) => typeof r.echo)`)).To(Equal([]string{"resolved", `[object String] "` + kind + `"`}))
				Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker)))
				return
			}
			Expect(mtThrown(ctx, w.cs, `chrome.runtime.sendMessage(`+message+`)`)).To(Equal([]string{"TypeError", sendMessageInvocation + mtNoSerialize}))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
		},
		Entry("a Symbol", `Symbol("s")`),
		Entry("a BigInt", `10n`),
		Entry("a BigInt inside an object", `{n: 1n}`),
		Entry("a cyclic object", `(() => { const o = {}; o.self = o; return o; })()`),
	)

	Describe("the response", Label("MT-12"), func() {
		// answerWith makes the worker answer every message with
		// sendResponse(args); what that threw goes to self.thrown, and a
		// second answer follows it.
		answerWith := func(ctx SpecContext, w world, args string) {
			GinkgoHelper()
			must(w.worker.Eval(ctx, `chrome.runtime.onMessage.addListener((m, s, respond) => {
				try {
					respond(`+args+`);
				} catch (e) {
					self.thrown = e.name + ": " + e.message;
					respond("a second answer");
				}
			}), true`))
		}
		// viaCallback sends a message with a callback and returns what the
		// callback got: the response (undefined as "undefined") and
		// lastError's message.
		viaCallback := func(ctx SpecContext, w world) []any {
			GinkgoHelper()
			return must(EvalAs[[]any](ctx, w.cs, `new Promise((resolve) => chrome.runtime.sendMessage("again", (r) => {
				resolve([r === undefined ? "undefined" : r, chrome.runtime.lastError ? chrome.runtime.lastError.message : "no lastError"]);
			}))`))
		}

		DescribeTable("arrives as JSON makes it, sendResponse(undefined) and sendResponse() as null",
			Label("firefox-differs"),
			func(ctx SpecContext, args, want string) {
				w := openWorld(ctx, blank("mt12-response-json"))
				answerWith(ctx, w, args)
				if w.b.Engine() == Firefox {
					// Firefox structured-clones the answer: undefined stays
					// undefined, a Date, a Map and NaN arrive as they are;
					// the function property is left out.
					if args == "" || args == "undefined" {
						Expect(must(w.cs.SendMessage(ctx, "answer"))).To(BeNil())
						Expect(viaCallback(ctx, w)).To(Equal([]any{"undefined", "no lastError"}))
						return
					}
					Expect(must(EvalAs[[]any](ctx, w.cs, `chrome.runtime.sendMessage("answer").then((r) => [Object.keys(r).join(","), r.d instanceof Date, r.m instanceof Map && r.m.get(1), Object.hasOwn(r, "u") && r.u === undefined, Number.isNaN(r.n), r.a.length, 0 in r.a && r.a[0] === undefined, 1 in r.a])`))).
						To(Equal([]any{"d,m,u,n,a", true, float64(2), true, true, float64(2), true, false}))
					return
				}
				Expect(must(w.cs.SendMessage(ctx, "answer"))).To(MatchJSON(want))
				Expect(viaCallback(ctx, w)).To(Equal([]any{mustJSON(want), "no lastError"}))
			},
			Entry("a rich object", `{d: new Date(0), m: new Map([[1, 2]]), u: undefined, f() {}, n: NaN, a: [undefined, () => 1]}`,
				`{"d": "1970-01-01T00:00:00.000Z", "m": {}, "n": null, "a": [null, null]}`),
			Entry("sendResponse(undefined)", `undefined`, `null`),
			Entry("sendResponse()", ``, `null`),
		)

		DescribeTable("that JSON cannot write makes sendResponse throw a TypeError, rejects the sender with the same text, and no later answer arrives",
			Label("firefox-differs"),
			func(ctx SpecContext, args string) {
				w := openWorld(ctx, blank("mt12-response-unserializable"))
				answerWith(ctx, w, args)
				if w.b.Engine() == Firefox {
					// Firefox's sendResponse throws nothing. It
					// structured-clones: a BigInt and a cyclic object arrive;
					// a function or a Symbol cannot be cloned on the way, and
					// the sender fails with NO_RECEIVER.
					if args == `() => 1` || args == `Symbol()` {
						_, err := w.cs.SendMessage(ctx, "answer")
						Expect(jsText(err)).To(Equal("Error: " + noReceiver))
						Expect(viaCallback(ctx, w)).To(Equal([]any{"undefined", noReceiver}))
					} else {
						kind := "object"
						if args == `1n` {
							kind = "bigint"
						}
						Expect(otfOutcome(ctx, w.cs, `chrome.runtime.sendMessage("answer").then((r) => typeof r)`)).To(Equal([]string{"resolved", `[object String] "` + kind + `"`}))
					}
					Expect(must(EvalAs[string](ctx, w.worker, `typeof self.thrown`))).To(Equal("undefined"))
					Expect(w.b.Trace()).NotTo(HaveEvent(Response().In(w.cs).WithMessage("a second answer")))
					return
				}
				_, err := w.cs.SendMessage(ctx, "answer")
				Expect(jsText(err)).To(Equal("Error: " + mtNoSerialize))
				Expect(must(EvalAs[string](ctx, w.worker, `self.thrown`))).To(Equal("TypeError: " + mtNoSerialize))
				Expect(viaCallback(ctx, w)).To(Equal([]any{"undefined", mtNoSerialize}))
				Expect(w.b.Trace()).NotTo(HaveEvent(Response().In(w.cs).WithMessage("a second answer")))
			},
			Entry("a function", `() => 1`),
			Entry("a Symbol", `Symbol()`),
			Entry("a BigInt", `1n`),
			Entry("a cyclic object", `(() => { const o = {}; o.o = o; return o; })()`),
		)
	})

	Describe("a response of 64 MiB", Label("MT-13", "RZ-01"), func() {
		// The web page asks, the worker's own listener answers with a String
		// object of n characters; the page has no probe, so 64 MiB never
		// enters the trace (the worker's probe traces a String object as
		// {"$type":"String"}).
		sizedAnswers := func(name string) ext {
			return blank(name).
				With("externally_connectable", map[string]any{"matches": []string{"http://127.0.0.1/*"}}).
				WithFile("worker.js", `chrome.runtime.onMessageExternal.addListener((n, s, respond) => {
	try {
		respond(new String("a".repeat(n)));
	} catch (e) {
		self.thrown = e.name + ": " + e.message;
		respond("a second answer");
	}
});
`)
		}
		ask := func(ctx SpecContext, w world, n string) []any {
			GinkgoHelper()
			return mtWebResult(ctx, w.tab, `chrome.runtime.sendMessage(`+strconv.Quote(w.ext.ID)+`, `+n+`).then((r) => [typeof r, r.length])`)
		}

		It("arrives when its JSON is exactly 64 MiB", Label("firefox-differs"), bigMessageTimeout(), func(ctx SpecContext) {
			w := openWorld(ctx, sizedAnswers("mt13-response-at-limit"))
			if mtNoWebMessaging(ctx, w) {
				return
			}
			Expect(ask(ctx, w, `64 * 1024 * 1024 - 2`)).To(Equal([]any{"resolved", []any{"string", float64(maxMessage - 2)}}))
		})

		It("one byte over: sendResponse throws a TypeError, the sender's promise rejects with the size error, and no later answer arrives", Label("firefox-differs"), bigMessageTimeout(), func(ctx SpecContext) {
			w := openWorld(ctx, sizedAnswers("mt13-response-too-big"))
			if mtNoWebMessaging(ctx, w) {
				return
			}
			Expect(ask(ctx, w, `64 * 1024 * 1024 - 1`)).To(Equal([]any{"rejected", mtTooBig}))
			Expect(must(EvalAs[string](ctx, w.worker, `self.thrown`))).To(Equal("TypeError: " + mtTooBig))
		})
	})

	It("wakes a stopped worker, whose top-level listener gets the message and answers", Label("MT-14"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("mt14-wake").WithFile("worker.js", mtEcho+"\n"))
		Expect(w.ext.StopWorker(ctx)).To(Succeed())
		Expect(w.worker.Gone()).To(BeTrue())
		Expect(must(w.cs.SendMessage(ctx, "wake up"))).To(MatchJSON(`{"echo": "wake up"}`))
		restarted := must(w.ext.Worker(ctx))
		Expect(restarted).NotTo(BeIdenticalTo(w.worker))
		Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(restarted).WithMessage("wake up")))
	})

	It("is not available to a web page's own world without externally_connectable", Label("MT-15", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("mt15-no-web"))
		if mtNoWebMessaging(ctx, w) {
			return
		}
		// The extension's content script runs in the tab; the page's own
		// world has a chrome object but no chrome.runtime.
		Expect(must(w.tab.Eval(ctx, `[typeof chrome, typeof chrome.runtime]`))).To(MatchJSON(`["object", "undefined"]`))
	})

	DescribeTable("tabs.sendMessage throws a TypeError at the call for bad arguments",
		Label("MT-16", "firefox-differs"),
		func(ctx SpecContext, args, detail, firefox string) {
			w := openWorld(ctx, blank("mt16-tabs-arguments"))
			must(w.cs.Eval(ctx, mtEcho))
			args = strings.ReplaceAll(args, "TAB", strconv.Itoa(must(w.tab.ChromeID(ctx))))
			want := []string{"TypeError", strings.TrimPrefix(mtTabsInvocation, "TypeError: ") + detail}
			if w.b.Engine() == Firefox {
				// Firefox's schema checks throw a plain Error, in its own
				// words ("Type error for parameter ...", "Incorrect argument
				// types for ...": toolkit/components/extensions/Schemas.sys.mjs).
				want = []string{"Error", firefox}
			}
			Expect(mtThrown(ctx, w.worker, `chrome.tabs.sendMessage(`+args+`)`)).To(Equal(want))
			Expect(w.b.Trace()).To(HaveEvent(Exception().In(w.worker).Via("tabs.sendMessage")))
			Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
		},
		Entry("a negative tabId", `-1, "hi"`, "Error at parameter 'tabId': Value must be at least 0.",
			"Type error for parameter tabId (Integer -1 is too small (must be at least 0)) for tabs.sendMessage."),
		Entry("a negative frameId", `TAB, "hi", {frameId: -1}`, "Error at parameter 'options': Error at property 'frameId': Value must be at least 0.",
			"Type error for parameter options (Error processing frameId: Integer -1 is too small (must be at least 0)) for tabs.sendMessage."),
		Entry("a string tabId", `"1", "hi"`, "No matching signature.",
			"Incorrect argument types for tabs.sendMessage."),
		Entry("no message", `TAB`, "No matching signature.",
			"Incorrect argument types for tabs.sendMessage."),
		Entry("an options property tabs.sendMessage does not have", `TAB, "hi", {name: "x"}`, "Error at parameter 'options': Unexpected property: 'name'.",
			`Type error for parameter options (Unexpected property "name") for tabs.sendMessage.`),
	)

	Describe("the 64 MiB limit on the message", Label("RZ-01"), func() {
		DescribeTable("refuses a message whose JSON is over 64 MiB with a TypeError at the call, and sends nothing",
			Label("firefox-differs"),
			func(ctx SpecContext, message string) {
				w := openWorld(ctx, blank("rz01-too-big"))
				must(w.worker.Eval(ctx, mtEcho))
				if w.b.Engine() == Firefox {
					// Firefox has no 64 MiB limit on a one-time message: it
					// arrives whole (a String object, structured-cloned), and
					// the sender's promise resolves.
					must(w.worker.Eval(ctx, `(chrome.runtime.onMessage.addListener((m) => { self.gotLength = m.length; }), true)`))
					length := must(EvalAs[int](ctx, w.cs, `(`+message+`).length`))
					Expect(otfOutcome(ctx, w.cs, `chrome.runtime.sendMessage(`+message+`).then(() => "answered")`)).To(Equal([]string{"resolved", `[object String] "answered"`}))
					Expect(must(EvalAs[int](ctx, w.worker, `self.gotLength`))).To(Equal(length))
					Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker).WithMessage(map[string]any{"$type": "String"})))
					Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
					return
				}
				_, err := w.cs.SendMessageJS(ctx, message)
				want := "TypeError: " + sendMessageInvocation + mtTooBig
				Expect(jsText(err)).To(Equal(want))
				Expect(w.b.Trace()).To(HaveEvent(Exception().In(w.cs).WithError(want).Via("runtime.sendMessage")))
				Expect(w.b.Trace()).NotTo(HaveEvent(SendMessage()))
				// A later message arrives, and is the only one that did.
				Expect(must(w.cs.SendMessage(ctx, "after"))).To(MatchJSON(`{"echo": "after"}`))
				Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker).WithMessage("after")))
				Expect(countOf(w.b, OnMessage().In(w.worker))()).To(Equal(1))
			},
			Entry("one byte over: 64 MiB - 1 ASCII characters and two quotes", bigMessageTimeout(), `new String("a".repeat(64 * 1024 * 1024 - 1))`),
			// 32 Mi characters are under 64 Mi UTF-16 units but over 64 MiB of
			// UTF-8: Chrome counts bytes.
			Entry("32 Mi two-byte characters", bigMessageTimeout(), `new String("é".repeat(32 * 1024 * 1024))`),
		)

		It("lets a message whose JSON is exactly 64 MiB past the check: with nothing listening it fails with NO_RECEIVER, not the size error", bigMessageTimeout(), func(ctx SpecContext) {
			// Nothing listens, so the 64 MiB goes no further than the browser
			// process and is never traced; MT-13 delivers 64 MiB as a response.
			w := openWorld(ctx, blank("rz01-at-limit"))
			_, err := w.cs.SendMessageJS(ctx, `new String("a".repeat(64 * 1024 * 1024 - 2))`)
			Expect(jsText(err)).To(Equal("Error: " + noReceiver))
			Expect(w.b.Trace()).To(HaveEvent(SendMessage().In(w.cs).WithMessage(map[string]any{"$type": "String"})))
			Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		})
	})

	It("tabs.sendMessage reaches only the tab's current page, not the one in the back/forward cache, not even after it is restored", Label("RT-06"), func(ctx SpecContext) {
		// The prerendering half of RT-06 cannot be shown under the harness:
		// Chrome does not prerender while DevTools is attached to the page
		// targets (Preload.prerenderStatusUpdated: PrerenderingDisabledByDevTools).
		e := blank("rt06-primary-only").
			WithFile("cs.js", `self.got = []; chrome.runtime.onMessage.addListener((m, s, respond) => { self.got.push(m); respond(location.pathname); });`+"\n")
		w := openWorldAlone(ctx, e)
		if w.b.Engine() == Firefox {
			Skip("Firefox: harness cannot yet follow a tab's navigation: after Tab.Navigate to /rt06-next, Extension.ContentScript(tab) still returns the first page's content script (URL http://127.0.0.1:<port>/)")
		}
		tabID := must(w.tab.ChromeID(ctx))
		Expect(must(w.worker.SendTabMessage(ctx, tabID, "before"))).To(MatchJSON(`"/"`))

		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/rt06-next"))).To(Succeed())
		current := must(w.ext.ContentScript(ctx, w.tab))
		Expect(current.URL).To(HaveSuffix("/rt06-next"))
		Expect(must(w.worker.SendTabMessage(ctx, tabID, "while cached"))).To(MatchJSON(`"/rt06-next"`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(current).WithMessage("while cached")))

		Expect(w.tab.Back(ctx)).To(Succeed())
		restored := must(w.ext.ContentScript(ctx, w.tab))
		// The restored world still has what it got before it was cached (a
		// reload would have a new, empty list), and never got the message
		// sent meanwhile.
		Consistently(func() []string { return must(EvalAs[[]string](ctx, restored, `self.got`)) }).Should(Equal([]string{"before"}))
		Expect(countOf(w.b, OnMessage().WithMessage("while cached"))()).To(Equal(1))
		// Restored, it is the primary page again.
		Expect(must(w.worker.SendTabMessage(ctx, tabID, "after the restore"))).To(MatchJSON(`"/"`))
	})

	It("reaches no content script in a fenced frame: Chrome 156 cannot load a document in one", Label("RS-13", "differs", "firefox-differs"), func(ctx SpecContext) {
		// Catalog: a content script in a fenced frame can connect and send,
		// with a positive frameId (T/connect_fenced_frames, which navigates a
		// <fencedframe> with a FencedFrameConfig). Chrome 156 keeps the
		// element only as a stub (fenced frames are being removed with the
		// Privacy Sandbox APIs that could navigate them): new
		// FencedFrameConfig(url) is an illegal constructor (also with
		// --enable-features=FencedFrames,FencedFramesDeveloperMode), the
		// element's config is null, and its src loads nothing. So no content
		// script runs in it, and nothing there can send.
		w := openWorld(ctx, mtFramesExt("rs13-fenced"))
		if w.b.Engine() == Firefox {
			// Firefox has no fenced frames at all: <fencedframe> is an
			// unknown element, which loads nothing. The page has no iframe
			// here (the harness cannot yet open a page whose iframes run
			// the content script: mtSkipFramesOnFirefox); its main frame's
			// content script says hello.
			w.b.Pages().Handle("/rs13-top-ff", `<!doctype html><title>top</title>
<fencedframe id="ff" src="/rs13-fenced" width="300" height="150"></fencedframe>`)
			tab := must(w.b.OpenTab(ctx, w.b.Pages().URL("/rs13-top-ff")))
			Expect(must(tab.Eval(ctx, `[typeof HTMLFencedFrameElement, typeof FencedFrameConfig, Object.prototype.toString.call(document.getElementById("ff"))]`))).
				To(MatchJSON(`["undefined", "undefined", "[object HTMLUnknownElement]"]`))
			Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker).WithMessage(map[string]any{"hello": "/rs13-top-ff"})))
			Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnMessage().WithMessage(map[string]any{"hello": "/rs13-fenced"})))
			return
		}
		w.b.Pages().Handle("/rs13-top", `<!doctype html><title>top</title>
<fencedframe id="ff" src="/rs13-fenced" width="300" height="150"></fencedframe>
<iframe src="/rs13-iframe"></iframe>`)
		tab := must(w.b.OpenTab(ctx, w.b.Pages().URL("/rs13-top")))
		Expect(must(tab.Eval(ctx, `(() => {
			const ff = document.getElementById("ff");
			let constructed;
			try {
				new FencedFrameConfig(location.origin + "/rs13-fenced");
				constructed = "constructed";
			} catch (e) {
				constructed = e.name + ": " + e.message;
			}
			return [typeof HTMLFencedFrameElement, ff instanceof HTMLFencedFrameElement, ff.config, constructed];
		})()`))).To(MatchJSON(`["function", true, null, "TypeError: Failed to construct 'FencedFrameConfig': Illegal constructor"]`))
		// The iframe's content script says hello: the page's frames have
		// loaded; the fenced frame's never does.
		Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker).WithMessage(map[string]any{"hello": "/rs13-iframe"})))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnMessage().WithMessage(map[string]any{"hello": "/rs13-fenced"})))
		Expect(tab.Frames()).NotTo(ContainElement(HaveField("URL", w.b.Pages().URL("/rs13-fenced"))))
	})
})

// mustJSON decodes JSON text as a spec compares it: numbers are float64.
func mustJSON(text string) any {
	GinkgoHelper()
	var v any
	Expect(json.Unmarshal([]byte(text), &v)).To(Succeed())
	return v
}
