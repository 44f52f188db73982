package specs_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gs "github.com/onsi/gomega/gstruct"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// Chrome's texts for how a one-time message can end, besides noReceiver,
// noResponse and asyncClosed (arguments_test.go). Like those, the sender gets
// them as runtime.lastError.message in the callback form and as the message
// of the Error that rejects the promise form.
const (
	// msRejectedNoError: a listener's promise rejected with something that
	// is no Error. No final period.
	msRejectedNoError = "A runtime.onMessage listener's promise rejected without an Error"
	// msThrewNoError: a listener threw something that is no Error.
	msThrewNoError = "Error message from listener couldn't be parsed or was empty."
	// msNoSerialize: the answer cannot be serialized (also thrown in the
	// listener, as a TypeError).
	msNoSerialize = "Could not serialize message."
)

// msWorld opens a world whose service worker runs worker (worker.js): the
// listeners under test, added before the probe's first flush.
func msWorld(ctx SpecContext, name, worker string) world {
	GinkgoHelper()
	return openWorld(ctx, blank(name).WithFile("worker.js", worker))
}

// msSend calls runtime.sendMessage(args), args written in JavaScript, in r
// and returns its sendMessage event at once, without waiting for the answer:
// with a callback when byCallback, else in the promise form (whose rejection
// is handled). msAnswer waits for what the sender got.
func msSend(ctx SpecContext, b *Browser, r *Realm, args string, byCallback bool) Event {
	GinkgoHelper()
	call := "chrome.runtime.sendMessage(" + args + ").catch(() => {})"
	if byCallback {
		call = "chrome.runtime.sendMessage(" + args + ", () => {})"
	}
	must(r.Eval(ctx, "void "+call))
	// Eval returns once the call's events are in the trace; the last
	// sendMessage of r is this one.
	var sent Event
	for _, e := range b.Trace().Events() {
		if e.Kind == KindSendMessage && e.Realm == r {
			sent = e
		}
	}
	Expect(sent.Port).NotTo(BeZero(), "no sendMessage event for %s", call)
	return sent
}

// msResponseTo matches the response event of the message that sent sent.
func msResponseTo(sent Event) *Query {
	return Response().In(sent.Realm).Where("answering "+sent.PortRef(), func(e Event) bool { return e.Port == sent.Port })
}

// msAnswer waits for what the sender of sent got: the response event, whose
// Message is the callback's argument or the promise's value (empty for
// undefined) and whose Error is runtime.lastError.message or the rejection's
// message.
func msAnswer(b *Browser, sent Event) Event {
	GinkgoHelper()
	return eventOf(b, msResponseTo(sent))
}

// One-time messages: runtime.sendMessage, tabs.sendMessage and
// runtime.onMessage (docs/catalog/send-message.md, IDs MS-nn).
var _ = Describe("one-time messages", Label("send-message"), func() {
	// A. Delivery and sender.
	It("from a content script reach the worker's onMessage with sender id, url, origin, frameId 0, documentId, documentLifecycle \"active\" and tab", Label("MS-01", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-sender-cs", `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("ok"); });`)
		Expect(w.cs.SendMessage(ctx, "from cs")).To(MatchJSON(`"ok"`))
		url := w.b.Pages().URL("/")
		if w.b.Engine() == Firefox {
			// Firefox's MessageSender has no documentLifecycle; it adds
			// contextId and envType "content_child", its documentId is a
			// UUID, and its tab has Firefox's fields (cookieStoreId...).
			// (toolkit/components/extensions/ExtensionChild.sys.mjs: the
			// sender is cloned as the parent made it.)
			Expect(senderOf(w.b, OnMessage().In(w.worker).WithMessage("from cs"))).To(otfContentScriptSender(w, url, senderPageOrigin(w.b), "portprobe test page"))
			return
		}
		Expect(senderOf(w.b, OnMessage().In(w.worker).WithMessage("from cs"))).To(gs.MatchAllKeys(gs.Keys{
			"id":                Equal(w.ext.ID),
			"url":               Equal(url),
			"origin":            Equal(senderPageOrigin(w.b)),
			"frameId":           BeNumerically("==", 0),
			"documentId":        documentIDFormat,
			"documentLifecycle": Equal("active"),
			"tab":               aTab(url, "portprobe test page"),
		}))
	})

	It("from an extension page in a tab carry the page's url and its tab in the sender", Label("MS-02", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-sender-page", `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("ok"); });`)
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page.SendMessage(ctx, "from page")).To(MatchJSON(`"ok"`))
		if w.b.Engine() == Firefox {
			// Firefox: no documentLifecycle, contextId and envType
			// "addon_child" added, a UUID documentId, a moz-extension:// origin.
			Expect(senderOf(w.b, OnMessage().In(w.worker).WithMessage("from page"))).To(otfPageInTabSender(w))
			return
		}
		Expect(senderOf(w.b, OnMessage().In(w.worker).WithMessage("from page"))).To(extPageInTabSender(w))
	})

	It("from the service worker carry only id and the script's url in the sender", Label("MS-03", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("ms-sender-worker"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		must(page.Eval(ctx, `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("ok"); })`))
		Expect(w.worker.SendMessage(ctx, "from worker")).To(MatchJSON(`"ok"`))
		if w.b.Engine() == Firefox {
			// Firefox runs background.scripts in a background page: the
			// sender is that document, with its url, origin, documentId,
			// contextId and envType "addon_child" (no tab, no frameId).
			Expect(senderOf(w.b, OnMessage().In(page).WithMessage("from worker"))).To(otfBackgroundSender(w))
			return
		}
		Expect(senderOf(w.b, OnMessage().In(page).WithMessage("from worker"))).To(gs.MatchAllKeys(gs.Keys{
			"id":  Equal(w.ext.ID),
			"url": Equal(w.ext.URL("worker.js")),
		}))
	})

	It("never reach the sending context's own onMessage, only the other contexts'", Label("MS-04"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("ms-not-self"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		// The page's own listener would answer at once; the worker's
		// answers only when Go says so.
		must(page.Eval(ctx, `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("from the page itself"); })`))
		Expect(w.worker.ListenMessages(ctx, KindOnMessage)).To(Succeed())
		sent := msSend(ctx, w.b, page, `"to the others"`, true)
		received := eventOf(w.b, OnMessage().In(w.worker).WithMessage("to the others"))
		Expect(ReplyTo(received).Send(ctx, "from the worker")).To(Succeed())
		Expect(string(msAnswer(w.b, sent).Message)).To(MatchJSON(`"from the worker"`))
		// The page's events come in order on its session: its
		// listener never ran before the answer came.
		Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage().In(page)))
	})

	It("never fire runtime.onConnect", Label("MS-05"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-no-onconnect", `chrome.runtime.onConnect.addListener(() => { self.connected = true; });
chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("ok"); });`)
		Expect(w.cs.SendMessage(ctx, "one-time")).To(MatchJSON(`"ok"`))
		Eventually(w.b.Trace()).Should(HaveEvent(Reply().In(w.worker)))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect()))
		Expect(must(EvalAs[bool](ctx, w.worker, `self.connected === undefined`))).To(BeTrue())
	})

	// B. Answers.
	It("are answered by sendResponse during the listener: its value resolves the promise and is the callback's argument", Label("MS-06"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-sync-answer", `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse({got: m}); });`)
		Expect(w.cs.SendMessage(ctx, map[string]any{"a": 1})).To(MatchJSON(`{"got": {"a": 1}}`))
		byCallback := msAnswer(w.b, msSend(ctx, w.b, w.cs, `{a: 2}`, true))
		Expect(byCallback.Error).To(BeEmpty(), "no runtime.lastError")
		Expect(string(byCallback.Message)).To(MatchJSON(`{"got": {"a": 2}}`))
		Eventually(w.b.Trace()).Should(HaveEvent(Reply().In(w.worker).Via("sendResponse").ByListener(1)))
	})

	It("are answered later by sendResponse when the listener returned true", Label("MS-07"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("ms-async-answer"))
		// The probe's listener returns true and answers when Go says.
		Expect(w.worker.ListenMessages(ctx, KindOnMessage)).To(Succeed())
		byCallback := msSend(ctx, w.b, w.cs, `"callback"`, true)
		byPromise := msSend(ctx, w.b, w.cs, `"promise"`, false)
		for _, m := range []string{"callback", "promise"} {
			received := eventOf(w.b, OnMessage().In(w.worker).WithMessage(m))
			Expect(w.b.Trace()).To(HaveEvent(KeepOpen().In(w.worker).Via("true")))
			Expect(ReplyTo(received).Send(ctx, "later: "+m)).To(Succeed())
		}
		Expect(string(msAnswer(w.b, byCallback).Message)).To(MatchJSON(`"later: callback"`))
		Expect(string(msAnswer(w.b, byPromise).Message)).To(MatchJSON(`"later: promise"`))
		// Nothing reached the sender before the answer.
		Expect(w.b.Trace()).To(HaveEventsInOrder(
			Reply().In(w.worker).WithMessage("later: callback"),
			msResponseTo(byCallback),
		))
	})

	It("are answered by the value of a promise that the listener returns", Label("MS-08"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-promise-answer", `chrome.runtime.onMessage.addListener((m) => Promise.resolve({resolved: m}));`)
		Expect(w.cs.SendMessage(ctx, "promise")).To(MatchJSON(`{"resolved": "promise"}`))
		byCallback := msAnswer(w.b, msSend(ctx, w.b, w.cs, `"callback"`, true))
		Expect(byCallback.Error).To(BeEmpty())
		Expect(string(byCallback.Message)).To(MatchJSON(`{"resolved": "callback"}`))
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			KeepOpen().In(w.worker).Via("promise").ByListener(1),
			Reply().In(w.worker).Via("promise").ByListener(1).WithMessage(map[string]any{"resolved": "promise"}),
		))
	})

	It("are answered by an async function listener's return value, as webextension-polyfill code writes them", Label("RZ-03", "MS-08"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-async-function", `chrome.runtime.onMessage.addListener(async (m) => "async " + m);`)
		Expect(w.cs.SendMessage(ctx, "hello")).To(MatchJSON(`"async hello"`))
		Eventually(w.b.Trace()).Should(HaveEvent(KeepOpen().In(w.worker).Via("promise")))
	})

	It("get answers serialized like messages: undefined arrives as null, an Error as {}, a Date as its ISO string", Label("MS-09", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-answer-json", `const answers = {
	"undefined": () => undefined,
	"error": () => new Error("an error"),
	"date": () => new Date(0),
};
chrome.runtime.onMessage.addListener((m, s, sendResponse) => {
	if (m === "no argument") sendResponse();
	else if (m === "promise of undefined") return Promise.resolve(undefined);
	else sendResponse(answers[m]());
});`)
		if w.b.Engine() == Firefox {
			// Firefox structured-clones the answer: undefined stays
			// undefined, an Error arrives as an Error with its message, a
			// Date as a Date (ExtensionChild.sys.mjs: the response goes in a
			// StructuredCloneHolder).
			Expect(must(EvalAs[[]string](ctx, w.cs, `Promise.all(["undefined", "no argument", "promise of undefined", "error", "date"].map((m) => chrome.runtime.sendMessage(m)))
				.then((rs) => rs.map((r) => r === undefined ? "undefined" : Object.prototype.toString.call(r) + " " + (r instanceof Date ? r.toISOString() : r.message)))`))).
				To(Equal([]string{"undefined", "undefined", "undefined", "[object Error] an error", "[object Date] 1970-01-01T00:00:00.000Z"}))
			return
		}
		for m, want := range map[string]string{
			"undefined":            `null`,
			"no argument":          `null`,
			"promise of undefined": `null`,
			"error":                `{}`,
			"date":                 `"1970-01-01T00:00:00.000Z"`,
		} {
			Expect(w.cs.SendMessage(ctx, m)).To(MatchJSON(want), "the answer to %q", m)
		}
	})

	It("stay open for an answer only when a listener returns true or a real Promise, not 1, \"true\" or a thenable", Label("MS-10", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-keep-open", `const returns = {
	"one": 1,
	"string": "true",
	"thenable": {then(resolve) { resolve("from the thenable"); }},
};
chrome.runtime.onMessage.addListener((m) => returns[m]);`)
		for _, m := range []string{"one", "string", "thenable"} {
			got := msAnswer(w.b, msSend(ctx, w.b, w.cs, `"`+m+`"`, true))
			if w.b.Engine() == Firefox {
				// Firefox: a message that no listener keeps open is
				// answered with undefined and no runtime.lastError
				// (ExtensionChild.sys.mjs MessageEvent.emit: {received:
				// true, response: false}).
				Expect(got.Error).To(BeEmpty(), "returning %s", m)
				Expect(got.Message).To(BeEmpty(), "returning %s", m)
				continue
			}
			Expect(got.Error).To(Equal(noResponse), "returning %s", m)
		}
		// A keepOpen event would come with its onMessage event.
		Eventually(countOf(w.b, OnMessage().In(w.worker))).Should(Equal(3))
		Expect(w.b.Trace()).NotTo(HaveEvent(KeepOpen()))
	})

	// C. No answer.
	It("with no listener anywhere fail with 'Could not establish connection. Receiving end does not exist.'", Label("MS-11"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("ms-no-listener"))
		_, err := w.cs.SendMessage(ctx, "nobody")
		Expect(jsText(err)).To(Equal("Error: " + noReceiver))
		Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"nobody"`, true)).Error).To(Equal(noReceiver))
	})

	It("that no listener answers give the callback 'The message port closed before a response was received.' and resolve the promise with undefined", Label("MS-12", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-no-answer", `chrome.runtime.onMessage.addListener(() => {});
chrome.runtime.onMessage.addListener(() => false);`)
		Expect(w.cs.SendMessage(ctx, "promise")).To(BeNil())
		byCallback := msAnswer(w.b, msSend(ctx, w.b, w.cs, `"callback"`, true))
		if w.b.Engine() == Firefox {
			// Firefox calls the callback with undefined and no
			// runtime.lastError (ExtensionChild.sys.mjs MessageEvent.emit:
			// {received: true, response: false}).
			Expect(byCallback.Error).To(BeEmpty())
		} else {
			Expect(byCallback.Error).To(Equal(noResponse))
		}
		Expect(byCallback.Message).To(BeEmpty())
	})

	It("ignore a sendResponse called after the listener returned without true, without an error", Label("MS-13", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-late-answer", `self.late = [];
chrome.runtime.onMessage.addListener((m, s, sendResponse) => { self.late.push(sendResponse); });`)
		Expect(w.cs.SendMessage(ctx, "promise")).To(BeNil())
		byCallback := msSend(ctx, w.b, w.cs, `"callback"`, true)
		if w.b.Engine() == Firefox {
			// Firefox: the unanswered callback gets undefined and no
			// runtime.lastError (as in MS-12).
			Expect(msAnswer(w.b, byCallback).Error).To(BeEmpty())
		} else {
			Expect(msAnswer(w.b, byCallback).Error).To(Equal(noResponse))
		}
		// Both senders have their answer: now the listener answers.
		Expect(must(EvalAs[[]bool](ctx, w.worker, `self.late.map((sendResponse) => sendResponse("too late") === undefined)`))).
			To(Equal([]bool{true, true}))
		Eventually(countOf(w.b, Reply().In(w.worker).WithMessage("too late"))).Should(Equal(2))
		Expect(w.b.Trace().Count(Response().In(w.cs))).To(Equal(2))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
	})

	It("whose listener returned true fail with 'A listener indicated an asynchronous response by returning true, but the message channel closed before a response was received' when its page closes", Label("MS-14", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("ms-async-page-closed"))
		pageTab, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page.ListenMessages(ctx, KindOnMessage)).To(Succeed())
		byCallback := msSend(ctx, w.b, w.cs, `"callback"`, true)
		byPromise := msSend(ctx, w.b, w.cs, `"promise"`, false)
		Eventually(countOf(w.b, KeepOpen().In(page).Via("true"))).Should(Equal(2))
		Expect(pageTab.Close(ctx)).To(Succeed())
		if w.b.Engine() == Firefox {
			// Firefox has no text of its own for it: NO_RECEIVER, or the
			// promise that went out of scope (otfClosedPending).
			Expect(msAnswer(w.b, byCallback).Error).To(otfClosedPending)
			Expect(msAnswer(w.b, byPromise).Error).To(otfClosedPending)
			return
		}
		Expect(msAnswer(w.b, byCallback).Error).To(Equal(asyncClosed))
		Expect(msAnswer(w.b, byPromise).Error).To(Equal(asyncClosed))
	})

	It("whose listener returned true fail the same way when its service worker stops", Label("MS-14", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-async-worker-stopped", `chrome.runtime.onMessage.addListener(() => true);`)
		byCallback := msSend(ctx, w.b, w.cs, `"callback"`, true)
		byPromise := msSend(ctx, w.b, w.cs, `"promise"`, false)
		Eventually(countOf(w.b, KeepOpen().In(w.worker).Via("true"))).Should(Equal(2))
		Expect(w.ext.StopWorker(ctx)).To(Succeed())
		if w.b.Engine() == Firefox {
			// Firefox stops the background page: as when a page closes.
			Expect(msAnswer(w.b, byCallback).Error).To(otfClosedPending)
			Expect(msAnswer(w.b, byPromise).Error).To(otfClosedPending)
			return
		}
		Expect(msAnswer(w.b, byCallback).Error).To(Equal(asyncClosed))
		Expect(msAnswer(w.b, byPromise).Error).To(Equal(asyncClosed))
	})

	// D. Several answers.
	It("take the first answer among one context's listeners; later sendResponse calls are ignored without an error", Label("MS-15"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-first-listener-wins", `self.answer = {};
chrome.runtime.onMessage.addListener((m, s, sendResponse) => { self.answer[1] = sendResponse; return true; });
chrome.runtime.onMessage.addListener((m, s, sendResponse) => { self.answer[2] = sendResponse; return true; });`)
		sent := msSend(ctx, w.b, w.cs, `"who answers?"`, true)
		Eventually(w.b.Trace()).Should(HaveEvent(KeepOpen().In(w.worker).ByListener(2)))
		// The second listener answers first.
		must(w.worker.Eval(ctx, `self.answer[2]("from listener 2")`))
		Expect(string(msAnswer(w.b, sent).Message)).To(MatchJSON(`"from listener 2"`))
		Expect(must(EvalAs[bool](ctx, w.worker, `self.answer[1]("from listener 1") === undefined`))).To(BeTrue())
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			Reply().In(w.worker).ByListener(2).WithMessage("from listener 2"),
			msResponseTo(sent).WithMessage("from listener 2"),
			Reply().In(w.worker).ByListener(1).WithMessage("from listener 1"),
		))
		Expect(w.b.Trace().Count(msResponseTo(sent))).To(Equal(1))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
	})

	It("take the first answer among several contexts; the other's answer is dropped", Label("MS-16"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("ms-first-context-wins"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(w.worker.ListenMessages(ctx, KindOnMessage)).To(Succeed())
		Expect(page.ListenMessages(ctx, KindOnMessage)).To(Succeed())
		sent := msSend(ctx, w.b, w.cs, `"to all"`, true)
		inWorker := eventOf(w.b, OnMessage().In(w.worker))
		inPage := eventOf(w.b, OnMessage().In(page))
		Expect(ReplyTo(inPage).Send(ctx, "from the page")).To(Succeed())
		Expect(string(msAnswer(w.b, sent).Message)).To(MatchJSON(`"from the page"`))
		Expect(ReplyTo(inWorker).Send(ctx, "from the worker")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Reply().In(w.worker).WithMessage("from the worker")))
		Expect(w.b.Trace().Count(msResponseTo(sent))).To(Equal(1))
	})

	It("ignore a second call of the same sendResponse, without an error", Label("MS-17"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-answer-twice", `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("first"); sendResponse("second"); });`)
		Expect(w.cs.SendMessage(ctx, "m")).To(MatchJSON(`"first"`))
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			Reply().In(w.worker).ByListener(1).WithMessage("first"),
			Reply().In(w.worker).ByListener(1).WithMessage("second"),
		))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
	})

	It("take a listener's sendResponse during the call over the promise it returns", Label("MS-18", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-sync-beats-promise", `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("sync"); return Promise.resolve("promise"); });`)
		if w.b.Engine() == Firefox {
			// Firefox takes the returned promise: a listener that returns a
			// Promise answers with it, whatever sendResponse got
			// (ExtensionChild.sys.mjs MessageEvent.wrapResponse checks the
			// result first).
			Expect(w.cs.SendMessage(ctx, "m")).To(MatchJSON(`"promise"`))
			Eventually(w.b.Trace()).Should(HaveEventsInOrder(
				Reply().In(w.worker).Via("sendResponse").WithMessage("sync"),
				Reply().In(w.worker).Via("promise").WithMessage("promise"),
			))
			return
		}
		Expect(w.cs.SendMessage(ctx, "m")).To(MatchJSON(`"sync"`))
		Eventually(w.b.Trace()).Should(HaveEvent(Reply().In(w.worker).Via("promise").WithMessage("promise")))
	})

	It("take a promise that settles first over a listener that returned true", Label("MS-18"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-promise-beats-true", `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { self.late = sendResponse; return true; });
chrome.runtime.onMessage.addListener(() => Promise.resolve("promise"));`)
		Expect(w.cs.SendMessage(ctx, "m")).To(MatchJSON(`"promise"`))
		Expect(must(EvalAs[bool](ctx, w.worker, `self.late("late") === undefined`))).To(BeTrue())
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			KeepOpen().In(w.worker).Via("true").ByListener(1),
			KeepOpen().In(w.worker).Via("promise").ByListener(2),
			Reply().In(w.worker).Via("promise").ByListener(2),
			Reply().In(w.worker).Via("sendResponse").ByListener(1).WithMessage("late"),
		))
		Expect(w.b.Trace().Count(Response().In(w.cs))).To(Equal(1))
	})

	// E. Errors.
	It("whose listener's promise rejects with an Error fail with an Error of the same message", Label("MS-19", "differs"), func(ctx SpecContext) {
		// Expected from the source read (OTMH PromiseRejectedResponse,
		// v8::Exception::CreateMessage): the V8 message, "Uncaught
		// Error: nope". Chrome 156 gives the bare message "nope", and the
		// sender's Error is a plain Error even for a TypeError.
		w := msWorld(ctx, "ms-reject-error", `chrome.runtime.onMessage.addListener((m) => Promise.reject(m === "type" ? new TypeError("wrong type") : new Error("nope")));`)
		_, err := w.cs.SendMessage(ctx, "error")
		Expect(jsText(err)).To(Equal("Error: nope"))
		_, err = w.cs.SendMessage(ctx, "type")
		Expect(jsText(err)).To(Equal("Error: wrong type"))
		Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"error"`, true)).Error).To(Equal("nope"))
		Eventually(w.b.Trace()).Should(HaveEvent(Reply().In(w.worker).Via("promise").WithError("nope")))
	})

	It("whose listener's promise rejects with no Error fail with 'A runtime.onMessage listener's promise rejected without an Error'", Label("MS-20", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-reject-non-error", `const reasons = {
	"string": "a string",
	"undefined": undefined,
	"error-like": {message: "not an Error"},
};
chrome.runtime.onMessage.addListener((m) => Promise.reject(reasons[m]));`)
		if w.b.Engine() == Firefox {
			// Firefox takes the reason's message property, whatever the
			// reason is, else "An unexpected error occurred"
			// (ExtensionChild.sys.mjs MessageEvent.unwrapOrSanitizeError).
			for m, want := range map[string]string{"string": otfUnexpected, "undefined": otfUnexpected, "error-like": "not an Error"} {
				_, err := w.cs.SendMessage(ctx, m)
				Expect(jsText(err)).To(Equal("Error: "+want), "rejecting with %s", m)
			}
			Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"string"`, true)).Error).To(Equal(otfUnexpected))
			return
		}
		for _, m := range []string{"string", "undefined", "error-like"} {
			_, err := w.cs.SendMessage(ctx, m)
			Expect(jsText(err)).To(Equal("Error: "+msRejectedNoError), "rejecting with %s", m)
		}
		Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"string"`, true)).Error).To(Equal(msRejectedNoError))
	})

	It("whose listener rejects or throws an Error with an empty message count as unanswered: the callback gets 'The message port closed before a response was received.', the promise undefined", Label("MS-21", "differs", "firefox-differs"), func(ctx SpecContext) {
		// Expected from the source read: the V8 message of the Error,
		// never empty ("Uncaught Error"), as the sender's error. Chrome
		// 156 passes the empty message on, and an empty error closes
		// the channel as if no listener had answered.
		w := msWorld(ctx, "ms-empty-error", `chrome.runtime.onMessage.addListener((m) => {
	if (m === "reject") return Promise.reject(new Error(""));
	throw new Error("");
});`)
		if w.b.Engine() == Firefox {
			// Firefox fails the message with "An unexpected error
			// occurred": an empty message is no message
			// (ExtensionCommon.sys.mjs normalizeError).
			for _, m := range []string{"reject", "throw"} {
				_, err := w.cs.SendMessage(ctx, m)
				Expect(jsText(err)).To(Equal("Error: "+otfUnexpected), "after %s", m)
				Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"`+m+`"`, true)).Error).To(Equal(otfUnexpected), "after %s", m)
			}
			return
		}
		for _, m := range []string{"reject", "throw"} {
			Expect(w.cs.SendMessage(ctx, m)).To(BeNil(), "after %s", m)
			Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"`+m+`"`, true)).Error).To(Equal(noResponse), "after %s", m)
		}
	})

	It("whose listener throws fail with an Error of the same message, and the exception stops in Chrome's dispatch", Label("MS-22", "differs", "firefox-differs"), func(ctx SpecContext) {
		// Expected from the source read (OTMH
		// MaybeGetFirstErrorMessageFromListenerResult) and Chromium's
		// test data (one_time_message_handler_*): "Uncaught Error:
		// boom". Chrome 156 gives the bare message "boom".
		w := msWorld(ctx, "ms-throw", `self.errorEvents = 0;
self.addEventListener("error", () => { self.errorEvents++; });
chrome.runtime.onMessage.addListener(() => { throw new Error("boom"); });`)
		_, err := w.cs.SendMessage(ctx, "promise")
		Expect(jsText(err)).To(Equal("Error: boom"))
		Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"callback"`, true)).Error).To(Equal("boom"))
		// The probe sees the exception leave the listener; Chrome
		// catches it: the worker's error event never fires.
		Eventually(countOf(w.b, Exception().In(w.worker).ByListener(1).Where(`with error "Error: boom"`, func(e Event) bool {
			return e.Error == "Error: boom"
		}))).Should(Equal(2))
		if w.b.Engine() == Firefox {
			// Firefox also reports each exception to the background
			// page's error event.
			Expect(must(EvalAs[int](ctx, w.worker, `self.errorEvents`))).To(Equal(2))
			return
		}
		Expect(must(EvalAs[int](ctx, w.worker, `self.errorEvents`))).To(Equal(0))
	})

	It("whose listener throws no Error fail with 'Error message from listener couldn't be parsed or was empty.'", Label("MS-23", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-throw-non-error", `chrome.runtime.onMessage.addListener((m) => { throw m === "string" ? "a string" : {message: "not an Error"}; });`)
		if w.b.Engine() == Firefox {
			// Firefox takes the thrown value's message property, whatever
			// the value is, else "An unexpected error occurred"
			// (ExtensionChild.sys.mjs MessageEvent.unwrapOrSanitizeError).
			for m, want := range map[string]string{"string": otfUnexpected, "error-like": "not an Error"} {
				_, err := w.cs.SendMessage(ctx, m)
				Expect(jsText(err)).To(Equal("Error: "+want), "throwing %s", m)
			}
			Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"string"`, true)).Error).To(Equal(otfUnexpected))
			return
		}
		for _, m := range []string{"string", "error-like"} {
			_, err := w.cs.SendMessage(ctx, m)
			Expect(jsText(err)).To(Equal("Error: "+msThrewNoError), "throwing %s", m)
		}
		Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"string"`, true)).Error).To(Equal(msThrewNoError))
	})

	It("fail when an earlier listener throws, although a later one answers synchronously", Label("MS-24"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-throw-first", `chrome.runtime.onMessage.addListener(() => { throw new Error("first throws"); });
chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("second answers"); });`)
		_, err := w.cs.SendMessage(ctx, "m")
		Expect(jsText(err)).To(Equal("Error: first throws"))
		// The second listener did answer; its answer is lost.
		Eventually(w.b.Trace()).Should(HaveEvent(Reply().In(w.worker).ByListener(2).WithMessage("second answers")))
	})

	It("are answered when an earlier listener answers synchronously, although a later one throws", Label("MS-24"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-answer-first", `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("first answers"); });
chrome.runtime.onMessage.addListener(() => { throw new Error("second throws"); });`)
		Expect(w.cs.SendMessage(ctx, "m")).To(MatchJSON(`"first answers"`))
		Eventually(w.b.Trace()).Should(HaveEvent(Exception().In(w.worker).ByListener(2).WithError("second throws")))
	})

	It("with an answer that cannot be serialized fail with 'Could not serialize message.', and sendResponse throws a TypeError", Label("MS-25", "firefox-differs"), func(ctx SpecContext) {
		w := msWorld(ctx, "ms-answer-unserializable", `self.thrown = [];
chrome.runtime.onMessage.addListener((m, s, sendResponse) => {
	try { sendResponse(() => "a function"); } catch (e) { self.thrown.push(String(e)); }
});`)
		if w.b.Engine() == Firefox {
			// Firefox's sendResponse takes the function without a word;
			// the answer cannot be cloned on its way, and the sender
			// fails with NO_RECEIVER.
			_, err := w.cs.SendMessage(ctx, "promise")
			Expect(jsText(err)).To(Equal("Error: " + noReceiver))
			Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"callback"`, true)).Error).To(Equal(noReceiver))
			Expect(must(EvalAs[[]string](ctx, w.worker, `self.thrown`))).To(BeEmpty())
			return
		}
		_, err := w.cs.SendMessage(ctx, "promise")
		Expect(jsText(err)).To(Equal("Error: " + msNoSerialize))
		Expect(msAnswer(w.b, msSend(ctx, w.b, w.cs, `"callback"`, true)).Error).To(Equal(msNoSerialize))
		Expect(must(EvalAs[[]string](ctx, w.worker, `self.thrown`))).To(Equal([]string{"TypeError: " + msNoSerialize, "TypeError: " + msNoSerialize}))
	})
})
