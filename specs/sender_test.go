package specs_test

import (
	"github.com/portprobe/portprobe/probetest"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gs "github.com/onsi/gomega/gstruct"
	"github.com/onsi/gomega/types"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// documentIDFormat matches a sender.documentId.
var documentIDFormat = MatchRegexp(`^[0-9A-F]{32}$`)

// aTab matches a tabs.Tab showing url and title (extra fields allowed).
func aTab(url, title string) types.GomegaMatcher {
	return gs.MatchKeys(gs.IgnoreExtras, gs.Keys{
		"id":       BeNumerically(">", 0),
		"windowId": BeNumerically(">", 0),
		"index":    BeNumerically(">=", 0),
		"url":      Equal(url),
		"title":    Equal(title),
	})
}

// senderExtOrigin is the origin of an extension's pages and worker in Chrome.
func senderExtOrigin(id string) string { return "chrome-extension://" + id }

// senderOriginOf is the origin of x's pages and worker in either engine:
// chrome-extension://<id> in Chrome, moz-extension://<uuid> in Firefox.
func senderOriginOf(x *Extension) string { return strings.TrimSuffix(x.URL(""), "/") }

// senderDocumentID matches a sender.documentId in b's engine: Chrome's 32
// uppercase hexadecimal digits (documentIDFormat), or Firefox's UUID, such
// as "a2a15684-ede7-4331-6dce-6fdfaaeffa09".
func senderDocumentID(b *Browser) types.GomegaMatcher {
	if b.Engine() == Firefox {
		return MatchRegexp(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	}
	return documentIDFormat
}

// senderKeys turns keys, a sender's fields as Chrome gives them, into b's
// engine's. Firefox has no documentLifecycle, and adds contextId (a number
// of its own for the sending context) and envType, the kind of context:
// "content_child" for a content script, "addon_child" for the extension's
// pages (ExtensionChild.sys.mjs and ExtensionContent.sys.mjs fill them in
// for every sender). Chrome's keys are returned as they are.
func senderKeys(b *Browser, envType string, keys gs.Keys) gs.Keys {
	if b.Engine() != Firefox {
		return keys
	}
	out := gs.Keys{"contextId": BeNumerically(">", 0), "envType": Equal(envType)}
	for k, v := range keys {
		if k != "documentLifecycle" {
			out[k] = v
		}
	}
	return out
}

// senderBackground is the sender of x's background in Firefox, where it is
// a page that Firefox generates for the background scripts: its URL, the
// extension's origin and a document, and no frame or tab.
func senderBackground(b *Browser, x *Extension) gs.Keys {
	return gs.Keys{
		"id":         Equal(x.ID),
		"url":        Equal(x.URL("_generated_background_page.html")),
		"origin":     Equal(senderOriginOf(x)),
		"documentId": senderDocumentID(b),
		"contextId":  BeNumerically(">", 0),
		"envType":    Equal("addon_child"),
	}
}

// senderPageOrigin is the origin of the local page server.
func senderPageOrigin(b *Browser) string { return strings.TrimSuffix(b.Pages().URL("/"), "/") }

// framesCS is blank with its content script in every frame, where it connects
// at once with its frame's path as the port's name; the worker's own code
// listens. Frames the harness does not probe (a sandboxed iframe) still show
// up through the worker's onConnect.
func framesCS(name string) ext {
	return blank(name).
		With("content_scripts", []any{map[string]any{
			"matches":    []string{"http://127.0.0.1/*"},
			"js":         []string{"cs.js"},
			"all_frames": true,
		}}).
		WithFile("cs.js", "chrome.runtime.connect({name: location.pathname});\n").
		WithFile("worker.js", "chrome.runtime.onConnect.addListener(function () {});\n")
}

// port.sender, a runtime.MessageSender (catalog section C).
var _ = Describe("port.sender", Label("sender"), func() {
	It("is undefined on the opener's own port, and set on the receiver's", Label("RS-01"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("sender-opener"))
		tabID := csTabID(ctx, w)
		const senderOfOpener = `(() => {
			const port = CONNECT;
			return [port.sender === undefined, Object.hasOwn(port, "sender")];
		})()`
		// runtime.connect from a content script: the property exists, undefined.
		Expect(must(EvalAs[[]bool](ctx, w.cs, strings.Replace(senderOfOpener, "CONNECT", `chrome.runtime.connect({name: "opener"})`, 1)))).
			To(Equal([]bool{true, true}))
		// tabs.connect from the worker: the same.
		Expect(must(EvalAs[[]bool](ctx, w.worker, strings.Replace(senderOfOpener, "CONNECT", `chrome.tabs.connect(`+strconv.Itoa(tabID)+`, {name: "opener"})`, 1)))).
			To(Equal([]bool{true, true}))
		// The receiving end of the first one has a sender.
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("opener").WithSender("id", w.ext.ID)))
	})

	It("of a content script in a tab has exactly id, url, origin, frameId, documentId, documentLifecycle and tab", Label("RS-02", "differs", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("sender-cs"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		must(w.cs.Connect(ctx, map[string]any{"name": "from-cs"}))
		url := w.b.Pages().URL("/")
		// Catalog: documentId is "a UUID string". Chrome 156: 32 uppercase
		// hexadecimal digits with no dashes, such as
		// "5826C936B187A2938DFDE6F0C1C9355C". Firefox: a UUID, no
		// documentLifecycle, and contextId and envType (senderKeys).
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("from-cs"))).To(gs.MatchAllKeys(senderKeys(w.b, "content_child", gs.Keys{
			"id":                Equal(w.ext.ID),
			"url":               Equal(url),
			"origin":            Equal(senderPageOrigin(w.b)),
			"frameId":           BeNumerically("==", 0),
			"documentId":        senderDocumentID(w.b),
			"documentLifecycle": Equal("active"),
			"tab":               aTab(url, "portprobe test page"),
		})))
	})

	It("of a content script in an iframe has the iframe's URL and a positive frameId, while tab.url is the top page's", Label("RS-03", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, framesCS("sender-iframe"))
		w.b.Pages().Handle("/top", `<!doctype html><title>top</title><iframe src="/inner"></iframe>`)
		must(w.b.OpenTab(ctx, w.b.Pages().URL("/top")))
		top := senderOf(w.b, OnConnect().In(w.worker).Named("/top"))
		inner := senderOf(w.b, OnConnect().In(w.worker).Named("/inner"))
		Expect(top).To(gs.MatchKeys(gs.IgnoreExtras, gs.Keys{
			"url":     Equal(w.b.Pages().URL("/top")),
			"frameId": BeNumerically("==", 0),
		}))
		// Firefox: the fields of senderKeys; its frameId for an iframe is
		// a large number (a browsing context's ID), still positive.
		Expect(inner).To(gs.MatchAllKeys(senderKeys(w.b, "content_child", gs.Keys{
			"id":                Equal(w.ext.ID),
			"url":               Equal(w.b.Pages().URL("/inner")),
			"origin":            Equal(senderPageOrigin(w.b)),
			"frameId":           BeNumerically(">", 0),
			"documentId":        And(senderDocumentID(w.b), Not(Equal(top["documentId"]))),
			"documentLifecycle": Equal("active"),
			"tab":               aTab(w.b.Pages().URL("/top"), "top"),
		})))
	})

	It(`of a content script in a sandboxed iframe has origin "null" and the frame's real URL`, Label("RS-04", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, framesCS("sender-sandboxed"))
		w.b.Pages().Handle("/top", `<!doctype html><title>top</title><iframe sandbox="allow-scripts" src="/sandboxed"></iframe>`)
		must(w.b.OpenTab(ctx, w.b.Pages().URL("/top")))
		// Firefox: the same, with the fields of senderKeys.
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("/sandboxed"))).To(gs.MatchAllKeys(senderKeys(w.b, "content_child", gs.Keys{
			"id":                Equal(w.ext.ID),
			"url":               Equal(w.b.Pages().URL("/sandboxed")),
			"origin":            Equal("null"),
			"frameId":           BeNumerically(">", 0),
			"documentId":        senderDocumentID(w.b),
			"documentLifecycle": Equal("active"),
			"tab":               aTab(w.b.Pages().URL("/top"), "top"),
		})))
	})

	It("of an extension page outside any tab (an offscreen document) is only id, url and origin", Label("RS-05", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("sender-offscreen").
			With("permissions", []string{"offscreen"}).
			WithFile("worker.js", "chrome.runtime.onConnect.addListener(function () {});\n").
			WithFile("offscreen.html", "<!doctype html><script src=\"offscreen.js\"></script>\n").
			WithFile("offscreen.js", "chrome.runtime.connect({name: 'from-offscreen'});\n"))
		if w.b.Engine() == Firefox {
			// Firefox has no offscreen documents: the permission is not
			// one it knows (it installs the extension with a warning and
			// without it), and chrome.offscreen is undefined.
			Expect(must(EvalAs[[]any](ctx, w.worker, `[typeof chrome.offscreen, typeof browser.offscreen, chrome.runtime.getManifest().permissions]`))).
				To(Equal([]any{"undefined", "undefined", []any{}}))
			return
		}
		must(w.worker.Eval(ctx, `chrome.offscreen.createDocument({
			url: "offscreen.html", reasons: ["DOM_PARSER"], justification: "a sender outside any tab"})`))
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("from-offscreen"))).To(gs.MatchAllKeys(gs.Keys{
			"id":     Equal(w.ext.ID),
			"url":    Equal(w.ext.URL("offscreen.html")),
			"origin": Equal(senderOriginOf(w.ext)),
		}))
	})

	It("of an extension page in a tab has the tab and frame fields as well as id, url and origin", Label("RS-06", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("sender-page"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		must(page.Connect(ctx, map[string]any{"name": "from-page"}))
		Expect(senderOf(w.b, OnConnect().In(w.worker).Named("from-page"))).To(extPageInTabSender(w))
	})

	It("of the service worker, as an extension page receives it, is only id and the script URL, with no origin", Label("RS-07", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("sender-worker"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(page.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		must(w.worker.Connect(ctx, map[string]any{"name": "from-worker"}))
		if w.b.Engine() == Firefox {
			// Firefox runs the background scripts in a page of its own:
			// the sender is that page, with its URL, origin and document
			// (senderBackground).
			Expect(senderOf(w.b, OnConnect().In(page).Named("from-worker"))).To(gs.MatchAllKeys(senderBackground(w.b, w.ext)))
			return
		}
		Expect(senderOf(w.b, OnConnect().In(page).Named("from-worker"))).To(gs.MatchAllKeys(gs.Keys{
			"id":  Equal(w.ext.ID),
			"url": Equal(w.ext.URL("worker.js")),
		}))
	})

	DescribeTable("seen by a content script receiving tabs.connect is id, the opener's URL and the extension's origin, with no tab",
		Label("RS-08", "firefox-differs"),
		func(ctx SpecContext, fromPage bool) {
			w := openWorld(ctx, blank("sender-tabs-connect"))
			tabID := csTabID(ctx, w)
			opener, url := w.worker, w.ext.URL("worker.js")
			if fromPage {
				_, opener = must2(w.ext.OpenPage(ctx, "page.html"))
				url = w.ext.URL("page.html")
			}
			Expect(w.cs.ListenConnect(ctx, KindOnConnect)).To(Succeed())
			must(opener.ConnectTab(ctx, tabID, map[string]any{"name": "to-tab"}))
			if w.b.Engine() == Firefox {
				// Firefox gives the opener's whole sender, as for
				// runtime.connect: the background page's
				// (senderBackground), or the page's with its tab and
				// frame.
				want := senderBackground(w.b, w.ext)
				if fromPage {
					want = senderKeys(w.b, "addon_child", gs.Keys{
						"id":         Equal(w.ext.ID),
						"url":        Equal(url),
						"origin":     Equal(senderOriginOf(w.ext)),
						"frameId":    BeNumerically("==", 0),
						"documentId": senderDocumentID(w.b),
						"tab":        aTab(url, "page"),
					})
				}
				Expect(senderOf(w.b, OnConnect().In(w.cs).Named("to-tab"))).To(gs.MatchAllKeys(want))
				return
			}
			Expect(senderOf(w.b, OnConnect().In(w.cs).Named("to-tab"))).To(gs.MatchAllKeys(gs.Keys{
				"id":     Equal(w.ext.ID),
				"url":    Equal(url),
				"origin": Equal(senderOriginOf(w.ext)),
			}))
		},
		Entry("from the service worker", false),
		Entry("from an extension page in a tab", true),
	)

	It("carries the tab's url and title although the extension lacks the tabs permission", Label("RS-09", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("sender-unscrubbed"))
		Expect(w.ext.Manifest.Permissions).To(BeEmpty())
		tabID := csTabID(ctx, w)
		tab := senderOf(w.b, OnConnect().In(w.worker).Named("tab-id"))["tab"]
		Expect(tab).To(aTab(w.b.Pages().URL("/"), "portprobe test page"))
		// The same tab from tabs.query, in the same worker, is scrubbed.
		scrubbed := must(EvalAs[map[string]any](ctx, w.worker,
			`chrome.tabs.query({}).then((tabs) => tabs.find((t) => t.id === `+strconv.Itoa(tabID)+`))`))
		Expect(scrubbed).To(HaveKeyWithValue("id", BeNumerically("==", tabID)))
		if w.b.Engine() == Firefox {
			// Firefox shows a tab's url and title to an extension whose
			// host permissions match the tab's URL (ext-tabs-base.js,
			// TabBase.matchesHostPermission); this one has no permissions
			// key, but its content script's matches count (seen here): the
			// tab comes unscrubbed.
			Expect(scrubbed).To(aTab(w.b.Pages().URL("/"), "portprobe test page"))
			return
		}
		Expect(scrubbed).NotTo(HaveKey("url"))
		Expect(scrubbed).NotTo(HaveKey("title"))
	})

	It("of a web page (externally_connectable) has no id, but url, origin, the frame fields and tab", Label("RS-10", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("sender-web").
			With("externally_connectable", map[string]any{"matches": []string{"http://127.0.0.1/*"}}))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		if w.b.Engine() == Firefox {
			// Firefox does not support externally_connectable: a web page
			// gets no extension API at all, so it has no runtime.connect
			// to call. Seen from the content script, through the page's
			// own window (wrappedJSObject).
			Expect(must(EvalAs[[]string](ctx, w.cs, `[typeof window.wrappedJSObject, typeof window.wrappedJSObject.chrome, typeof window.wrappedJSObject.browser]`))).
				To(Equal([]string{"object", "undefined", "undefined"}))
			return
		}
		web := must(w.tab.ProbeWebPage(ctx))
		must(web.Connect(ctx, w.ext.ID, map[string]any{"name": "from-web"}))
		url := w.b.Pages().URL("/")
		// The catalog names url, origin, tab and frameId; Chrome 156 also
		// gives documentId and documentLifecycle, as for a content script.
		Expect(senderOf(w.b, OnConnectExternal().In(w.worker).Named("from-web"))).To(gs.MatchAllKeys(gs.Keys{
			"url":               Equal(url),
			"origin":            Equal(senderPageOrigin(w.b)),
			"frameId":           BeNumerically("==", 0),
			"documentId":        documentIDFormat,
			"documentLifecycle": Equal("active"),
			"tab":               aTab(url, "portprobe test page"),
		}))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect().In(w.worker).Named("from-web")))
	})

	DescribeTable("has tlsChannelId \"\" only when the receiver's externally_connectable accepts it, whatever includeTlsChannelId says",
		Label("RS-11", "firefox-differs"),
		func(ctx SpecContext, externallyConnectable map[string]any, connectInfo map[string]any, tlsChannelID types.GomegaMatcher) {
			e := blank("sender-tls")
			if externallyConnectable != nil {
				e = e.With("externally_connectable", externallyConnectable)
			}
			w := openWorld(ctx, e)
			Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
			connectInfo["name"] = "tls"
			// includeTlsChannelId is accepted: connect does not throw.
			must(w.cs.Connect(ctx, connectInfo))
			if w.b.Engine() == Firefox {
				// Firefox ignores externally_connectable and has no TLS
				// channel IDs: the sender never has tlsChannelId.
				tlsChannelID = Not(HaveKey("tlsChannelId"))
			}
			Expect(senderOf(w.b, OnConnect().In(w.worker).Named("tls"))).To(tlsChannelID)
		},
		Entry("no externally_connectable, includeTlsChannelId true: absent",
			nil, map[string]any{"includeTlsChannelId": true}, Not(HaveKey("tlsChannelId"))),
		Entry("accepts_tls_channel_id with matches, includeTlsChannelId true: empty string",
			map[string]any{"matches": []string{"http://127.0.0.1/*"}, "accepts_tls_channel_id": true},
			map[string]any{"includeTlsChannelId": true}, HaveKeyWithValue("tlsChannelId", "")),
		Entry("accepts_tls_channel_id with matches, includeTlsChannelId false: empty string",
			map[string]any{"matches": []string{"http://127.0.0.1/*"}, "accepts_tls_channel_id": true},
			map[string]any{"includeTlsChannelId": false}, HaveKeyWithValue("tlsChannelId", "")),
		Entry("accepts_tls_channel_id with matches, no includeTlsChannelId: empty string",
			map[string]any{"matches": []string{"https://example.com/*"}, "accepts_tls_channel_id": true},
			map[string]any{}, HaveKeyWithValue("tlsChannelId", "")),
		// Catalog: accepts_tls_channel_id: true alone gives tlsChannelId "".
		// Chrome 156: without "matches" the manifest handler turns
		// accepts_tls_channel_id off (install warning), so the key is absent.
		Entry("accepts_tls_channel_id with ids but no matches: absent", Label("differs"),
			map[string]any{"ids": []string{"*"}, "accepts_tls_channel_id": true},
			map[string]any{"includeTlsChannelId": true}, Not(HaveKey("tlsChannelId"))),
	)

	It("of another extension's worker is that extension's id and script URL, through onConnectExternal", Label("RS-12", "firefox-differs"), func(ctx SpecContext) {
		other := senderOtherExtension()
		w := openWorld(ctx, blank("sender-cross-worker"), other)
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		otherExt := must(w.b.Extension(other.IDIn(w.b)))
		otherWorker := must(otherExt.Worker(ctx))
		must(otherWorker.Connect(ctx, w.ext.ID, map[string]any{"name": "cross"}))
		want := gs.Keys{
			"id":  Equal(other.IDIn(w.b)),
			"url": Equal(otherExt.URL("worker.js")),
		}
		if w.b.Engine() == Firefox {
			// The other extension's generated background page
			// (senderBackground).
			want = senderBackground(w.b, otherExt)
		}
		Expect(senderOf(w.b, OnConnectExternal().In(w.worker).Named("cross"))).To(gs.MatchAllKeys(want))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnect().In(w.worker)))
	})

	It("of another extension's content script is that extension's id with the tab and frame fields", Label("RS-12", "firefox-differs"), func(ctx SpecContext) {
		other := senderOtherExtension()
		w := openWorld(ctx, blank("sender-cross-cs"), other)
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		otherCS := must(must(w.b.Extension(other.IDIn(w.b))).ContentScript(ctx, w.tab))
		must(otherCS.Connect(ctx, w.ext.ID, map[string]any{"name": "cross"}))
		url := w.b.Pages().URL("/")
		// Firefox: with the fields of senderKeys.
		Expect(senderOf(w.b, OnConnectExternal().In(w.worker).Named("cross"))).To(gs.MatchAllKeys(senderKeys(w.b, "content_child", gs.Keys{
			"id":                Equal(other.IDIn(w.b)),
			"url":               Equal(url),
			"origin":            Equal(senderPageOrigin(w.b)),
			"frameId":           BeNumerically("==", 0),
			"documentId":        senderDocumentID(w.b),
			"documentLifecycle": Equal("active"),
			"tab":               aTab(url, "portprobe test page"),
		})))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnect().In(w.worker)))
	})
})

// senderOtherExtension is a second extension, with a known ID, that has a
// worker and a content script on the local page server and no messaging code.
func senderOtherExtension() probetest.Built {
	GinkgoHelper()
	other := blank("other")
	other.Keyed = true
	return other.Build(GinkgoTB())
}

// extPageInTabSender matches the sender of the blank extension's page.html
// open in a tab, as a port's onConnect and a message's onMessage see it, in
// w's engine (Firefox: with the fields of senderKeys).
func extPageInTabSender(w world) types.GomegaMatcher {
	return gs.MatchAllKeys(senderKeys(w.b, "addon_child", gs.Keys{
		"id":                Equal(w.ext.ID),
		"url":               Equal(w.ext.URL("page.html")),
		"origin":            Equal(senderOriginOf(w.ext)),
		"frameId":           BeNumerically("==", 0),
		"documentId":        senderDocumentID(w.b),
		"documentLifecycle": Equal("active"),
		"tab":               aTab(w.ext.URL("page.html"), "page"),
	}))
}
