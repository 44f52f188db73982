package specs_test

import (
	"encoding/json"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gs "github.com/onsi/gomega/gstruct"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// everywhere is an extension with a document in every context an extension
// can run in; each of them connects at start-up with its own path as the
// port's name and says hello, and the worker's own code echoes every
// message. The harness must see each context from its first line, without
// being told it exists.
func everywhere(name string) ext {
	const page = "<!doctype html><title>%s</title><button id=go>go</button><script src=\"ctx.js\"></script>\n"
	return blank(name).
		With("action", map[string]any{"default_popup": "popup.html"}).
		With("side_panel", map[string]any{"default_path": "panel.html"}).
		With("permissions", []string{"offscreen", "sidePanel"}).
		With("web_accessible_resources", []any{map[string]any{
			"resources": []string{"frame.html", "ctx.js"},
			"matches":   []string{"http://127.0.0.1/*", "http://localhost/*"},
		}}).
		With("content_scripts", []any{map[string]any{
			"matches":    []string{"http://127.0.0.1/*", "http://localhost/*"},
			"js":         []string{"cs.js"},
			"all_frames": true,
		}}).
		WithFile("worker.js", `chrome.runtime.onConnect.addListener((port) => {
  port.onMessage.addListener((m) => port.postMessage({echo: m}));
});
`).
		WithFile("ctx.js", `const port = chrome.runtime.connect({name: location.pathname + location.search});
port.postMessage("hello");
port.onMessage.addListener(() => {});
document.getElementById("go")?.addEventListener("click", () => port.postMessage("clicked"));
document.getElementById("open-tab")?.addEventListener("click", () => chrome.tabs.create({url: "main-page.html"}));
`).
		WithFile("cs.js", `const port = chrome.runtime.connect({name: "cs:" + location.host + location.pathname + location.search});
port.postMessage("hello");
port.onMessage.addListener(() => {});
document.addEventListener("click", () => port.postMessage("clicked"));
`).
		WithFile("popup.html", "<!doctype html><title>popup</title><button id=open-tab>open a tab</button><script src=\"ctx.js\"></script>\n").
		WithFile("panel.html", fmt.Sprintf(page, "panel")).
		WithFile("offscreen.html", fmt.Sprintf(page, "offscreen")).
		WithFile("main-page.html", fmt.Sprintf(page, "main page")).
		WithFile("frame.html", fmt.Sprintf(page, "frame")).
		WithFile("host.html", "<!doctype html><title>host</title><iframe src=\"frame.html\"></iframe>\n").
		WithFile("child.html", fmt.Sprintf(page, "child")).
		WithFile("opener.html", "<!doctype html><title>opener</title><button id=open>open</button><script src=\"opener.js\"></script>\n").
		WithFile("opener.js", `let n = 0;
document.getElementById("open").addEventListener("click", () => window.open("child.html?n=" + n++));
`)
}

// openerPage is a web page whose button opens /popup?n=0, 1, … with
// window.open.
const openerPage = `<!doctype html><title>opener</title>
<button id=open style="width: 100vw; height: 100vh">open</button>
<script>
let n = 0;
document.getElementById("open").addEventListener("click", () => window.open("/popup?n=" + n++));
</script>`

// saysHello checks the start-up exchange of everywhere's realm r on its port
// named name: r connects and the worker gets the port, r says hello and the
// worker gets it, the worker echoes and r gets the echo.
func saysHello(b *Browser, r, worker *Realm, name string) {
	GinkgoHelper()
	Eventually(b.Trace()).Should(HaveEventsInOrder(
		Connect().In(r).Named(name),
		OnConnect().In(worker).Named(name),
	))
	Eventually(b.Trace()).Should(HaveEventsInOrder(
		Post().In(r).Named(name).WithMessage("hello"),
		Message().In(worker).Named(name).WithMessage("hello"),
	))
	Eventually(b.Trace()).Should(HaveEventsInOrder(
		Post().In(worker).Named(name).WithMessage(map[string]any{"echo": "hello"}),
		Message().In(r).Named(name).WithMessage(map[string]any{"echo": "hello"}),
	))
}

// outsideTabs matches the sender of an extension page that is in no tab
// (catalog RS-05): id, url and origin only.
func outsideTabs(e *Extension, path string) OmegaMatcher {
	return gs.MatchAllKeys(gs.Keys{
		"id":     Equal(e.ID),
		"url":    Equal(e.URL(path)),
		"origin": Equal(senderExtOrigin(e.ID)),
	})
}

// inTab matches the sender of a document in a tab's frame.
func inTab(id, url, origin string, frame OmegaMatcher, tabURL, tabTitle string) OmegaMatcher {
	return gs.MatchAllKeys(gs.Keys{
		"id":                Equal(id),
		"url":               Equal(url),
		"origin":            Equal(origin),
		"frameId":           frame,
		"documentId":        documentIDFormat,
		"documentLifecycle": Equal("active"),
		"tab":               aTab(tabURL, tabTitle),
	})
}

// Every context an extension runs in, found and probed from its first line
// without the spec telling the harness it exists.
var _ = Describe("extension contexts", Label("contexts"), func() {
	It("reaches the toolbar popup that a click on the action opens, until it closes", Label("popup", "RS-05"), func(ctx SpecContext) {
		ctxSkipInFirefox(ctxNoPopup)
		w := openWorld(ctx, everywhere("ctx-popup"))
		Expect(w.ext.ClickAction(ctx, w.tab)).To(Succeed())
		popup := must(w.ext.Popup(ctx))
		Expect(popup.Tab).NotTo(Equal(w.tab))
		saysHello(w.b, popup, w.worker, "/popup.html")
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("/popup.html"))).To(outsideTabs(w.ext, "popup.html"))
		Expect(popup.Tab.ChromeID(ctx)).Error().To(MatchError(ContainSubstring("in no tab")))

		// Go drives a port from the popup; closing it disconnects both.
		port := must(popup.Connect(ctx, map[string]any{"name": "from-go"}))
		Expect(port.Post(ctx, 7)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(popup).OnPort(port).WithMessage(map[string]any{"echo": 7})))
		Expect(popup.Tab.Close(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("/popup.html").WithoutLastError()))
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("from-go")))
		Expect(popup.Gone()).To(BeTrue())
	})

	It("loses the popup when a click in it opens a tab, and reaches the tab", Label("popup", "extension-tab"), func(ctx SpecContext) {
		ctxSkipInFirefox(ctxNoPopup)
		w := openWorld(ctx, everywhere("ctx-popup-opens-tab"))
		Expect(w.ext.ClickAction(ctx, w.tab)).To(Succeed())
		popup := must(w.ext.Popup(ctx))
		saysHello(w.b, popup, w.worker, "/popup.html")
		// The click waits for the popup's load, runs, and the popup closes
		// as the new tab takes the focus.
		Expect(popup.Tab.ClickIn(ctx, must(popup.Tab.Frame(ctx, w.ext.URL("popup.html"))), "#open-tab")).To(Succeed())
		page := must(w.ext.Page(ctx, "main-page.html"))
		saysHello(w.b, page, w.worker, "/main-page.html")
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("/popup.html").WithoutLastError()))
		Eventually(popup.Tab.Done()).Should(BeClosed())
	})

	It("reaches a tab that the extension opens with tabs.create, and its iframe", Label("extension-tab", "extension-iframe", "RS-06"), func(ctx SpecContext) {
		ctxSkipInFirefox(ctxNoOwnTabs)
		w := openWorld(ctx, everywhere("ctx-ext-tab"))
		must(w.worker.Eval(ctx, `chrome.tabs.create({url: "host.html"}).then(() => {})`))
		host := must(w.b.WaitTab(ctx, w.ext.URL("host.html")))
		frame := must(host.Frame(ctx, w.ext.URL("frame.html")))
		inner := must(w.ext.PageIn(ctx, host, InFrame(frame.ID)))
		Expect(inner.URL).To(Equal(w.ext.URL("frame.html")))
		saysHello(w.b, inner, w.worker, "/frame.html")
		sender := senderOf(w.b, OnConnect().In(w.worker).Named("/frame.html"))
		Expect(sender).To(inTab(
			w.ext.ID, w.ext.URL("frame.html"), senderExtOrigin(w.ext.ID), BeNumerically(">", 0), w.ext.URL("host.html"), "host"))
		// The harness knows the tab's ID as the extension sees it.
		Expect(host.ChromeID(ctx)).To(BeNumerically("==", sender["tab"].(map[string]any)["id"]))

		// The page itself is found as the main frame's realm, never the
		// iframe's.
		top := must(w.ext.PageIn(ctx, host))
		Expect(top).NotTo(BeIdenticalTo(inner))
		Expect(top.URL).To(Equal(w.ext.URL("host.html")))

		// A click in the iframe reaches it; removing the iframe disconnects.
		Expect(host.ClickIn(ctx, frame, "#go")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).Named("/frame.html").WithMessage("clicked")))
		Expect(host.ClickIn(ctx, frame, "#missing")).To(MatchError(ContainSubstring("no element matches")))
		must(host.Eval(ctx, `document.querySelector("iframe").remove()`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("/frame.html").WithoutLastError()))
		Eventually(inner.Gone).Should(BeTrue())

		// A page the extension opened closes like any tab.
		must(w.worker.Eval(ctx, `chrome.tabs.create({url: "main-page.html"}).then(() => {})`))
		page := must(w.ext.Page(ctx, "main-page.html"))
		saysHello(w.b, page, w.worker, "/main-page.html")
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("/main-page.html"))).To(inTab(
			w.ext.ID, w.ext.URL("main-page.html"), senderExtOrigin(w.ext.ID), BeNumerically("==", 0), w.ext.URL("main-page.html"), "main page"))
		must(w.worker.Eval(ctx, `chrome.tabs.query({url: chrome.runtime.getURL("main-page.html")}).then((tabs) => chrome.tabs.remove(tabs[0].id))`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("/main-page.html").WithoutLastError()))
		Eventually(page.Tab.Done()).Should(BeClosed())
	})

	It("reaches an offscreen document from its first line until closeDocument", Label("offscreen", "RS-05", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, everywhere("ctx-offscreen"))
		if w.b.Engine() == Firefox {
			// Firefox has no offscreen documents: chrome.offscreen is
			// undefined, the "offscreen" permission notwithstanding.
			_, err := w.worker.Eval(ctx, `chrome.offscreen.createDocument({
				url: "offscreen.html", reasons: ["DOM_PARSER"], justification: "a context outside any tab"})`)
			Expect(jsText(err)).To(Equal(`TypeError: can't access property "createDocument", chrome.offscreen is undefined`))
			return
		}
		must(w.worker.Eval(ctx, `chrome.offscreen.createDocument({
			url: "offscreen.html", reasons: ["DOM_PARSER"], justification: "a context outside any tab"})`))
		doc := must(w.ext.Page(ctx, "offscreen.html"))
		saysHello(w.b, doc, w.worker, "/offscreen.html")
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("/offscreen.html"))).To(outsideTabs(w.ext, "offscreen.html"))
		// The extension sees it as an offscreen document in no tab.
		Expect(must(EvalAs[[]map[string]any](ctx, w.worker, `chrome.runtime.getContexts({contextTypes: ["OFFSCREEN_DOCUMENT"]})`))).To(ConsistOf(
			gs.MatchKeys(gs.IgnoreExtras, gs.Keys{
				"documentUrl": Equal(w.ext.URL("offscreen.html")),
				"tabId":       BeNumerically("==", -1),
				"windowId":    BeNumerically("==", -1),
				"frameId":     BeNumerically("==", 0), // its own main frame, in no tab
			})))

		must(w.worker.Eval(ctx, `chrome.offscreen.closeDocument()`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("/offscreen.html").WithoutLastError()))
		Eventually(doc.Gone).Should(BeTrue())
	})

	It("reaches the side panel that a click on the action opens, in headless Chrome too", Label("side-panel", "RS-05", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, everywhere("ctx-side-panel"))
		if w.b.Engine() == Firefox {
			// Firefox has no chrome.sidePanel (its sidebars are
			// sidebarAction, from the sidebar_action manifest key):
			// the side_panel key and the "sidePanel" permission give
			// nothing.
			_, err := w.worker.Eval(ctx, `chrome.sidePanel.setPanelBehavior({openPanelOnActionClick: true})`)
			Expect(jsText(err)).To(Equal(`TypeError: can't access property "setPanelBehavior", chrome.sidePanel is undefined`))
			return
		}
		// Chrome opens a side panel only on a user gesture; the click on
		// the action is one once the extension asks for it.
		must(w.worker.Eval(ctx, `chrome.sidePanel.setPanelBehavior({openPanelOnActionClick: true})`))
		Expect(w.ext.ClickAction(ctx, w.tab)).To(Succeed())
		panel := must(w.ext.SidePanel(ctx))
		saysHello(w.b, panel, w.worker, "/panel.html")
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("/panel.html"))).To(outsideTabs(w.ext, "panel.html"))

		// Closing the panel disconnects its port.
		must(panel.Eval(ctx, `window.close()`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("/panel.html").WithoutLastError()))
		Eventually(panel.Gone).Should(BeTrue())
	})

	It("reaches the side panel that sidePanel.open opens on a click in the extension's page", Label("side-panel", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, everywhere("ctx-side-panel-open").
			WithFile("open-panel.html", "<!doctype html><title>open panel</title><button id=open>open</button><script src=\"open-panel.js\"></script>\n").
			WithFile("open-panel.js", `let tabId;
chrome.tabs.getCurrent().then((tab) => { tabId = tab.id; });
// sidePanel.open needs a user gesture, so it is called in the click itself.
document.getElementById("open").addEventListener("click", () => chrome.sidePanel.open({tabId}));
`))
		tab, page := must2(w.ext.OpenPage(ctx, "open-panel.html"))
		Eventually(func(ctx SpecContext) (bool, error) { return EvalAs[bool](ctx, page, `tabId !== undefined`) }).WithContext(ctx).Should(BeTrue())
		if w.b.Engine() == Firefox {
			// Firefox has no chrome.sidePanel in the extension's pages
			// either.
			_, err := page.Eval(ctx, `chrome.sidePanel.open({tabId})`)
			Expect(jsText(err)).To(Equal(`TypeError: can't access property "open", chrome.sidePanel is undefined`))
			return
		}
		// Without a gesture, Chrome refuses.
		Expect(page.Eval(ctx, `chrome.sidePanel.open({tabId})`)).Error().To(MatchError(ContainSubstring("may only be called in response to a user gesture")))
		main := must(tab.Frame(ctx, w.ext.URL("open-panel.html")))
		Expect(tab.ClickIn(ctx, main, "#open")).To(Succeed())
		panel := must(w.ext.SidePanel(ctx))
		saysHello(w.b, panel, w.worker, "/panel.html")
	})

	It("reaches the content script of a cross-site iframe, which runs in another process", Label("oopif", "RS-03"), func(ctx SpecContext) {
		ctxSkipInFirefox(ctxNoIframes)
		w := openWorld(ctx, everywhere("ctx-oopif"))
		inner := strings.Replace(w.b.Pages().URL("/inner"), "127.0.0.1", "localhost", 1)
		w.b.Pages().Handle("/outer", `<!doctype html><title>outer</title><iframe src="`+inner+`"></iframe>`)
		w.b.Pages().Handle("/inner", `<!doctype html><title>inner</title><button id=go>go</button>`)
		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/outer"))).To(Succeed())
		frame := must(w.tab.Frame(ctx, inner))
		cs := must(w.ext.ContentScript(ctx, w.tab, InFrame(frame.ID)))
		name := "cs:" + strings.TrimPrefix(inner, "http://")
		saysHello(w.b, cs, w.worker, name)
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named(name))).To(inTab(
			w.ext.ID, inner, strings.TrimSuffix(inner, "/inner"), BeNumerically(">", 0), w.b.Pages().URL("/outer"), "outer"))
		// Go drives it, and clicks in it.
		Expect(must(EvalAs[string](ctx, cs, `location.host`))).To(HavePrefix("localhost:"))
		Expect(w.tab.ClickIn(ctx, frame, "#go")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).Named(name).WithMessage("clicked")))

		// The extension's own page in a web page's iframe is in the
		// extension's process.
		Expect(w.tab.Eval(ctx, `(() => { const f = document.createElement("iframe"); f.src = `+jsonString(w.ext.URL("frame.html"))+`; document.body.append(f); })()`)).Error().NotTo(HaveOccurred())
		extFrame := must(w.tab.Frame(ctx, w.ext.URL("frame.html")))
		page := must(w.ext.PageIn(ctx, w.tab, InFrame(extFrame.ID)))
		saysHello(w.b, page, w.worker, "/frame.html")
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("/frame.html"))).To(inTab(
			w.ext.ID, w.ext.URL("frame.html"), senderExtOrigin(w.ext.ID), BeNumerically(">", 0), w.b.Pages().URL("/outer"), "outer"))

		// Removing the cross-site iframe disconnects its content script.
		must(w.tab.Eval(ctx, `document.querySelector("iframe").remove()`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named(name).WithoutLastError()))
		Eventually(cs.Gone).Should(BeTrue())
	})

	It("lets 20 window.open popups of a web page and 20 of an extension page load, each probed, and the openers go on", Label("window-open"), func(ctx SpecContext) {
		ctxSkipInFirefox(ctxNoOwnTabs)
		w := openWorld(ctx, everywhere("ctx-window-open"))
		w.b.Pages().Handle("/opener", openerPage)
		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/opener"))).To(Succeed())
		host := strings.TrimSuffix(strings.TrimPrefix(w.b.Pages().URL("/"), "http://"), "/")
		for i := range 20 {
			// A real click: Chrome lets a page open a popup only on a
			// user gesture.
			Expect(w.tab.Click(ctx, "#open")).To(Succeed())
			url := w.b.Pages().URL(fmt.Sprintf("/popup?n=%d", i))
			popup := must(w.b.WaitTab(ctx, url))
			Expect(popup.OpenerID).To(Equal(w.tab.TargetID))
			cs := must(w.ext.ContentScript(ctx, popup))
			saysHello(w.b, cs, w.worker, fmt.Sprintf("cs:%s/popup?n=%d", host, i))
		}
		Expect(w.tab.Eval(ctx, `n`)).To(BeEquivalentTo("20"))
		// A popup is a tab of its own to the extension; closing it
		// disconnects its content script's port.
		first := fmt.Sprintf("cs:%s/popup?n=0", host)
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named(first))).To(inTab(
			w.ext.ID, w.b.Pages().URL("/popup?n=0"), senderPageOrigin(w.b), BeNumerically("==", 0), w.b.Pages().URL("/popup?n=0"), "portprobe test page"))
		Expect(must(w.b.WaitTab(ctx, w.b.Pages().URL("/popup?n=0"))).Close(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named(first).WithoutLastError()))

		tab, _ := must2(w.ext.OpenPage(ctx, "opener.html"))
		for i := range 20 {
			Expect(tab.Click(ctx, "#open")).To(Succeed())
			child := must(w.b.WaitTab(ctx, w.ext.URL(fmt.Sprintf("child.html?n=%d", i))))
			Expect(child.OpenerID).To(Equal(tab.TargetID))
			page := must(w.ext.PageIn(ctx, child))
			saysHello(w.b, page, w.worker, fmt.Sprintf("/child.html?n=%d", i))
		}
		Expect(tab.Eval(ctx, `n`)).To(BeEquivalentTo("20"))
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("/child.html?n=0"))).To(inTab(
			w.ext.ID, w.ext.URL("child.html?n=0"), senderExtOrigin(w.ext.ID), BeNumerically("==", 0), w.ext.URL("child.html?n=0"), "child"))
		Expect(must(w.b.WaitTab(ctx, w.ext.URL("child.html?n=0"))).Close(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("/child.html?n=0").WithoutLastError()))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
	})

	It("traces the first events of a content script restored from the back/forward cache that reconnects in pageshow", Label("bfcache-restore", "RL-09"), func(ctx SpecContext) {
		w := openWorld(ctx, everywhere("ctx-bfcache").WithFile("cs.js", `let port;
function connect(why) {
  port = chrome.runtime.connect({name: why});
  port.postMessage("hello");
  port.onMessage.addListener(() => {});
}
connect("start");
addEventListener("pageshow", (e) => { if (e.persisted) connect("restored"); });
`))
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).Named("start")))
		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/next"))).To(Succeed())
		if w.b.Engine() == Firefox {
			// The page comes back from the cache and reconnects in
			// pageshow. Checked on the worker's side: the harness does
			// not yet trace a restored content script's events in
			// Firefox (see ffBack).
			ffBack(ctx, w.tab, w.b.Pages().URL("/"))
			Eventually(w.b.Trace()).Should(HaveEventsInOrder(
				OnConnect().In(w.worker).Named("restored"),
				Message().In(w.worker).Named("restored").WithMessage("hello"),
				Post().In(w.worker).Named("restored").WithMessage(map[string]any{"echo": "hello"}),
			))
			Expect(senderOf(w.b, OnConnect().In(w.worker).Named("restored"))).To(HaveKeyWithValue("url", w.b.Pages().URL("/")))
			Expect(w.tab.Close(ctx)).To(Succeed())
			Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("restored").WithoutLastError()))
			return
		}
		Expect(w.tab.Back(ctx)).To(Succeed())
		restored := must(w.ext.ContentScript(ctx, w.tab))
		Expect(restored).NotTo(BeIdenticalTo(w.cs))
		// The realm is the one that connected at start, found again; its
		// reconnect in pageshow is traced on its side from the first event.
		saysHello(w.b, restored, w.worker, "restored")
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("restored"))).To(inTab(
			w.ext.ID, w.b.Pages().URL("/"), senderPageOrigin(w.b), BeNumerically("==", 0), w.b.Pages().URL("/"), "portprobe test page"))
		Expect(w.tab.Close(ctx)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named("restored").WithoutLastError()))
	})

	It("adopts the content script of a cross-site iframe restored from the back/forward cache", Label("bfcache-restore", "oopif", "RL-09"), func(ctx SpecContext) {
		ctxSkipInFirefox(ctxNoIframes)
		w := openWorld(ctx, everywhere("ctx-bfcache-oopif").WithFile("cs.js", `let port;
function connect(why) {
  port = chrome.runtime.connect({name: why + ":" + location.host + location.pathname});
  port.postMessage("hello");
  port.onMessage.addListener(() => {});
}
connect("start");
addEventListener("pageshow", (e) => { if (e.persisted) connect("restored"); });
`))
		inner := strings.Replace(w.b.Pages().URL("/inner"), "127.0.0.1", "localhost", 1)
		w.b.Pages().Handle("/outer", `<!doctype html><title>outer</title><iframe src="`+inner+`"></iframe>`)
		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/outer"))).To(Succeed())
		frame := must(w.tab.Frame(ctx, inner))
		first := must(w.ext.ContentScript(ctx, w.tab, InFrame(frame.ID)))
		name := "restored:" + strings.TrimPrefix(inner, "http://")
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).Named("start:" + strings.TrimPrefix(inner, "http://"))))
		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/next"))).To(Succeed())
		Expect(w.tab.Back(ctx)).To(Succeed())
		restored := must(w.ext.ContentScript(ctx, w.tab, InFrame(frame.ID)))
		Expect(restored).NotTo(BeIdenticalTo(first))
		saysHello(w.b, restored, w.worker, name)
	})

	It("leaves a content script in the page's own world (world MAIN) without a probe, and the page sees nothing", Label("main-world", "security"), func(ctx SpecContext) {
		w := openWorld(ctx, everywhere("ctx-main-world").
			With("content_scripts", []any{
				map[string]any{"matches": []string{"http://127.0.0.1/*"}, "js": []string{"cs.js"}},
				map[string]any{"matches": []string{"http://127.0.0.1/*"}, "js": []string{"main.js"}, "world": "MAIN"},
			}).
			WithFile("main.js", "window.mainWorldRan = typeof chrome === 'undefined' || chrome.runtime === undefined ? 'without extension APIs' : 'with extension APIs';\n"))
		Eventually(func(ctx SpecContext) (string, error) {
			v, err := w.tab.Eval(ctx, `window.mainWorldRan ?? ""`)
			return string(v), err
		}).WithContext(ctx).Should(Equal(`"without extension APIs"`))
		var names []string
		Expect(json.Unmarshal(must(w.tab.Eval(ctx, `Object.getOwnPropertyNames(globalThis).filter((k) => k.includes("portprobe"))`)), &names)).To(Succeed())
		Expect(names).To(BeEmpty())
		for _, r := range w.b.Realms() {
			if r.Tab == w.tab {
				Expect(r.Kind).To(Equal(ContentScriptRealm), "%s (%s): the web page's own world was probed", r, r.URL)
			}
		}
	})

	// DevTools opens only in a visible Chrome; on a machine without a
	// display the harness gives it a virtual one (Xvfb, which
	// scripts/setup.sh installs).
	//
	// Known flake, cause not found yet: about 1 run in 25 here, no devtools
	// page realm appears within the wait (the DevTools window's extension
	// iframe is not seen). A second attempt, in a new browser, has passed
	// each time; Ginkgo reports such a spec as flaky, not as passing.
	It("reaches the devtools page in the DevTools of a tab, in a visible Chrome", Label("devtools-page", "RS-05"), FlakeAttempts(2), func(ctx SpecContext) {
		ctxSkipInFirefox(ctxNoDevTools)
		built := everywhere("ctx-devtools").
			With("devtools_page", "devtools.html").
			WithFile("devtools.html", "<!doctype html><title>devtools</title><script src=\"devtools.js\"></script>\n").
			WithFile("devtools.js", `const port = chrome.runtime.connect({name: "devtools:" + chrome.devtools.inspectedWindow.tabId});
port.postMessage("hello");
port.onMessage.addListener(() => {});
`).Build(GinkgoTB())
		opts := options(built.Dir)
		opts.DevTools = true
		b := launchWith(ctx, opts)
		ext := must(b.Extension(built.ID))
		worker := must(ext.Worker(ctx))
		tab := must(b.OpenTab(ctx, b.Pages().URL("/")))
		dt := must(ext.DevToolsPage(ctx, tab))
		Expect(dt.Tab).NotTo(Equal(tab), "DevTools is a window of its own")
		name := fmt.Sprintf("devtools:%d", must(tab.ChromeID(ctx)))
		saysHello(b, dt, worker, name)
		Expect(senderOf(b, OnConnect().In(worker).Named(name))).To(outsideTabs(ext, "devtools.html"))
		// Closing DevTools disconnects its page.
		Expect(dt.Tab.Close(ctx)).To(Succeed())
		Eventually(b.Trace()).Should(HaveEvent(OnDisconnect().In(worker).Named(name).WithoutLastError()))
		Eventually(dt.Gone).Should(BeTrue())
	})

	It(`reaches the content script of a sandboxed iframe, whose sender's origin is "null"`, Label("sandboxed-frame", "RS-04"), func(ctx SpecContext) {
		ctxSkipInFirefox(ctxNoIframes)
		w := openWorld(ctx, everywhere("ctx-sandboxed"))
		w.b.Pages().Handle("/top", `<!doctype html><title>top</title><iframe sandbox="allow-scripts" src="/sandboxed"></iframe>`)
		w.b.Pages().Handle("/sandboxed", `<!doctype html><title>sandboxed</title><button id=go>go</button>`)
		Expect(w.tab.Navigate(ctx, w.b.Pages().URL("/top"))).To(Succeed())
		frame := must(w.tab.Frame(ctx, w.b.Pages().URL("/sandboxed")))
		cs := must(w.ext.ContentScript(ctx, w.tab, InFrame(frame.ID)))
		name := "cs:" + strings.TrimPrefix(w.b.Pages().URL("/sandboxed"), "http://")
		saysHello(w.b, cs, w.worker, name)
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named(name))).To(inTab(
			w.ext.ID, w.b.Pages().URL("/sandboxed"), "null", BeNumerically(">", 0), w.b.Pages().URL("/top"), "top"))
		Expect(w.tab.ClickIn(ctx, frame, "#go")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).Named(name).WithMessage("clicked")))
		must(w.tab.Eval(ctx, `document.querySelector("iframe").remove()`))
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().In(w.worker).Named(name).WithoutLastError()))
		Eventually(cs.Gone).Should(BeTrue())
	})
})

// jsonString quotes s for JavaScript.
func jsonString(s string) string {
	return fmt.Sprintf("%q", s)
}
