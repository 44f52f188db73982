package specs_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gs "github.com/onsi/gomega/gstruct"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// usExternal is what a user script's connect or sendMessage to another
// extension throws (MU messaging_util.cc GetTargetExtensionId), after the
// bindings' "Error in invocation of <signature>: " prefix.
const usExternal = "User scripts may not message external extensions."

// usConnectSignature and usSendSignature are the signatures that prefix
// usExternal in the TypeError a user script gets.
const (
	usConnectSignature = "runtime.connect(optional string extensionId, optional object connectInfo)"
	usSendSignature    = "runtime.sendMessage(optional string extensionId, any message, optional object options, optional function callback)"
)

// usExt is the blank extension with the userScripts permission, host access
// to the local page server, worker as its worker.js and a one-statement
// us.js for user scripts registered with {file: "us.js"} (the probe goes in
// when us.js pauses at its first statement).
func usExt(name, worker string) ext {
	return blank(name).
		With("permissions", []string{"userScripts"}).
		With("host_permissions", []string{"http://127.0.0.1/*"}).
		WithFile("worker.js", worker).
		WithFile("us.js", "void 'user script';\n")
}

// usRegister is the worker's code that configures the default world with
// messaging and registers us.js on the local page server.
const usRegister = `chrome.userScripts.configureWorld({messaging: true}).then(() => chrome.userScripts.register([{id: "us", matches: ["http://127.0.0.1/*"], js: [{file: "us.js"}]}]))`

// usOpen launches e, turns its "Allow User Scripts" toggle on, runs setup in
// its worker (awaited), then opens a tab on path of the local page server:
// user scripts apply to documents loaded after they are registered. The
// world has no content-script realm (w.cs is nil).
func usOpen(ctx SpecContext, e ext, setup, path string) world {
	GinkgoHelper()
	usCannotAllowInFirefox()
	built := e.Build(GinkgoTB())
	b := launch(ctx, built.Dir)
	w := world{b: b}
	w.ext = must(b.Extension(built.IDIn(b)))
	w.worker = must(w.ext.Worker(ctx))
	usAllow(ctx, w.ext, w.worker)
	must(w.worker.Eval(ctx, setup))
	w.tab = must(b.OpenTab(ctx, b.Pages().URL(path)))
	return w
}

// usCannotAllowInFirefox skips a spec that needs user scripts turned on,
// in Firefox.
func usCannotAllowInFirefox() {
	if options().Browser == Firefox {
		Skip(`Firefox: harness cannot yet turn user scripts on: AllowUserScripts sets Chrome's "Allow User Scripts" toggle through chrome://extensions, and Firefox grants "userScripts" only as an optional permission (permissions.request on a user gesture), which the harness does not grant`)
	}
}

// usAllow turns x's Allow User Scripts toggle on and waits until worker can
// call chrome.userScripts: AllowUserScripts returns once the browser has the
// setting, and the worker's renderer learns it a moment later.
func usAllow(ctx SpecContext, x *Extension, worker *Realm) {
	GinkgoHelper()
	Expect(x.AllowUserScripts(ctx, true)).To(Succeed())
	Eventually(func() error { _, err := worker.Eval(ctx, `chrome.userScripts.getScripts()`); return err }).Should(Succeed())
}

// usUnavailable is what a context that had chrome.userScripts gets from
// calling method once the toggle is off.
func usUnavailable(method string) string {
	return "Error: 'userScripts." + method + "' is not available in this context."
}

// User scripts: chrome.userScripts and the messages of the scripts it
// registers (docs/catalog/user-scripts.md, IDs MU-nn), and the shared
// catalog's RX-13.
var _ = Describe("user scripts", Label("user-scripts"), func() {
	It("chrome.userScripts is undefined until the extension's Allow User Scripts toggle is on and appears in the running worker when it is; turned off, it stays in that worker but every call throws, and new contexts lack it", Label("MU-01", "differs", "firefox-differs"), func(ctx SpecContext) {
		if options().Browser == Firefox {
			// Firefox has no toggle: "userScripts" is an optional-only
			// permission there, not granted from "permissions" at
			// install (permissions.getAll leaves it out), and until it
			// is granted neither chrome.userScripts nor the user-script
			// events of runtime exist.
			built := usExt("mu-toggle", "self.portprobeFixture = 'worker';\n").Build(GinkgoTB())
			b := launch(ctx, built.Dir)
			worker := must(must(b.Extension(built.IDIn(b))).Worker(ctx))
			Expect(string(must(worker.Eval(ctx, `typeof chrome.userScripts`)))).To(Equal(`"undefined"`))
			Expect(string(must(worker.Eval(ctx, `[typeof chrome.runtime.onUserScriptMessage, typeof chrome.runtime.onUserScriptConnect]`)))).To(MatchJSON(`["undefined", "undefined"]`))
			Expect(must(EvalAs[[]string](ctx, worker, `chrome.permissions.getAll().then((p) => p.permissions)`))).NotTo(ContainElement("userScripts"))
			return
		}
		_, worker := argsWorker(ctx, usExt("mu-toggle", "void 'worker';\n"))
		x := worker.Extension()
		Expect(string(must(worker.Eval(ctx, `typeof chrome.userScripts`)))).To(Equal(`"undefined"`))
		// The events exist before the toggle is on.
		Expect(string(must(worker.Eval(ctx, `[typeof chrome.runtime.onUserScriptMessage, typeof chrome.runtime.onUserScriptConnect]`)))).To(MatchJSON(`["object", "object"]`))
		_, err := worker.Eval(ctx, `chrome.userScripts.register([])`)
		Expect(jsText(err)).To(Equal("TypeError: Cannot read properties of undefined (reading 'register')"))
		usAllow(ctx, x, worker)
		Expect(string(must(worker.Eval(ctx, `typeof chrome.userScripts`)))).To(Equal(`"object"`))
		Expect(string(must(worker.Eval(ctx, `chrome.userScripts.getScripts().then((s) => s.length)`)))).To(Equal(`0`))
		Expect(x.AllowUserScripts(ctx, false)).To(Succeed())
		// Expected from the source (the setter updates renderers live):
		// undefined again. Chrome keeps the object; its calls throw at once.
		Eventually(func() string {
			return string(must(worker.Eval(ctx, `(() => { try { chrome.userScripts.getScripts().catch(() => {}); return "returned"; } catch (e) { return String(e); } })()`)))
		}).Should(Equal(`"` + usUnavailable("getScripts") + `"`))
		Expect(string(must(worker.Eval(ctx, `typeof chrome.userScripts`)))).To(Equal(`"object"`))
		_, err = worker.Eval(ctx, `chrome.userScripts.register([])`)
		Expect(jsText(err)).To(Equal(usUnavailable("register")))
		_, page := must2(x.OpenPage(ctx, "page.html"))
		Expect(string(must(page.Eval(ctx, `typeof chrome.userScripts`)))).To(Equal(`"undefined"`))
	})

	It("turning the toggle off keeps the registrations but injects them into no new document; turned on again, they inject again", Label("MU-11"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-toggle-inject", "void 'worker';\n"),
			`chrome.userScripts.register([{id: "mark", runAt: "document_start", matches: ["http://127.0.0.1/*"], js: [{code: "document.documentElement.dataset.us = 'ran'"}]}])`, "/before")
		mark := `document.documentElement.dataset.us ?? "none"`
		Expect(string(must(w.tab.Eval(ctx, mark)))).To(Equal(`"ran"`))
		Expect(w.ext.AllowUserScripts(ctx, false)).To(Succeed())
		Eventually(func() string { _, err := w.worker.Eval(ctx, `chrome.userScripts.getScripts()`); return jsText(err) }).Should(Equal(usUnavailable("getScripts")))
		off := must(w.b.OpenTab(ctx, w.b.Pages().URL("/off")))
		Expect(string(must(off.Eval(ctx, mark)))).To(Equal(`"none"`))
		usAllow(ctx, w.ext, w.worker)
		Expect(string(must(w.worker.Eval(ctx, `chrome.userScripts.getScripts().then((s) => s.map((x) => x.id))`)))).To(MatchJSON(`["mark"]`))
		again := must(w.b.OpenTab(ctx, w.b.Pages().URL("/again")))
		Expect(string(must(again.Eval(ctx, mark)))).To(Equal(`"ran"`))
	})

	It("a user script registered with a file runs in pages loaded after register, in a world whose chrome has only csi, loadTimes and runtime, and whose runtime has messaging but no getURL", Label("MU-02"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-world", "void 'worker';\n"), usRegister, "/mu-02")
		us := must(w.ext.UserScript(ctx, w.tab))
		Expect(us.Kind).To(Equal(UserScriptRealm))
		Expect(string(must(us.Eval(ctx, `Object.keys(chrome).sort()`)))).To(MatchJSON(`["csi", "loadTimes", "runtime"]`))
		Expect(string(must(us.Eval(ctx, `Object.keys(chrome.runtime).sort()`)))).To(MatchJSON(`["ContextType", "OnInstalledReason", "OnRestartRequiredReason", "PlatformArch", "PlatformNaclArch", "PlatformOs", "RequestUpdateCheckStatus", "connect", "dynamicId", "id", "onConnect", "onMessage", "sendMessage"]`))
		Expect(string(must(us.Eval(ctx, `[chrome.runtime.id, location.origin, typeof chrome.runtime.getURL]`)))).To(MatchJSON(fmt.Sprintf(`[%q, %q, "undefined"]`, w.ext.ID, senderPageOrigin(w.b))))
	})

	It("sendMessage from a user script fires the worker's runtime.onUserScriptMessage, never runtime.onMessage, and the listener's answer reaches the user script", Label("MU-03"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-send", `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { self.onMessageFired = true; sendResponse("from onMessage"); });
chrome.runtime.onUserScriptMessage.addListener((m, s, sendResponse) => { sendResponse({seen: m}); });`), usRegister, "/mu-03")
		us := must(w.ext.UserScript(ctx, w.tab))
		Expect(us.SendMessage(ctx, "from the user script")).To(MatchJSON(`{"seen": "from the user script"}`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnUserScriptMessage().In(w.worker).WithMessage("from the user script")))
		Eventually(w.b.Trace()).Should(HaveEvent(Reply().In(w.worker).Via("sendResponse")))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
		Expect(must(EvalAs[bool](ctx, w.worker, `self.onMessageFired === undefined`))).To(BeTrue())
	})

	It("the sender of a user script's message and port has id, url, origin, frameId 0, documentId, documentLifecycle \"active\" and tab, and no userScriptWorldId", Label("MU-04"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-sender", `chrome.runtime.onUserScriptMessage.addListener((m, s, sendResponse) => { sendResponse("ok"); });
chrome.runtime.onUserScriptConnect.addListener(() => {});`), usRegister, "/mu-04")
		us := must(w.ext.UserScript(ctx, w.tab))
		Expect(us.SendMessage(ctx, "who am I")).To(MatchJSON(`"ok"`))
		must(us.Connect(ctx, map[string]any{"name": "who"}))
		url := w.b.Pages().URL("/mu-04")
		keys := gs.Keys{
			"id":                Equal(w.ext.ID),
			"url":               Equal(url),
			"origin":            Equal(senderPageOrigin(w.b)),
			"frameId":           BeNumerically("==", 0),
			"documentId":        documentIDFormat,
			"documentLifecycle": Equal("active"),
			"tab":               aTab(url, "portprobe test page"),
		}
		Expect(senderOf(w.b, OnUserScriptMessage().In(w.worker).WithMessage("who am I"))).To(gs.MatchAllKeys(keys))
		Expect(senderOf(w.b, OnUserScriptConnect().In(w.worker).Named("who"))).To(gs.MatchAllKeys(keys))
	})

	It("connect from a user script fires the worker's runtime.onUserScriptConnect, never runtime.onConnect, and the port carries messages both ways", Label("MU-05"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-connect", `chrome.runtime.onConnect.addListener(() => { self.onConnectFired = true; });
chrome.runtime.onUserScriptConnect.addListener((p) => { p.onMessage.addListener((m) => p.postMessage({echo: m})); });`), usRegister, "/mu-05")
		us := must(w.ext.UserScript(ctx, w.tab))
		port := must(us.Connect(ctx, map[string]any{"name": "us-port"}))
		Expect(port.Post(ctx, "ping")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(us).WithMessage(map[string]any{"echo": "ping"})))
		Eventually(w.b.Trace()).Should(HaveEvent(OnUserScriptConnect().In(w.worker).Named("us-port")))
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).WithMessage("ping")))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect()))
		Expect(must(EvalAs[bool](ctx, w.worker, `self.onConnectFired === undefined`))).To(BeTrue())
	})

	It("with no onUserScriptMessage listener, a user script's sendMessage gets no receiver even though the worker listens to onMessage", Label("MU-06"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-no-listener", `chrome.runtime.onMessage.addListener((m, s, sendResponse) => { sendResponse("from onMessage"); });
chrome.runtime.onConnect.addListener(() => {});`), usRegister, "/mu-06")
		us := must(w.ext.UserScript(ctx, w.tab))
		_, err := us.SendMessage(ctx, "anyone?")
		Expect(jsText(err)).To(Equal("Error: " + noReceiver))
		port := must(us.Connect(ctx, map[string]any{"name": "anyone"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(us).Where("on "+port.String(), func(e Event) bool { return e.Port == port.Handle && e.LastError == noReceiver })))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnMessage()))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect()))
	})

	It("a user script's sendMessage with its own extension's ID is allowed and reaches onUserScriptMessage", Label("MU-07"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-own-id", `chrome.runtime.onUserScriptMessage.addListener((m, s, sendResponse) => { sendResponse({seen: m}); });`), usRegister, "/mu-07")
		us := must(w.ext.UserScript(ctx, w.tab))
		Expect(us.SendMessage(ctx, w.ext.ID, "with my id")).To(MatchJSON(`{"seen": "with my id"}`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnUserScriptMessage().In(w.worker).WithMessage("with my id")))
	})

	It("a world without messaging has chrome.runtime but no sendMessage, connect, onMessage or onConnect", Label("MU-08"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-no-messaging", "void 'worker';\n"),
			`chrome.userScripts.register([{id: "us", matches: ["http://127.0.0.1/*"], js: [{file: "us.js"}]}])`, "/mu-08")
		us := must(w.ext.UserScript(ctx, w.tab))
		Expect(string(must(us.Eval(ctx, `[typeof chrome.runtime, typeof chrome.runtime.sendMessage, typeof chrome.runtime.connect, typeof chrome.runtime.onMessage, typeof chrome.runtime.onConnect]`)))).To(MatchJSON(`["object", "undefined", "undefined", "undefined", "undefined"]`))
		Expect(string(must(w.worker.Eval(ctx, `chrome.userScripts.getWorldConfigurations()`)))).To(MatchJSON(`[]`))
		_, err := us.Eval(ctx, `chrome.runtime.sendMessage("x")`)
		Expect(jsText(err)).To(Equal("TypeError: chrome.runtime.sendMessage is not a function"))
	})

	It("a named world (worldId) configured with its own configureWorld({worldId, messaging: true}) messages the worker, and the sender does not name the world", Label("MU-09"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-named", `chrome.runtime.onUserScriptMessage.addListener((m, s, sendResponse) => { sendResponse("ok"); });`),
			`chrome.userScripts.configureWorld({worldId: "named", messaging: true})
  .then(() => chrome.userScripts.register([{id: "named", worldId: "named", matches: ["http://127.0.0.1/*"], js: [{file: "us.js"}]}]))`, "/named")
		Expect(string(must(w.worker.Eval(ctx, `chrome.userScripts.getWorldConfigurations()`)))).To(MatchJSON(`[{"worldId": "named", "messaging": true}]`))
		named := must(w.ext.UserScript(ctx, w.tab))
		Expect(named.SendMessage(ctx, "from a named world")).To(MatchJSON(`"ok"`))
		s := senderOf(w.b, OnUserScriptMessage().In(w.worker).WithMessage("from a named world"))
		Expect(s).NotTo(HaveKey("userScriptWorldId"))
		Expect(s).To(HaveKeyWithValue("url", w.b.Pages().URL("/named")))
	})

	It("a user script registered as code runs in a user-script world that the harness probes, and its sendMessage reaches onUserScriptMessage", Label("MU-10"), func(ctx SpecContext) {
		w := usOpen(ctx, usExt("mu-code", `chrome.runtime.onUserScriptMessage.addListener((m, s, sendResponse) => { sendResponse("ok"); });`),
			`chrome.userScripts.configureWorld({messaging: true}).then(() => chrome.userScripts.register([{id: "code", matches: ["http://127.0.0.1/*"], js: [{code: "chrome.runtime.sendMessage('from code')"}]}]))`, "/mu-10")
		s := senderOf(w.b, OnUserScriptMessage().In(w.worker).WithMessage("from code"))
		Expect(s).To(HaveKeyWithValue("url", w.b.Pages().URL("/mu-10")))
		us := must(w.ext.UserScript(ctx, w.tab))
		Expect(us.Kind).To(Equal(UserScriptRealm))
		// The probe was in before the code ran: the code's own call and
		// its answer are in the trace.
		Eventually(w.b.Trace()).Should(HaveEvent(SendMessage().In(us).WithMessage("from code")))
		Eventually(w.b.Trace()).Should(HaveEvent(Response().In(us).WithMessage("ok")))
		Expect(string(must(us.Eval(ctx, `Object.keys(chrome).sort()`)))).To(MatchJSON(`["csi", "loadTimes", "runtime"]`))
	})

	It("a user script's connect and sendMessage to another extension throw a TypeError at once", Label("RX-13"), func(ctx SpecContext) {
		other := blank("rx13-other").WithFile("worker.js", `chrome.runtime.onConnectExternal.addListener(() => { self.reached = true; });
chrome.runtime.onMessageExternal.addListener(() => { self.reached = true; });`)
		other.Keyed = true
		usCannotAllowInFirefox()
		o := other.Build(GinkgoTB())
		e := usExt("rx13-us", `chrome.runtime.onUserScriptConnect.addListener(() => {});`)
		built := e.Build(GinkgoTB())
		b := launch(ctx, o.Dir, built.Dir)
		w := world{b: b}
		w.ext = must(b.Extension(built.ID))
		w.worker = must(w.ext.Worker(ctx))
		Expect(w.ext.AllowUserScripts(ctx, true)).To(Succeed())
		must(w.worker.Eval(ctx, usRegister))
		w.tab = must(b.OpenTab(ctx, b.Pages().URL("/rx-13")))
		us := must(w.ext.UserScript(ctx, w.tab))
		_, err := us.Connect(ctx, o.ID, map[string]any{"name": "out"})
		connectText := "TypeError: Error in invocation of " + usConnectSignature + ": " + usExternal
		expectConnectThrew(b, us, err, connectText)
		_, err = us.SendMessage(ctx, o.ID, "out")
		Expect(jsText(err)).To(Equal("TypeError: Error in invocation of " + usSendSignature + ": " + usExternal))
		// To its own extension, connect works and fires onUserScriptConnect.
		must(us.Connect(ctx, w.ext.ID, map[string]any{"name": "home"}))
		Eventually(b.Trace()).Should(HaveEvent(OnUserScriptConnect().In(w.worker).Named("home")))
		Expect(b.Trace()).NotTo(HaveEvent(OnConnect()))
		Expect(b.Trace()).NotTo(HaveEvent(OnConnectExternal()))
		Expect(b.Trace()).NotTo(HaveEvent(OnMessageExternal()))
	})
})
