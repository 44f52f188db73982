package specs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/portprobe/portprobe/probetest"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// mxInvocation is the start of every argument error that runtime.sendMessage
// throws.
const mxInvocation = "TypeError: Error in invocation of runtime.sendMessage(optional string extensionId, any message, optional object options, optional function callback): "

// mxNoReceiver is how a sender's promise rejects when nothing receives its
// message (catalog NO_RECEIVER), as Go gets it (*JSError.Text).
const mxNoReceiver = "Error: " + noReceiver

// mxWebPageNeedsID is Chrome's error when a web page calls sendMessage without
// an extension ID.
const mxWebPageNeedsID = "chrome.runtime.sendMessage() called from a webpage must specify an Extension ID (string) for its first argument."

// mxCouldNotSerialize is the error of a message the sender's serialization
// format cannot carry.
const mxCouldNotSerialize = mxInvocation + "Could not serialize message."

// mxEchoExternal answers every external message at once with {external: m}.
const mxEchoExternal = `(message, sender, sendResponse) => { sendResponse({external: message}); }`

// mxListen adds listener (JavaScript source of a function) to the realm's
// runtime.onMessageExternal, or to the event named by on.
func mxListen(ctx SpecContext, r *Realm, listener string, on ...string) {
	GinkgoHelper()
	event := "onMessageExternal"
	if len(on) > 0 {
		event = on[0]
	}
	must(r.Eval(ctx, "chrome.runtime."+event+".addListener("+listener+")"))
}

// mxWebTarget is a keyed extension with only a worker, whose
// externally_connectable key admits the local page server, with more manifest
// keys.
func mxWebTarget(name string, manifest map[string]any) probetest.Built {
	GinkgoHelper()
	m := map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}}}
	for k, v := range manifest {
		m[k] = v
	}
	return rxWorkerOnly(name, m)
}

// mxSenderKeys returns the sorted keys of a sender.
func mxSenderKeys(sender map[string]any) []string {
	keys := []string{}
	for k := range sender {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mxOpenIncognito opens url in a new incognito window through
// chrome.windows.create in the realm (an extension's worker) and returns the
// tab, with what windows.create resolved to as JSON.
func mxOpenIncognito(ctx SpecContext, b *Browser, r *Realm, url string) (*Tab, string) {
	GinkgoHelper()
	created := must(r.Eval(ctx, fmt.Sprintf(`chrome.windows.create({incognito: true, url: %q})`, url)))
	return must(b.WaitTab(ctx, url)), string(created)
}

// One-time messages to another extension (runtime.onMessageExternal), from
// extensions and from web pages: portprobe's own catalog,
// docs/catalog/external-message.md.
var _ = Describe("external one-time messages", Label("external-message"), func() {
	It("fire onMessageExternal in the other extension, never its onMessage, with the caller's ID and script URL as sender", Label("MX-01", "firefox-differs"), func(ctx SpecContext) {
		caller := rxCaller("mx01-caller")
		w := openWorld(ctx, blank("mx01-target"), caller)
		mxListen(ctx, w.worker, `(m, s, sendResponse) => { sendResponse("from onMessage"); }`, "onMessage")
		mxListen(ctx, w.worker, `(m, s, sendResponse) => { sendResponse("from onMessageExternal"); }`)
		callerID := caller.IDIn(w.b)
		resp := must(rxWorkerOf(ctx, w.b, callerID).SendMessage(ctx, w.ext.ID, greeting("hi")))
		Expect(resp).To(MatchJSON(`"from onMessageExternal"`))
		sender := senderOf(w.b, OnMessageExternal().In(w.worker).WithMessage(greeting("hi")))
		if w.b.Engine() == Firefox {
			// Firefox: the sender is the caller's generated background
			// page, with its origin, documentId, contextId and envType too.
			callerExt := must(w.b.Extension(callerID))
			Expect(mxSenderKeys(sender)).To(Equal([]string{"contextId", "documentId", "envType", "id", "origin", "url"}))
			Expect(sender).To(HaveKeyWithValue("id", callerID))
			Expect(sender).To(HaveKeyWithValue("url", rxBackgroundURL(w.b, callerExt)))
			Expect(sender).To(HaveKeyWithValue("envType", "addon_child"))
			Expect(sender).To(HaveKeyWithValue("origin", strings.TrimSuffix(callerExt.URL(""), "/")))
		} else {
			Expect(sender).To(Equal(map[string]any{
				"id":  caller.ID,
				"url": "chrome-extension://" + caller.ID + "/worker.js",
			}))
		}
		// The receiver's events come in order: its reply is traced after
		// any onMessage it would have had.
		Eventually(w.b.Trace()).Should(HaveEvent(Reply().In(w.worker).ByListener(2)))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
	})

	It("from another extension's content script carry that extension's ID with the tab and frame fields", Label("MX-02", "firefox-differs"), func(ctx SpecContext) {
		caller := rxCaller("mx02-caller")
		w := openWorld(ctx, blank("mx02-target"), caller)
		mxListen(ctx, w.worker, mxEchoExternal)
		callerID := caller.IDIn(w.b)
		cs := must(must(w.b.Extension(callerID)).ContentScript(ctx, w.tab))
		Expect(must(cs.SendMessage(ctx, w.ext.ID, "from-cs"))).To(MatchJSON(`{"external": "from-cs"}`))
		sender := senderOf(w.b, OnMessageExternal().In(w.worker).WithMessage("from-cs"))
		pageURL := w.b.Pages().URL("/")
		u := must(url.Parse(pageURL))
		if w.b.Engine() == Firefox {
			// Firefox: no documentLifecycle; contextId and envType
			// "content_child" besides.
			Expect(mxSenderKeys(sender)).To(Equal([]string{"contextId", "documentId", "envType", "frameId", "id", "origin", "tab", "url"}))
			Expect(sender).To(HaveKeyWithValue("envType", "content_child"))
		} else {
			Expect(mxSenderKeys(sender)).To(Equal([]string{"documentId", "documentLifecycle", "frameId", "id", "origin", "tab", "url"}))
			Expect(sender).To(HaveKeyWithValue("documentLifecycle", "active"))
		}
		Expect(sender).To(HaveKeyWithValue("id", callerID))
		Expect(sender).To(HaveKeyWithValue("url", pageURL))
		Expect(sender).To(HaveKeyWithValue("origin", u.Scheme+"://"+u.Host))
		Expect(sender).To(HaveKeyWithValue("frameId", 0.0))
		Expect(sender["tab"]).To(HaveKeyWithValue("url", pageURL))
	})

	It("to an extension with onMessage but no onMessageExternal listener, reject with NO_RECEIVER", Label("MX-03"), func(ctx SpecContext) {
		caller := rxCaller("mx03-caller")
		w := openWorld(ctx, blank("mx03-target"), caller)
		mxListen(ctx, w.worker, `(m, s, sendResponse) => { sendResponse("internal"); }`, "onMessage")
		_, err := rxWorkerOf(ctx, w.b, caller.IDIn(w.b)).SendMessage(ctx, w.ext.ID, "unheard")
		Expect(jsText(err)).To(Equal(mxNoReceiver))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnMessage()))
	})

	It("to a well-formed ID that is not installed, or an installed ID in upper case, reject with NO_RECEIVER and throw nothing", Label("MX-04"), func(ctx SpecContext) {
		caller := rxCaller("mx04-caller")
		w := openWorld(ctx, blank("mx04-target"), caller)
		mxListen(ctx, w.worker, mxEchoExternal)
		callerWorker := rxWorkerOf(ctx, w.b, caller.IDIn(w.b))
		for _, id := range []string{strings.Repeat("c", 32), strings.ToUpper(w.ext.ID)} {
			_, err := callerWorker.SendMessage(ctx, id, "to-nobody")
			Expect(jsText(err)).To(Equal(mxNoReceiver), "to %s", id)
		}
		// The callback form gets the same text as runtime.lastError.
		must(callerWorker.SendMessageJS(ctx, fmt.Sprintf(`%q, "by-callback", () => {}`, strings.Repeat("c", 32))))
		Eventually(w.b.Trace()).Should(HaveEvent(Response().In(callerWorker).Via("callback").WithError(noReceiver)))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		Expect(w.b.Trace().Count(SendMessage().In(callerWorker))).To(Equal(3))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnMessageExternal()))
	})

	DescribeTable("to a malformed ID, throw a TypeError at once, before anything is sent",
		Label("MX-05", "firefox-differs"),
		func(ctx SpecContext, id string) {
			caller := rxWorkerOnly("mx05-caller", nil)
			b := launch(ctx, caller.Dir)
			worker := rxWorkerOf(ctx, b, caller.IDIn(b))
			if b.Engine() == Firefox {
				// Firefox checks no form of extension ID (its add-on IDs
				// are email-like strings or GUIDs): the message is sent,
				// and the promise rejects with NO_RECEIVER. Nothing throws.
				_, err := worker.SendMessage(ctx, id, "x")
				Expect(jsText(err)).To(Equal(mxNoReceiver))
				Expect(must(EvalAs[string](ctx, worker, fmt.Sprintf(`(() => {
					try { chrome.runtime.sendMessage(%q, "x").catch(() => {}); return "returned"; } catch (e) { return "threw " + e.name; }
				})()`, id)))).To(Equal("returned"))
				Eventually(countOf(b, SendMessage().In(worker).To("extensionId", id))).Should(Equal(2))
				Eventually(b.Trace()).Should(HaveEvent(Response().In(worker).Via("promise").WithError(noReceiver)))
				Expect(b.Trace()).NotTo(HaveEvent(Exception()))
				return
			}
			want := mxInvocation + "Invalid extension id: '" + id + "'"
			_, err := worker.SendMessage(ctx, id, "x")
			Expect(jsText(err)).To(Equal(want))
			// Thrown, not a rejected promise: the call never returned.
			Expect(must(EvalAs[string](ctx, worker, fmt.Sprintf(`(() => {
				try { chrome.runtime.sendMessage(%q, "x"); return "returned"; } catch (e) { return "threw " + e.name; }
			})()`, id)))).To(Equal("threw TypeError"))
			Eventually(b.Trace()).Should(HaveEvent(Exception().In(worker).WithError(want)))
			Expect(b.Trace()).NotTo(HaveEvent(SendMessage()))
		},
		Entry("a short word", "foo"),
		Entry("31 letters", strings.Repeat("c", 31)),
		Entry("33 letters", strings.Repeat("c", 33)),
		Entry("32 letters outside a-p", strings.Repeat("q", 32)),
	)

	DescribeTable("give the sender what the other extension's listener answers",
		Label("MX-06"),
		func(ctx SpecContext, listener, keptOpen string) {
			caller := rxCaller("mx06-caller")
			w := openWorld(ctx, blank("mx06-target"), caller)
			mxListen(ctx, w.worker, listener)
			resp := must(rxWorkerOf(ctx, w.b, caller.IDIn(w.b)).SendMessage(ctx, w.ext.ID, "ask"))
			Expect(resp).To(MatchJSON(`{"echo": "ask"}`))
			if keptOpen != "" {
				Eventually(w.b.Trace()).Should(HaveEvent(KeepOpen().In(w.worker).Via(keptOpen)))
			}
		},
		Entry("sendResponse at once", `(m, s, sendResponse) => { sendResponse({echo: m}); }`, ""),
		Entry("return true, then sendResponse later", `(m, s, sendResponse) => { setTimeout(() => sendResponse({echo: m}), 0); return true; }`, "true"),
		Entry("return a promise", `async (m) => ({echo: m})`, "promise"),
	)

	It("that no listener answers resolve to undefined, or give the callback runtime.lastError 'The message port closed before a response was received.'", Label("MX-07", "firefox-differs"), func(ctx SpecContext) {
		caller := rxCaller("mx07-caller")
		w := openWorld(ctx, blank("mx07-target"), caller)
		mxListen(ctx, w.worker, `() => {}`)
		callerWorker := rxWorkerOf(ctx, w.b, caller.IDIn(w.b))
		Expect(must(callerWorker.SendMessage(ctx, w.ext.ID, "by-promise"))).To(BeNil())
		Eventually(w.b.Trace()).Should(HaveEvent(Response().In(callerWorker).Via("promise").WithoutError()))
		must(callerWorker.SendMessageJS(ctx, fmt.Sprintf(`%q, "by-callback", () => {}`, w.ext.ID)))
		if w.b.Engine() == Firefox {
			// Firefox calls the callback with undefined, as the promise
			// resolves, and sets no runtime.lastError.
			Eventually(w.b.Trace()).Should(HaveEvent(Response().In(callerWorker).Via("callback").WithoutError()))
			return
		}
		Eventually(w.b.Trace()).Should(HaveEvent(Response().In(callerWorker).Via("callback").
			WithError("The message port closed before a response was received.")))
	})

	DescribeTable("reject with the other extension's listener error",
		Label("MX-08", "firefox-differs"),
		func(ctx SpecContext, listener, chromeSays, firefoxSays string) {
			caller := rxCaller("mx08-caller")
			w := openWorld(ctx, blank("mx08-target"), caller)
			mxListen(ctx, w.worker, listener)
			_, err := rxWorkerOf(ctx, w.b, caller.IDIn(w.b)).SendMessage(ctx, w.ext.ID, "fail")
			if w.b.Engine() == Firefox {
				// Firefox takes the message of any object with one, Error
				// or not, and says "An unexpected error occurred" for
				// anything else.
				chromeSays = firefoxSays
			}
			Expect(jsText(err)).To(Equal(chromeSays))
		},
		Entry("a thrown Error: its message", `() => { throw new Error("boom"); }`, "Error: boom", "Error: boom"),
		Entry("a promise rejected with a TypeError: its message, as a plain Error", `() => Promise.reject(new TypeError("bad type"))`, "Error: bad type", "Error: bad type"),
		// The text names runtime.onMessage for onMessageExternal too.
		Entry("a promise rejected with a string", `() => Promise.reject("plain string")`,
			"Error: A runtime.onMessage listener's promise rejected without an Error",
			"Error: An unexpected error occurred"),
		Entry("a promise rejected with an object with a message", `() => Promise.reject({message: "custom"})`,
			"Error: A runtime.onMessage listener's promise rejected without an Error",
			"Error: custom"),
		Entry("a thrown string", `() => { throw "thrown string"; }`,
			"Error: Error message from listener couldn't be parsed or was empty.",
			"Error: An unexpected error occurred"),
	)

	DescribeTable("from extensions, are admitted by the receiver's externally_connectable.ids",
		Label("MX-09", "firefox-differs"),
		func(ctx SpecContext, key func(listed string) map[string]any, listedAdmitted, otherAdmitted bool) {
			listed := rxCaller("mx09-listed")
			other := rxCaller("mx09-other")
			w := openWorld(ctx, blank("mx09-target").With("externally_connectable", key(rxIDBeforeLaunch(listed))), listed, other)
			mxListen(ctx, w.worker, mxEchoExternal)
			if w.b.Engine() == Firefox {
				// Firefox ignores externally_connectable
				// (rxFirefoxIgnoresMatches): every extension is admitted.
				listedAdmitted, otherAdmitted = true, true
			}
			for name, c := range map[string]struct {
				id       string
				admitted bool
			}{"listed": {listed.IDIn(w.b), listedAdmitted}, "other": {other.IDIn(w.b), otherAdmitted}} {
				resp, err := rxWorkerOf(ctx, w.b, c.id).SendMessage(ctx, w.ext.ID, name)
				if c.admitted {
					Expect(err).NotTo(HaveOccurred(), name)
					Expect(resp).To(MatchJSON(fmt.Sprintf(`{"external": %q}`, name)))
				} else {
					// The same error as for an extension that is not installed.
					Expect(jsText(err)).To(Equal(mxNoReceiver), name)
				}
			}
			Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnMessageExternal().Where("from a refused extension", func(e Event) bool {
				var m string
				json.Unmarshal(e.Message, &m)
				return m == "listed" && !listedAdmitted || m == "other" && !otherAdmitted
			})))
		},
		Entry(`"ids": [] refuses every extension`,
			func(string) map[string]any { return map[string]any{"ids": []string{}} }, false, false),
		Entry(`"ids": [listed] admits the listed one only`,
			func(id string) map[string]any { return map[string]any{"ids": []string{id}} }, true, false),
		Entry(`"ids": ["*"] admits every extension`,
			func(string) map[string]any { return map[string]any{"ids": []string{"*"}} }, true, true),
		Entry(`"matches" without "ids" refuses every extension`,
			func(string) map[string]any { return map[string]any{"matches": []string{"http://127.0.0.1/*"}} }, false, false),
	)

	It("reach every extension context of the receiver that listens, not its content scripts, and the first answer wins", Label("MX-10"), func(ctx SpecContext) {
		caller := rxCaller("mx10-caller")
		w := openWorld(ctx, blank("mx10-target"), caller)
		_, page, err := w.ext.OpenPage(ctx, "page.html")
		Expect(err).NotTo(HaveOccurred())
		// The worker keeps the message open until Go answers; the page
		// answers at once.
		Expect(w.worker.ListenMessages(ctx, KindOnMessageExternal)).To(Succeed())
		mxListen(ctx, page, `(m, s, sendResponse) => { sendResponse("from the page"); }`)
		Expect(must(EvalAs[string](ctx, w.cs, `typeof chrome.runtime.onMessageExternal`))).To(Equal("undefined"))

		Expect(must(rxWorkerOf(ctx, w.b, caller.IDIn(w.b)).SendMessage(ctx, w.ext.ID, "to-all"))).To(MatchJSON(`"from the page"`))
		atWorker := eventOf(w.b, OnMessageExternal().In(w.worker).WithMessage("to-all"))
		// The page answered first, but its events come on its own session.
		Eventually(w.b.Trace()).Should(HaveEvent(OnMessageExternal().In(page).WithMessage("to-all")))
		// The worker's later answer is traced but reaches nobody.
		Expect(ReplyTo(atWorker).Send(ctx, "from the worker")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Reply().In(w.worker).WithMessage("from the worker")))
		Expect(w.b.Trace().Count(Response())).To(Equal(1))
		Consistently(countOf(w.b, Response())).Should(Equal(1))
	})

	It("from a web page that externally_connectable.matches lists, fire onMessageExternal with a sender without id, and the page gets the answer", Label("MX-11", "firefox-differs"), func(ctx SpecContext) {
		target := mxWebTarget("mx11-target", nil)
		if options().Browser == Firefox {
			// Firefox: the page has no runtime to send with.
			rxFirefoxIgnoresMatches(ctx, target)
			return
		}
		web := rxOpenWeb(ctx, target)
		worker := rxWorkerOf(ctx, web.b, target.ID)
		mxListen(ctx, worker, `(m, s, sendResponse) => { sendResponse("internal"); }`, "onMessage")
		mxListen(ctx, worker, mxEchoExternal)
		Expect(must(web.page.SendMessage(ctx, target.ID, greeting("from the page")))).To(MatchJSON(`{"external": {"greeting": "from the page"}}`))
		sender := senderOf(web.b, OnMessageExternal().In(worker).WithMessage(greeting("from the page")))
		Expect(mxSenderKeys(sender)).To(Equal([]string{"documentId", "documentLifecycle", "frameId", "origin", "tab", "url"}))
		pageURL := web.b.Pages().URL("/")
		u := must(url.Parse(pageURL))
		Expect(sender).To(HaveKeyWithValue("url", pageURL))
		Expect(sender).To(HaveKeyWithValue("origin", u.Scheme+"://"+u.Host))
		Expect(sender).To(HaveKeyWithValue("frameId", 0.0))
		Expect(sender["tab"]).To(HaveKeyWithValue("url", pageURL))
		Eventually(web.b.Trace()).Should(HaveEvent(Reply().In(worker).ByListener(2)))
		Expect(web.b.Trace()).NotTo(HaveEvent(OnMessage()))
	})

	It("cannot come from a web page that no extension's externally_connectable.matches lists: it has no chrome.runtime", Label("MX-12", "firefox-differs"), func(ctx SpecContext) {
		target := mxWebTarget("mx12-target", nil)
		if options().Browser == Firefox {
			// Firefox: not even a listed page has a runtime.
			rxFirefoxIgnoresMatches(ctx, target)
			return
		}
		b := launch(ctx, target.Dir)
		listed := must(b.OpenTab(ctx, b.Pages().URL("/")))
		Expect(must(EvalAs[string](ctx, must(listed.ProbeWebPage(ctx)), `typeof chrome.runtime.sendMessage`))).To(Equal("function"))
		// The same server under another host name is an origin the
		// pattern does not cover.
		unlisted := must(b.OpenTab(ctx, strings.Replace(b.Pages().URL("/"), "127.0.0.1", "localhost", 1)))
		Expect(rxTypeofRuntime(ctx, unlisted)).To(Equal("undefined"))
	})

	It("from a web page to an extension that does not list it reject with NO_RECEIVER, as to one not installed", Label("MX-13", "firefox-differs"), func(ctx SpecContext) {
		listing := mxWebTarget("mx13-listing", nil)
		noKey := rxWorkerOnly("mx13-no-key", nil)
		elsewhere := rxWorkerOnly("mx13-elsewhere", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://example.com/*"}}})
		if options().Browser == Firefox {
			// Firefox: the page has no runtime to send with.
			rxFirefoxIgnoresMatches(ctx, listing, noKey, elsewhere)
			return
		}
		web := rxOpenWeb(ctx, listing, noKey, elsewhere)
		for _, e := range []probetest.Built{listing, noKey, elsewhere} {
			mxListen(ctx, rxWorkerOf(ctx, web.b, e.ID), mxEchoExternal)
		}
		for name, id := range map[string]string{"no key": noKey.ID, "other matches": elsewhere.ID, "not installed": strings.Repeat("c", 32)} {
			_, err := web.page.SendMessage(ctx, id, "refused")
			Expect(jsText(err)).To(Equal(mxNoReceiver), name)
		}
		// The page itself may send: the extension that lists it answers.
		Expect(must(web.page.SendMessage(ctx, listing.ID, "admitted"))).To(MatchJSON(`{"external": "admitted"}`))
		Consistently(web.b.Trace()).ShouldNot(HaveEvent(OnMessageExternal().WithMessage("refused")))
	})

	DescribeTable("from a web page, need a well-formed extension ID as the first argument, or throw a TypeError",
		Label("MX-14", "firefox-differs"),
		func(ctx SpecContext, args, chromeSays string) {
			target := mxWebTarget("mx14-target", nil)
			if options().Browser == Firefox {
				// Firefox: the page has no runtime to send with.
				rxFirefoxIgnoresMatches(ctx, target)
				return
			}
			web := rxOpenWeb(ctx, target)
			mxListen(ctx, rxWorkerOf(ctx, web.b, target.ID), mxEchoExternal)
			_, err := web.page.SendMessageJS(ctx, args)
			Expect(jsText(err)).To(Equal(mxInvocation + chromeSays))
			Eventually(web.b.Trace()).Should(HaveEvent(Exception().In(web.page).WithError(chromeSays)))
			Expect(web.b.Trace()).NotTo(HaveEvent(SendMessage()))
			Consistently(web.b.Trace()).ShouldNot(HaveEvent(OnMessageExternal()))
		},
		Entry("sendMessage(message)", `"hi"`, mxWebPageNeedsID),
		Entry("sendMessage(undefined, message)", `undefined, "hi"`, mxWebPageNeedsID),
		Entry("sendMessage(null, message)", `null, "hi"`, mxWebPageNeedsID),
		Entry(`sendMessage("", message)`, `"", "hi"`, mxWebPageNeedsID),
		Entry("sendMessage(message, callback)", `"hi", () => {}`, mxWebPageNeedsID),
		Entry(`sendMessage("foo", message)`, `"foo", "hi"`, "Invalid extension id: 'foo'"),
	)

	It("to the sender's own extension ID fire onMessage, not onMessageExternal, from its content script and its pages", Label("MX-15"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("mx15-self"))
		mxListen(ctx, w.worker, `(m, s, sendResponse) => { sendResponse("internal"); }`, "onMessage")
		mxListen(ctx, w.worker, `(m, s, sendResponse) => { sendResponse("external"); }`)
		_, page, err := w.ext.OpenPage(ctx, "page.html")
		Expect(err).NotTo(HaveOccurred())
		for name, r := range map[string]*Realm{"content script": w.cs, "page": page} {
			Expect(must(r.SendMessage(ctx, w.ext.ID, name))).To(MatchJSON(`"internal"`), name)
			Eventually(w.b.Trace()).Should(HaveEvent(SendMessage().In(r).To("extensionId", w.ext.ID)))
			Eventually(w.b.Trace()).Should(HaveEvent(OnMessage().In(w.worker).WithMessage(name).WithSender("id", w.ext.ID)))
		}
		Eventually(countOf(w.b, Reply().In(w.worker).WithMessage("internal").ByListener(1))).Should(Equal(2))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnMessageExternal()))
	})

	It("to the sender's own extension ID never reach the sending context itself: a worker alone gets NO_RECEIVER", Label("MX-16"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("mx16-self"))
		mxListen(ctx, w.worker, `(m, s, sendResponse) => { sendResponse("internal"); }`, "onMessage")
		mxListen(ctx, w.worker, `(m, s, sendResponse) => { sendResponse("external"); }`)
		_, err := w.worker.SendMessage(ctx, w.ext.ID, "to-myself")
		Expect(jsText(err)).To(Equal(mxNoReceiver))
		// The content script reaches the worker with the same ID.
		Expect(must(w.cs.SendMessage(ctx, w.ext.ID, "from-cs"))).To(MatchJSON(`"internal"`))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage().WithMessage("to-myself")))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnMessageExternal()))
	})

	Describe("shared catalog entries", func() {
		Describe("a web page's message in the target's serialization format", Label("RM-14"), func() {
			// mxTypeOfMessage answers with what the listener got, as the
			// receiver's own JavaScript sees it.
			const mxTypeOfMessage = `(m, s, sendResponse) => { sendResponse({
				type: typeof m,
				isMap: m instanceof Map,
				value: m !== null && typeof m === "object" && "value" in m ? m.value : String(m),
			}); }`
			// toJSONHidden is an object whose toJSON (not enumerable, so
			// structured clone can copy it) says "from toJSON".
			const toJSONHidden = `Object.defineProperty({value: "original"}, "toJSON", {value: () => ({value: "from toJSON"}), enumerable: false})`

			It("is JSON toward a JSON target: toJSON is honored, and a BigInt throws", Label("firefox-differs"), func(ctx SpecContext) {
				target := mxWebTarget("rm14-json", nil)
				if options().Browser == Firefox {
					// Firefox: the page has no runtime to send with.
					rxFirefoxIgnoresMatches(ctx, target)
					return
				}
				web := rxOpenWeb(ctx, target)
				mxListen(ctx, rxWorkerOf(ctx, web.b, target.ID), mxTypeOfMessage)
				got := must(web.page.SendMessageJS(ctx, fmt.Sprintf("%q, %s", target.ID, toJSONHidden)))
				Expect(got).To(MatchJSON(`{"type": "object", "isMap": false, "value": "from toJSON"}`))
				got = must(web.page.SendMessageJS(ctx, fmt.Sprintf("%q, new Map([[1, 2]])", target.ID)))
				Expect(got).To(MatchJSON(`{"type": "object", "isMap": false, "value": "[object Object]"}`))
				_, err := web.page.SendMessageJS(ctx, fmt.Sprintf("%q, 123n", target.ID))
				Expect(jsText(err)).To(Equal(mxCouldNotSerialize))
			})

			It("is structured clone toward a structured-clone target: a BigInt and a Map arrive, toJSON is ignored", Label("firefox-differs"), func(ctx SpecContext) {
				target := mxWebTarget("rm14-clone", map[string]any{"message_serialization": "structured_clone"})
				if options().Browser == Firefox {
					// Firefox: the page has no runtime to send with.
					rxFirefoxIgnoresMatches(ctx, target)
					return
				}
				web := rxOpenWeb(ctx, target)
				mxListen(ctx, rxWorkerOf(ctx, web.b, target.ID), mxTypeOfMessage)
				got := must(web.page.SendMessageJS(ctx, fmt.Sprintf("%q, 123n", target.ID)))
				Expect(got).To(MatchJSON(`{"type": "bigint", "isMap": false, "value": "123"}`))
				got = must(web.page.SendMessageJS(ctx, fmt.Sprintf("%q, new Map([[1, 2]])", target.ID)))
				Expect(got).To(MatchJSON(`{"type": "object", "isMap": true, "value": "[object Map]"}`))
				got = must(web.page.SendMessageJS(ctx, fmt.Sprintf("%q, %s", target.ID, toJSONHidden)))
				Expect(got).To(MatchJSON(`{"type": "object", "isMap": false, "value": "original"}`))
			})

			DescribeTable("falls back to JSON toward an extension the page cannot reach, and then fails with NO_RECEIVER, never FORMAT_MISMATCH",
				Label("firefox-differs"),
				func(ctx SpecContext, notConnectable bool) {
					helper := mxWebTarget("rm14-helper", nil) // gives the page chrome.runtime
					exts := []probetest.Built{helper}
					id := strings.Repeat("c", 32)
					if notConnectable {
						hidden := rxWorkerOnly("rm14-hidden", map[string]any{"message_serialization": "structured_clone"})
						exts = append(exts, hidden)
						id = hidden.ID
					}
					if options().Browser == Firefox {
						// Firefox: the page has no runtime to send with.
						rxFirefoxIgnoresMatches(ctx, exts...)
						return
					}
					web := rxOpenWeb(ctx, exts...)
					_, err := web.page.SendMessageJS(ctx, fmt.Sprintf("%q, 123n", id))
					Expect(jsText(err)).To(Equal(mxCouldNotSerialize))
					_, err = web.page.SendMessageJS(ctx, fmt.Sprintf("%q, %s", id, toJSONHidden))
					Expect(jsText(err)).To(Equal(mxNoReceiver))
				},
				Entry("an extension that is not installed", false),
				Entry("an installed structured-clone extension without externally_connectable", true),
			)
		})

		It("reach an extension from an incognito page only when it is allowed in incognito", Label("RX-12", "firefox-differs"), func(ctx SpecContext) {
			// Incognito here is Chrome's own off-the-record profile, opened
			// by chrome.windows.create({incognito: true}) from an extension.
			// (A CDP Target.createBrowserContext context would not do: it is
			// an off-the-record context of its own, not the profile's
			// incognito one where extensions allowed in incognito run.) An
			// extension is allowed in incognito through chrome://extensions'
			// own chrome.developerPrivate; the switch reloads it, and with
			// developer mode off Chrome then disables an unpacked extension
			// (disableReasons.unsupportedDeveloperExtension), so developer
			// mode goes on first. The spec has a browser of its own.
			worker := `chrome.runtime.onMessageExternal.addListener((m, sender, sendResponse) => {
				sendResponse({got: m, incognito: sender.tab.incognito});
			});
			`
			target := func(name string) probetest.Built {
				e := blank(name).WithFile("worker.js", worker)
				e.Manifest = map[string]any{
					"background":             map[string]any{"service_worker": "worker.js", "scripts": []string{"worker.js"}}, // Firefox runs scripts
					"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}},
				}
				e.Keyed = true
				return e.Build(GinkgoTB())
			}
			allowed, denied := target("rx12-allowed"), target("rx12-denied")
			if options().Browser == Firefox {
				// Firefox: no web page has a runtime, in a private window
				// or not (rxFirefoxIgnoresMatches); and an extension that is
				// not allowed in private windows cannot open one.
				b := rxFirefoxIgnoresMatches(ctx, allowed, denied)
				_, err := rxWorkerOf(ctx, b, denied.IDIn(b)).Eval(ctx, fmt.Sprintf(`chrome.windows.create({incognito: true, url: %q})`, b.Pages().URL("/before")))
				Expect(thrownText(err)).To(Equal("Error: Extension does not have permission for incognito mode"))
				return
			}
			b := launchAlone(ctx, allowed.Dir, denied.Dir)
			opener := rxWorkerOf(ctx, b, denied.ID)

			// No extension allowed in incognito: the page has no
			// chrome.runtime, though both extensions list it. An
			// extension not allowed in incognito gets null for the window.
			before, created := mxOpenIncognito(ctx, b, opener, b.Pages().URL("/before"))
			Expect(created).To(Equal("null"))
			Expect(rxTypeofRuntime(ctx, before)).To(Equal("undefined"))
			regular := must(b.OpenTab(ctx, b.Pages().URL("/before")))
			Expect(rxTypeofRuntime(ctx, regular)).To(Equal("object"))

			oldWorker := rxWorkerOf(ctx, b, allowed.ID)
			extensionsPage := must(b.OpenTab(ctx, "chrome://extensions/"))
			must(extensionsPage.Eval(ctx, fmt.Sprintf(`chrome.developerPrivate.updateProfileConfiguration({inDeveloperMode: true})
				.then(() => chrome.developerPrivate.updateExtensionConfiguration({extensionId: %q, incognitoAccess: true}))`, allowed.ID)))
			// The switch reloads the extension: disabled (reloading) a moment.
			Eventually(func() string {
				return string(must(extensionsPage.Eval(ctx, fmt.Sprintf(`chrome.developerPrivate.getExtensionInfo(%q)
					.then((info) => [info.state, info.incognitoAccess.isActive, info.disableReasons.unsupportedDeveloperExtension])`, allowed.ID))))
			}).Should(MatchJSON(`["ENABLED", true, false]`))
			// The reloaded extension's worker has run its top-level code.
			Eventually(func() bool {
				r, err := must(b.Extension(allowed.ID)).Worker(ctx)
				return err == nil && r != oldWorker && !r.Gone()
			}).Should(BeTrue())

			after, _ := mxOpenIncognito(ctx, b, opener, b.Pages().URL("/after"))
			Expect(rxTypeofRuntime(ctx, after)).To(Equal("object"))
			page := must(after.ProbeWebPage(ctx))
			Expect(must(page.SendMessage(ctx, allowed.ID, "hi"))).To(MatchJSON(`{"got": "hi", "incognito": true}`))
			_, err := page.SendMessage(ctx, denied.ID, "hi")
			Expect(jsText(err)).To(Equal(mxNoReceiver))
			Eventually(b.Trace()).Should(HaveEvent(OnMessageExternal().WithMessage("hi").WithSender("tab.incognito", true)))
			Expect(b.Trace().Count(OnMessageExternal())).To(Equal(1))
		})

		It("cannot show MV2 event pages: Chrome 156 refuses to load a Manifest V2 extension", Label("RL-17", "differs", "firefox-differs"), func(ctx SpecContext) {
			// Catalog: an open channel keeps an MV2 event page alive, unlike
			// an MV3 worker. Chrome 156 refuses to load a Manifest V2
			// extension, even unpacked, so there is no event page to keep
			// alive; the spec records the refusal.
			b := launch(ctx)
			mv2 := ext{Name: "rl17-event-page", Manifest: map[string]any{
				"manifest_version": 2,
				"background":       map[string]any{"scripts": []string{"background.js"}, "persistent": false},
			}, Files: map[string]string{"background.js": "chrome.runtime.onConnect.addListener(function () {});\n"}}.Build(GinkgoTB())
			if b.Engine() == Firefox {
				// Firefox still loads Manifest V2 extensions, with their
				// event page.
				loaded := must(b.LoadExtension(ctx, mv2.Dir))
				Expect(loaded.ID).To(Equal(mv2.GeckoID))
				Expect(must(loaded.Worker(ctx)).Kind).To(Equal(BackgroundPageRealm))
				return
			}
			_, err := b.LoadExtension(ctx, mv2.Dir)
			var loadErr *ExtensionLoadError
			Expect(errors.As(err, &loadErr)).To(BeTrue(), "want a load error, got %v", err)
			Expect(loadErr.Chrome).To(Equal("Cannot install extension because it uses an unsupported manifest version."))
			_, err = b.Extension(mv2.ID)
			Expect(err).To(HaveOccurred(), "Chrome has no extension with the MV2 one's ID")
		})
	})
})
