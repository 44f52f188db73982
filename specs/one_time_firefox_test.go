package specs_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gs "github.com/onsi/gomega/gstruct"
	"github.com/onsi/gomega/types"

	. "github.com/portprobe/portprobe/harness"
)

// What one-time messages look like in Firefox, for the send-message specs
// (message_routing_test.go, send_message_test.go) that state Firefox's
// truth beside Chrome's.

// otfDocumentID matches a Firefox sender.documentId: a lowercase UUID, where
// Chrome's is 32 uppercase hex digits.
var otfDocumentID = MatchRegexp(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// otfExtOrigin is the origin of w's extension: moz-extension://<uuid> in
// Firefox.
func otfExtOrigin(w world) string { return strings.TrimSuffix(w.ext.URL(""), "/") }

// otfBackgroundSender matches the sender of a message from w's background
// in Firefox: its background page (Firefox runs background.scripts, not the
// service worker) with the contextId and envType that every Firefox sender
// has, a documentId and the extension's origin; no tab, no frameId.
func otfBackgroundSender(w world) types.GomegaMatcher {
	return gs.MatchAllKeys(gs.Keys{
		"id":         Equal(w.ext.ID),
		"url":        Equal(w.ext.URL("_generated_background_page.html")),
		"origin":     Equal(otfExtOrigin(w)),
		"documentId": otfDocumentID,
		"contextId":  BeNumerically(">", 0),
		"envType":    Equal("addon_child"),
	})
}

// otfPageInTabSender matches the sender of w's page.html open in a tab, in
// Firefox: Chrome's fields but documentLifecycle, with contextId and
// envType.
func otfPageInTabSender(w world) types.GomegaMatcher {
	return gs.MatchAllKeys(gs.Keys{
		"id":         Equal(w.ext.ID),
		"url":        Equal(w.ext.URL("page.html")),
		"origin":     Equal(otfExtOrigin(w)),
		"frameId":    BeNumerically("==", 0),
		"documentId": otfDocumentID,
		"contextId":  BeNumerically(">", 0),
		"envType":    Equal("addon_child"),
		"tab":        aTab(w.ext.URL("page.html"), "page"),
	})
}

// otfContentScriptSender matches the sender of w's content script in the
// top frame of a tab on url, in Firefox: Chrome's fields but
// documentLifecycle, with contextId and envType "content_child"; the tab
// has Firefox's extra fields (cookieStoreId...).
func otfContentScriptSender(w world, url, origin, title string) types.GomegaMatcher {
	return gs.MatchAllKeys(gs.Keys{
		"id":         Equal(w.ext.ID),
		"url":        Equal(url),
		"origin":     Equal(origin),
		"frameId":    BeNumerically("==", 0),
		"documentId": otfDocumentID,
		"contextId":  BeNumerically(">", 0),
		"envType":    Equal("content_child"),
		"tab":        And(aTab(url, title), HaveKeyWithValue("cookieStoreId", "firefox-default")),
	})
}

// Firefox's texts for one-time messages that end without an answer.
const (
	// otfOutOfScope: the promise of a listener that kept the channel open
	// was collected with its context before it settled (ExtensionChild.sys.mjs
	// StrongPromise).
	otfOutOfScope = "Promised response from onMessage listener went out of scope"
	// otfUnexpected: a listener threw or rejected with something whose
	// message is missing or empty (ExtensionChild.sys.mjs
	// MessageEvent.unwrapOrSanitizeError, then the sender's
	// context.normalizeError in ExtensionCommon.sys.mjs).
	otfUnexpected = "An unexpected error occurred"
)

// otfClosedPending matches the error of a message whose receiver kept the
// channel open and then went away, in Firefox: the parent finds no receiver
// any more, or (when the context's unload collects the listener's promise
// first) the promise went out of scope. Both were seen on the same spec.
var otfClosedPending = BeElementOf(noReceiver, otfOutOfScope)

// otfOutcome runs call (JavaScript) in r and says how it ended, as Firefox
// reports argument and serialization errors through the promise where
// Chrome throws at the call: ["threw", name, message], ["rejected", name,
// message], or ["resolved", what the value is].
func otfOutcome(ctx SpecContext, r *Realm, call string) []string {
	GinkgoHelper()
	return must(EvalAs[[]string](ctx, r, `(async () => {
		let p;
		try {
			p = `+call+`;
		} catch (e) {
			return ["threw", e.name, e.message];
		}
		try {
			const v = await p;
			let text;
			try { text = JSON.stringify(v); } catch (e) { text = "(no JSON: " + e.message + ")"; }
			return ["resolved", v === undefined ? "undefined" : Object.prototype.toString.call(v) + " " + text];
		} catch (e) {
			return ["rejected", e.name, e.message];
		}
	})()`))
}
