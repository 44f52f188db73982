package specs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/portprobe/portprobe/probetest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// rxInvocation is the start of every schema error that runtime.connect throws
// (catalog INVOCATION).
const rxInvocation = "TypeError: Error in invocation of runtime.connect(optional string extensionId, optional object connectInfo): "

// rxWebPageNeedsID is Chrome's error when a web page calls connect without an
// extension ID (catalog WEBPAGE_NEEDS_ID).
const rxWebPageNeedsID = "chrome.runtime.connect() called from a webpage must specify an Extension ID (string) for its first argument."

// rxNothingSpecified is the manifest warning for an externally_connectable key
// with neither "matches" nor "ids".
const rxNothingSpecified = "'externally_connectable' specifies neither 'matches' nor 'ids'; nothing will be able to connect"

// rxWorkerOnly is a keyed extension (its ID is known before launch) with only a
// service worker, and more manifest keys. Without a content script, nothing of
// it runs in web pages.
func rxWorkerOnly(name string, manifest map[string]any) probetest.Built {
	GinkgoHelper()
	// Firefox runs background.scripts (it refuses background.service_worker
	// alone), and pauses a script only at a statement with an effect.
	m := map[string]any{"background": map[string]any{"service_worker": "worker.js", "scripts": []string{"worker.js"}}}
	for k, v := range manifest {
		m[k] = v
	}
	return ext{Name: name, Manifest: m, Files: map[string]string{"worker.js": "self.portprobeFixture = 'worker';\n"}, Keyed: true}.Build(GinkgoTB())
}

// rxBackgroundURL is the url of the sender that the extension's background
// is: its worker script in Chrome. Firefox runs background.scripts in a
// background page it generates, _generated_background_page.html, and a
// sender's url is that page's (toolkit/components/extensions/parent/
// ext-backgroundPage.js: BackgroundPage, isGenerated for background.scripts).
func rxBackgroundURL(b *Browser, e *Extension) string {
	if b.Engine() == Firefox {
		return e.URL("_generated_background_page.html")
	}
	return e.URL("worker.js")
}

// rxCaller is a keyed extension with a worker and a content script on the
// local page server, to open ports to another extension from both.
func rxCaller(name string) probetest.Built {
	GinkgoHelper()
	e := blank(name)
	e.Keyed = true
	return e.Build(GinkgoTB())
}

// rxWorkerOf returns the service worker realm of the extension with this ID.
func rxWorkerOf(ctx context.Context, b *Browser, id string) *Realm {
	GinkgoHelper()
	return must(must(b.Extension(id)).Worker(ctx))
}

// rxTypeofRuntime returns typeof chrome.runtime in the main world of the tab's
// page. Web pages always have a chrome object (loadTimes, csi, app).
func rxTypeofRuntime(ctx context.Context, t *Tab) string {
	GinkgoHelper()
	var s string
	Expect(json.Unmarshal(must(t.Eval(ctx, `typeof chrome === "object" ? typeof chrome.runtime : "no chrome"`)), &s)).To(Succeed())
	return s
}

// rxFirefoxSetEnabledRefused is how Firefox's management.setEnabled rejects
// for an extension that is not a theme.
const rxFirefoxSetEnabledRefused = "Error: setEnabled can only be used for themes or by addons installed by enterprise policy"

// rxManifestWarnings returns the messages of the manifest warnings that
// chrome://extensions shows for the extension in developer mode. No harness
// API gives them, so the spec asks the extensions page's own
// chrome.developerPrivate API.
func rxManifestWarnings(ctx context.Context, b *Browser, id string) []string {
	GinkgoHelper()
	t := must(b.OpenTab(ctx, "chrome://extensions/"))
	raw := must(t.Eval(ctx, fmt.Sprintf(`chrome.developerPrivate.updateProfileConfiguration({inDeveloperMode: true})
		.then(() => chrome.developerPrivate.getExtensionInfo(%q))
		.then((info) => info.manifestErrors.map((e) => e.message).concat(info.installWarnings))`, id)))
	var msgs []string
	Expect(json.Unmarshal(raw, &msgs)).To(Succeed())
	// blank lists its worker under background.scripts too, for Firefox;
	// Chrome warns about that key in Manifest V3, which is not what these
	// specs are about.
	return slices.DeleteFunc(msgs, func(m string) bool { return m == "'background.scripts' requires manifest version of 2 or lower." })
}

// rxIDBeforeLaunch is e's ID in the engine the suite runs, for another
// extension's manifest, before any browser is launched.
func rxIDBeforeLaunch(e probetest.Built) string {
	GinkgoHelper()
	if options().Browser == Firefox {
		return e.GeckoID
	}
	return e.ID
}

// rxFirefoxIgnoresMatches is what a spec about web pages and
// externally_connectable.matches checks in Firefox, which does not implement
// the key: its manifest schema has no externally_connectable
// (toolkit/components/extensions/schemas/manifest.json), so it loads an
// extension with any value there, and no web page gets a runtime: a page
// that the extensions' patterns cover has no chrome (nor browser) object.
func rxFirefoxIgnoresMatches(ctx context.Context, exts ...probetest.Built) *Browser {
	GinkgoHelper()
	dirs := []string{}
	for _, e := range exts {
		dirs = append(dirs, e.Dir)
	}
	b := launch(ctx, dirs...)
	for _, e := range exts {
		must(b.Extension(e.IDIn(b)))
	}
	tab := must(b.OpenTab(ctx, b.Pages().URL("/")))
	Expect(must(tab.Eval(ctx, `[typeof chrome, typeof browser]`))).To(MatchJSON(`["undefined", "undefined"]`))
	return b
}

// rxWeb is a browser with a web page on the local page server, probed in its
// main world, and the extensions given to rxOpenWeb.
type rxWeb struct {
	b    *Browser
	tab  *Tab
	page *Realm
}

// rxOpenWeb launches the extensions and opens the local page server's "/" with
// the probe in the page's main world. Some extension must make the page
// externally connectable, or the page has no chrome.runtime to probe.
func rxOpenWeb(ctx context.Context, exts ...probetest.Built) rxWeb {
	GinkgoHelper()
	dirs := []string{}
	for _, e := range exts {
		dirs = append(dirs, e.Dir)
	}
	b := launch(ctx, dirs...)
	tab := must(b.OpenTab(ctx, b.Pages().URL("/")))
	return rxWeb{b: b, tab: tab, page: must(tab.ProbeWebPage(ctx))}
}

// Cross-extension messaging and externally_connectable (catalog section G).
var _ = Describe("connecting to another extension", Label("cross-extension"), func() {
	It("fires onConnectExternal in the other extension, never its onConnect, with the caller's ID as sender.id", Label("RX-01", "firefox-differs"), func(ctx SpecContext) {
		caller := rxCaller("rx01-caller")
		w := openWorld(ctx, blank("rx01-target"), caller)
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		callerID := caller.IDIn(w.b)
		port := must(rxWorkerOf(ctx, w.b, callerID).Connect(ctx, w.ext.ID, map[string]any{"name": "cross"}))
		// Firefox: the sender's url is the caller's generated background
		// page (rxBackgroundURL).
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(w.worker).Named("cross").
			WithSender("id", callerID).
			WithSender("url", rxBackgroundURL(w.b, must(w.b.Extension(callerID))))))
		// The channel works like any other.
		Expect(port.Post(ctx, greeting("hello"))).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).Named("cross").WithMessage(greeting("hello"))))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnect()))
	})

	It("without an externally_connectable key, admits every other extension's worker and content scripts", Label("RX-02"), func(ctx SpecContext) {
		caller := rxCaller("rx02-caller")
		w := openWorld(ctx, blank("rx02-target"), caller)
		Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		callerExt := must(w.b.Extension(caller.IDIn(w.b)))
		must(must(callerExt.Worker(ctx)).Connect(ctx, w.ext.ID, map[string]any{"name": "from-worker"}))
		must(must(callerExt.ContentScript(ctx, w.tab)).Connect(ctx, w.ext.ID, map[string]any{"name": "from-cs"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(w.worker).Named("from-worker").WithSender("id", callerExt.ID)))
		// A content script of the other extension is that extension too, with its tab.
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(w.worker).Named("from-cs").
			WithSender("id", callerExt.ID).
			WithSender("tab.url", w.b.Pages().URL("/"))))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().Where("has an error", func(e Event) bool { return e.LastError != "" || e.Error != "" })))
	})

	It("without any externally_connectable key, gives web pages no chrome.runtime", Label("RX-02", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rx02-no-pages"))
		// The extension's content script is in the tab, but the page's own
		// world is not an extension context.
		if w.b.Engine() == Firefox {
			// Firefox gives web pages no chrome object at all (Chrome's
			// pages always have one, with loadTimes, csi and app).
			Expect(rxTypeofRuntime(ctx, w.tab)).To(Equal("no chrome"))
			return
		}
		Expect(rxTypeofRuntime(ctx, w.tab)).To(Equal("undefined"))
	})

	It("with an ids allowlist, refuses other extensions with the same error as an ID that is not installed", Label("RX-03", "firefox-differs"), func(ctx SpecContext) {
		listed := rxCaller("rx03-listed")
		unlisted := rxCaller("rx03-unlisted")
		w := openWorld(ctx, blank("rx03-target").With("externally_connectable", map[string]any{"ids": []string{rxIDBeforeLaunch(listed)}}), listed, unlisted)
		Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		must(rxWorkerOf(ctx, w.b, listed.IDIn(w.b)).Connect(ctx, w.ext.ID, map[string]any{"name": "listed"}))
		unlistedWorker := rxWorkerOf(ctx, w.b, unlisted.IDIn(w.b))
		must(unlistedWorker.Connect(ctx, w.ext.ID, map[string]any{"name": "unlisted"}))
		must(unlistedWorker.Connect(ctx, strings.Repeat("c", 32), map[string]any{"name": "not-installed"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(w.worker).Named("listed").WithSender("id", listed.IDIn(w.b))))
		if w.b.Engine() == Firefox {
			// Firefox ignores externally_connectable (rxFirefoxIgnoresMatches):
			// the unlisted extension connects too, and only the ID that is
			// not installed fails, on port.error.
			Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(w.worker).Named("unlisted").WithSender("id", unlisted.IDIn(w.b))))
			Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().In(unlistedWorker).Named("not-installed"), noReceiver)))
			Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().In(unlistedWorker).Named("unlisted")))
			return
		}
		refused := eventOf(w.b, OnDisconnect().In(unlistedWorker).Named("unlisted"))
		missing := eventOf(w.b, OnDisconnect().In(unlistedWorker).Named("not-installed"))
		Expect(refused.LastError).To(Equal(noReceiver))
		Expect(refused.LastError).To(Equal(missing.LastError), "a refusal must not tell that the extension exists")
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnectExternal().Named("unlisted")))
	})

	DescribeTable("decides from externally_connectable which other extensions may connect",
		Label("RX-03", "firefox-differs"),
		func(ctx SpecContext, key func(listed string) map[string]any, listedAdmitted, otherAdmitted bool) {
			listed := rxCaller("rx03-a")
			other := rxCaller("rx03-b")
			w := openWorld(ctx, blank("rx03-keys").With("externally_connectable", key(rxIDBeforeLaunch(listed))), listed, other)
			Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
			for name, c := range map[string]probetest.Built{"listed": listed, "other": other} {
				must(rxWorkerOf(ctx, w.b, c.IDIn(w.b)).Connect(ctx, w.ext.ID, map[string]any{"name": name}))
			}
			if w.b.Engine() == Firefox {
				// Firefox ignores externally_connectable
				// (rxFirefoxIgnoresMatches): every extension is admitted.
				listedAdmitted, otherAdmitted = true, true
			}
			var unexpected []types.GomegaMatcher
			for name, admitted := range map[string]bool{"listed": listedAdmitted, "other": otherAdmitted} {
				if admitted {
					Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(w.worker).Named(name)))
					unexpected = append(unexpected, HaveEvent(closedWith(w.b, OnDisconnect().Named(name), noReceiver)))
				} else {
					Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().Named(name).WithLastError(noReceiver)))
					unexpected = append(unexpected, HaveEvent(OnConnectExternal().Named(name)))
				}
			}
			Consistently(w.b.Trace()).ShouldNot(Or(unexpected...))
		},
		Entry(`"ids": ["*"] admits every extension`,
			func(string) map[string]any { return map[string]any{"ids": []string{"*"}} }, true, true),
		Entry(`"ids": [] admits none`,
			func(string) map[string]any { return map[string]any{"ids": []string{}} }, false, false),
		Entry(`"matches" without "ids" admits no extension`,
			func(string) map[string]any { return map[string]any{"matches": []string{"http://127.0.0.1/*"}} }, false, false),
		Entry(`"ids": [listed] with "matches" admits the listed one only`,
			func(id string) map[string]any {
				return map[string]any{"ids": []string{id}, "matches": []string{"http://127.0.0.1/*"}}
			}, true, false),
	)

	It("to a well-formed ID that is not installed, throws nothing and fails through onDisconnect", Label("RX-04", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("rx04-caller"))
		missing := strings.Repeat("c", 32)
		port := must(w.worker.Connect(ctx, missing, map[string]any{"name": "to-nobody"}))
		// Firefox: the error is on port.error, not runtime.lastError.
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			Connect().OnPort(port).Named("to-nobody"),
			closedWith(w.b, OnDisconnect().OnPort(port), noReceiver),
		))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
	})

	It("to a disabled extension, fails through onDisconnect as if it were not installed", Label("RX-04", "firefox-differs"), func(ctx SpecContext) {
		// A third extension with the "management" permission turns the target off.
		manager := rxWorkerOnly("rx04-manager", map[string]any{"permissions": []string{"management"}})
		target := rxWorkerOnly("rx04-target", nil)
		w := openWorld(ctx, blank("rx04-opener"), manager, target)
		targetID := target.IDIn(w.b)
		Expect(rxWorkerOf(ctx, w.b, targetID).ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		must(w.worker.Connect(ctx, targetID, map[string]any{"name": "while-enabled"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().Named("while-enabled")))

		setEnabled := fmt.Sprintf(`chrome.management.setEnabled(%q, false).then(() => chrome.management.get(%q)).then((info) => info.enabled)`, targetID, targetID)
		if w.b.Engine() == Firefox {
			// Firefox's management.setEnabled turns only themes on and off
			// (toolkit/components/extensions/parent/ext-management.js); the
			// spec disables the target through the harness instead.
			_, err := rxWorkerOf(ctx, w.b, manager.IDIn(w.b)).Eval(ctx, setEnabled)
			Expect(thrownText(err)).To(Equal(rxFirefoxSetEnabledRefused))
			Expect(must(w.b.Extension(targetID)).Disable(ctx)).To(Succeed())
		} else {
			Expect(must(EvalAs[bool](ctx, rxWorkerOf(ctx, w.b, manager.IDIn(w.b)), setEnabled))).To(BeFalse())
		}
		port := must(w.worker.Connect(ctx, targetID, map[string]any{"name": "while-disabled"}))
		Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnectExternal().Named("while-disabled")))
	})

	It("to an extension with onConnect but no onConnectExternal listener, fails with NO_RECEIVER", Label("RX-05", "firefox-differs"), func(ctx SpecContext) {
		caller := rxCaller("rx05-caller")
		w := openWorld(ctx, blank("rx05-target"), caller)
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(rxWorkerOf(ctx, w.b, caller.IDIn(w.b)).Connect(ctx, w.ext.ID, map[string]any{"name": "unheard"}))
		// Firefox: the error is on port.error, not runtime.lastError.
		Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnect()))
	})

	DescribeTable("with a malformed ID, throws at once in a web page as in an extension",
		Label("RE-02", "firefox-differs"),
		func(ctx SpecContext, id string) {
			target := rxWorkerOnly("rx09-target", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}}})
			if options().Browser == Firefox {
				// Firefox: the page has no runtime to call connect on.
				rxFirefoxIgnoresMatches(ctx, target)
				return
			}
			web := rxOpenWeb(ctx, target)
			// Not the "must specify an Extension ID" error of RX-07: the ID
			// is checked for its form first.
			_, err := web.page.Connect(ctx, id, map[string]any{"name": "bad-id"})
			Expect(thrownText(err)).To(Equal(rxInvocation + "Invalid extension id: '" + id + "'"))
			Eventually(web.b.Trace()).Should(HaveEvent(Exception().In(web.page).WithError(rxInvocation + "Invalid extension id: '" + id + "'")))
			Expect(web.b.Trace()).NotTo(HaveEvent(Connect()))
		},
		Entry("a short word", "foo"),
		Entry("31 letters", strings.Repeat("c", 31)),
		Entry("33 letters", strings.Repeat("c", 33)),
		Entry("32 letters outside a-p", strings.Repeat("q", 32)),
		Entry("a valid ID with a leading space", " "+strings.Repeat("c", 32)),
	)

	It("matches IDs case-sensitively: the upper-case form of an installed ID passes the check but reaches nothing", Label("RE-02", "firefox-differs"), func(ctx SpecContext) {
		caller := rxCaller("rx09-caller")
		w := openWorld(ctx, blank("rx09-target"), caller)
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		port := must(rxWorkerOf(ctx, w.b, caller.IDIn(w.b)).Connect(ctx, strings.ToUpper(w.ext.ID), map[string]any{"name": "upper"}))
		// Firefox: the error is on port.error, not runtime.lastError.
		Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnConnectExternal()))
	})

	It("gives chrome.runtime only to pages that some extension's externally_connectable.matches covers", Label("RX-06", "firefox-differs"), func(ctx SpecContext) {
		target := rxWorkerOnly("rx06-target", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}}})
		if options().Browser == Firefox {
			// Firefox: not even the covered page has a runtime.
			rxFirefoxIgnoresMatches(ctx, target)
			return
		}
		b := launch(ctx, target.Dir)
		matching := must(b.OpenTab(ctx, b.Pages().URL("/")))
		Expect(rxTypeofRuntime(ctx, matching)).To(Equal("object"))
		// The same server under another host name is another origin the
		// pattern does not cover.
		other := strings.Replace(b.Pages().URL("/"), "127.0.0.1", "localhost", 1)
		notMatching := must(b.OpenTab(ctx, other))
		Expect(rxTypeofRuntime(ctx, notMatching)).To(Equal("undefined"))
	})

	It("gives a page no chrome.runtime when the only externally_connectable extension names other hosts", Label("RX-06", "firefox-differs"), func(ctx SpecContext) {
		target := rxWorkerOnly("rx06-elsewhere", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://example.com/*"}}})
		b := launch(ctx, target.Dir)
		tab := must(b.OpenTab(ctx, b.Pages().URL("/")))
		if b.Engine() == Firefox {
			// Firefox gives web pages no chrome object at all.
			Expect(rxTypeofRuntime(ctx, tab)).To(Equal("no chrome"))
			return
		}
		Expect(rxTypeofRuntime(ctx, tab)).To(Equal("undefined"))
	})

	It("exposes on a web page only connect, sendMessage, an undefined id, dynamicId and the runtime enums", Label("RX-06", "differs", "firefox-differs"), func(ctx SpecContext) {
		// Catalog: only connect, sendMessage and id (undefined).
		// Chrome 156: also dynamicId (undefined) and the enum objects
		// ContextType, OnInstalledReason, OnRestartRequiredReason,
		// PlatformArch, PlatformNaclArch, PlatformOs and RequestUpdateCheckStatus.
		target := rxWorkerOnly("rx06-members", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}}})
		if options().Browser == Firefox {
			// Firefox: the page has no runtime, so no members.
			rxFirefoxIgnoresMatches(ctx, target)
			return
		}
		web := rxOpenWeb(ctx, target)
		members := must(EvalAs[map[string]string](ctx, web.page, `Object.fromEntries(
			Object.getOwnPropertyNames(chrome.runtime).map((k) => [k, typeof chrome.runtime[k]]))`))
		Expect(members).To(Equal(map[string]string{
			"connect":                  "function",
			"sendMessage":              "function",
			"id":                       "undefined",
			"dynamicId":                "undefined",
			"ContextType":              "object",
			"OnInstalledReason":        "object",
			"OnRestartRequiredReason":  "object",
			"PlatformArch":             "object",
			"PlatformNaclArch":         "object",
			"PlatformOs":               "object",
			"RequestUpdateCheckStatus": "object",
		}))
		absent := must(EvalAs[[]string](ctx, web.page, `["onConnect", "onMessage", "onConnectExternal", "getURL", "lastError", "getManifest"]
			.filter((k) => k in chrome.runtime)`))
		Expect(absent).To(BeEmpty())
	})

	DescribeTable("from a web page, requires the extension ID as the first argument",
		Label("RX-07", "firefox-differs"),
		func(ctx SpecContext, args string) {
			target := rxWorkerOnly("rx07-target", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}}})
			if options().Browser == Firefox {
				// Firefox: the page has no runtime to call connect on.
				rxFirefoxIgnoresMatches(ctx, target)
				return
			}
			web := rxOpenWeb(ctx, target)
			Expect(rxWorkerOf(ctx, web.b, target.ID).ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
			_, err := web.page.ConnectJS(ctx, args)
			Expect(thrownText(err)).To(Equal(rxInvocation + rxWebPageNeedsID))
			Consistently(web.b.Trace()).ShouldNot(HaveEvent(OnConnectExternal()))
		},
		Entry("connect()", ``),
		Entry("connect(undefined)", `undefined`),
		Entry("connect(null)", `null`),
		Entry(`connect("")`, `""`),
		Entry("connect(connectInfo)", `{name: "x"}`),
		Entry(`connect("", connectInfo)`, `"", {name: "x"}`),
	)

	It("from a web page, fails with NO_RECEIVER toward extensions that do not list the page, as toward one not installed", Label("RX-08", "firefox-differs"), func(ctx SpecContext) {
		listing := rxWorkerOnly("rx08-listing", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}}})
		noKey := rxWorkerOnly("rx08-no-key", nil)
		elsewhere := rxWorkerOnly("rx08-elsewhere", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://example.com/*"}}})
		if options().Browser == Firefox {
			// Firefox: the page has no runtime to call connect on.
			rxFirefoxIgnoresMatches(ctx, listing, noKey, elsewhere)
			return
		}
		web := rxOpenWeb(ctx, listing, noKey, elsewhere)
		for _, e := range []probetest.Built{listing, noKey, elsewhere} {
			Expect(rxWorkerOf(ctx, web.b, e.ID).ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		}
		must(web.page.Connect(ctx, noKey.ID, map[string]any{"name": "no-key"}))
		must(web.page.Connect(ctx, elsewhere.ID, map[string]any{"name": "elsewhere"}))
		must(web.page.Connect(ctx, strings.Repeat("c", 32), map[string]any{"name": "not-installed"}))
		must(web.page.Connect(ctx, listing.ID, map[string]any{"name": "listing"}))
		for _, name := range []string{"no-key", "elsewhere", "not-installed"} {
			Eventually(web.b.Trace()).Should(HaveEvent(OnDisconnect().In(web.page).Named(name).WithLastError(noReceiver)))
		}
		// The page itself may connect: the one that lists it answers.
		Eventually(web.b.Trace()).Should(HaveEvent(OnConnectExternal().Named("listing")))
		Consistently(web.b.Trace()).ShouldNot(HaveEvent(OnConnectExternal().Where("named other than listing", func(e Event) bool { return e.Name != "listing" })))
	})

	It("lets the extension answer on a port a web page opened, but gives it no way to open one to the page", Label("RX-10", "firefox-differs"), func(ctx SpecContext) {
		target := rxWorkerOnly("rx10-target", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}}})
		if options().Browser == Firefox {
			// Firefox: the page has no runtime to open a port with.
			rxFirefoxIgnoresMatches(ctx, target)
			return
		}
		web := rxOpenWeb(ctx, target)
		worker := rxWorkerOf(ctx, web.b, target.ID)
		Expect(worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		pagePort := must(web.page.Connect(ctx, target.ID, map[string]any{"name": "from-page"}))
		Expect(pagePort.Post(ctx, "ping")).To(Succeed())
		opened := eventOf(web.b, OnConnectExternal().In(worker).Named("from-page"))
		Eventually(web.b.Trace()).Should(HaveEvent(Message().In(worker).Named("from-page").WithMessage("ping")))
		workerPort := &Port{Realm: worker, Handle: opened.Port}
		Expect(workerPort.Post(ctx, "pong")).To(Succeed())
		Eventually(web.b.Trace()).Should(HaveEvent(Message().OnPort(pagePort).WithMessage("pong")))

		// The page's runtime has no onConnect, and tabs.connect to its tab
		// (no content script there) finds no receiver.
		Expect(must(EvalAs[string](ctx, web.page, `typeof chrome.runtime.onConnect`))).To(Equal("undefined"))
		var sender struct {
			Tab struct {
				ID int `json:"id"`
			} `json:"tab"`
		}
		Expect(json.Unmarshal(opened.Sender, &sender)).To(Succeed())
		toPage := must(worker.ConnectTab(ctx, sender.Tab.ID, map[string]any{"name": "to-page"}))
		Eventually(web.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(toPage).WithLastError(noReceiver)))
		Expect(web.b.Trace()).NotTo(HaveEvent(AnyEvent().In(web.page).Named("to-page")))
	})

	It("sees a web page opener as a sender with url, origin, tab and frame fields, and no id", Label("RS-10", "firefox-differs"), func(ctx SpecContext) {
		target := rxWorkerOnly("rs10-target", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://127.0.0.1/*"}}})
		if options().Browser == Firefox {
			// Firefox: no web page can open a port, so there is no such sender.
			rxFirefoxIgnoresMatches(ctx, target)
			return
		}
		web := rxOpenWeb(ctx, target)
		worker := rxWorkerOf(ctx, web.b, target.ID)
		Expect(worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		must(web.page.Connect(ctx, target.ID, map[string]any{"name": "web-sender"}))
		sender := senderOf(web.b, OnConnectExternal().In(worker).Named("web-sender"))
		keys := []string{}
		for k := range sender {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		Expect(keys).To(Equal([]string{"documentId", "documentLifecycle", "frameId", "origin", "tab", "url"}))
		pageURL := web.b.Pages().URL("/")
		u := must(url.Parse(pageURL))
		Expect(sender).To(HaveKeyWithValue("url", pageURL))
		Expect(sender).To(HaveKeyWithValue("origin", u.Scheme+"://"+u.Host))
		Expect(sender).To(HaveKeyWithValue("frameId", 0.0))
		Expect(sender).To(HaveKeyWithValue("documentLifecycle", "active"))
		Expect(sender["documentId"]).To(BeAssignableToTypeOf(""))
		Expect(sender["tab"]).To(HaveKeyWithValue("url", pageURL))
	})

	Describe("manifest validation of externally_connectable", func() {
		DescribeTable("refuses to load a malformed key",
			Label("RX-11", "firefox-differs"),
			func(ctx SpecContext, key map[string]any, chromeSays string) {
				b := launch(ctx)
				bad := ext{Name: "rx11-bad", Manifest: map[string]any{"externally_connectable": key}, Keyed: true}.Build(GinkgoTB())
				if b.Engine() == Firefox {
					// Firefox ignores the key (rxFirefoxIgnoresMatches)
					// and loads the extension.
					loaded := must(b.LoadExtension(ctx, bad.Dir))
					Expect(loaded.ID).To(Equal(bad.GeckoID))
					return
				}
				_, err := b.LoadExtension(ctx, bad.Dir)
				var loadErr *ExtensionLoadError
				Expect(errors.As(err, &loadErr)).To(BeTrue(), "want a load error, got %v", err)
				Expect(loadErr.Chrome).To(Equal(chromeSays))
			},
			Entry("an ID that is not 32 letters a-p", map[string]any{"ids": []string{"foo"}}, "Invalid ID 'foo'"),
			Entry("32 letters outside a-p", map[string]any{"ids": []string{strings.Repeat("q", 32)}}, "Invalid ID '"+strings.Repeat("q", 32)+"'"),
			// Catalog: "Invalid match pattern '<p>'". Chrome 156 adds the
			// parser's reason in parentheses.
			Entry("a pattern without a scheme", Label("differs"),
				map[string]any{"matches": []string{"not a pattern"}}, "Invalid match pattern 'not a pattern' (Missing scheme separator.)"),
			Entry("a pattern without a path", Label("differs"),
				map[string]any{"matches": []string{"http://127.0.0.1"}}, "Invalid match pattern 'http://127.0.0.1' (Empty path.)"),
		)

		DescribeTable("loads wildcard-host patterns with no warning and admits every page",
			Label("RX-11", "differs", "firefox-differs"),
			func(ctx SpecContext, pattern string) {
				// Catalog: wildcard-host patterns only give the install warning
				// `Wildcard domain patterns such as "<p>" are not allowed`
				// (and are left out). Chrome 156: no warning, and the pattern
				// works: a page on any host can connect.
				target := rxWorkerOnly("rx11-wildcard", map[string]any{"externally_connectable": map[string]any{"matches": []string{pattern}}})
				if options().Browser == Firefox {
					// Firefox loads it and admits no page.
					rxFirefoxIgnoresMatches(ctx, target)
					return
				}
				web := rxOpenWeb(ctx, target)
				Expect(rxManifestWarnings(ctx, web.b, target.ID)).To(BeEmpty())
				worker := rxWorkerOf(ctx, web.b, target.ID)
				Expect(worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
				must(web.page.Connect(ctx, target.ID, map[string]any{"name": "wildcard"}))
				Eventually(web.b.Trace()).Should(HaveEvent(OnConnectExternal().In(worker).Named("wildcard")))
			},
			Entry("http://*/*", "http://*/*"),
			Entry("<all_urls>", "<all_urls>"),
		)

		It("loads an effective-TLD wildcard with no warning and admits pages under that TLD", Label("RX-11", "differs", "firefox-differs"), func(ctx SpecContext) {
			// Catalog: "*.com" only gives the install warning `"com" is an
			// effective top level domain for which wildcard subdomains such as
			// "<p>" are not allowed`. Chrome 156: no warning, and a page on
			// www.example.com can connect.
			target := rxWorkerOnly("rx11-etld", map[string]any{"externally_connectable": map[string]any{"matches": []string{"http://*.com/*"}}})
			if options().Browser == Firefox {
				// Firefox loads it and admits no page. (The local page
				// server is checked: host-resolver-rules, which maps
				// www.example.com to it, is a Chrome flag.)
				rxFirefoxIgnoresMatches(ctx, target)
				return
			}
			// Every host name resolves to the local page server.
			opts := options(target.Dir)
			opts.Flags = map[string]any{"host-resolver-rules": "MAP * 127.0.0.1"}
			b := launchWith(ctx, opts)
			Expect(rxManifestWarnings(ctx, b, target.ID)).To(BeEmpty())
			dotCom := strings.Replace(b.Pages().URL("/"), "127.0.0.1", "www.example.com", 1)
			tab := must(b.OpenTab(ctx, dotCom))
			Expect(rxTypeofRuntime(ctx, tab)).To(Equal("object"))
			page := must(tab.ProbeWebPage(ctx))
			worker := rxWorkerOf(ctx, b, target.ID)
			Expect(worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
			must(page.Connect(ctx, target.ID, map[string]any{"name": "dot-com"}))
			u := must(url.Parse(dotCom))
			Eventually(b.Trace()).Should(HaveEvent(OnConnectExternal().In(worker).Named("dot-com").WithSender("origin", "http://"+u.Host)))
		})

		It("loads a key with neither matches nor ids with a warning, and then nothing can connect", Label("RX-11", "firefox-differs"), func(ctx SpecContext) {
			caller := rxCaller("rx11-caller")
			w := openWorld(ctx, blank("rx11-empty").With("externally_connectable", map[string]any{}), caller)
			if w.b.Engine() == Firefox {
				// Firefox ignores the key: the other extension connects,
				// and the page still has no chrome object.
				Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
				must(rxWorkerOf(ctx, w.b, caller.IDIn(w.b)).Connect(ctx, w.ext.ID, map[string]any{"name": "admitted"}))
				Eventually(w.b.Trace()).Should(HaveEvent(OnConnectExternal().In(w.worker).Named("admitted")))
				Expect(rxTypeofRuntime(ctx, w.tab)).To(Equal("no chrome"))
				return
			}
			Expect(rxManifestWarnings(ctx, w.b, w.ext.ID)).To(Equal([]string{rxNothingSpecified}))
			Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
			port := must(rxWorkerOf(ctx, w.b, caller.IDIn(w.b)).Connect(ctx, w.ext.ID, map[string]any{"name": "refused"}))
			Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithLastError(noReceiver)))
			Expect(rxTypeofRuntime(ctx, w.tab)).To(Equal("undefined"))
		})
	})
})
