package specs_test

import (
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// nameInvocationPrefix is the start of every schema error that runtime.connect
// throws (catalog INVOCATION).
const nameInvocationPrefix = "TypeError: Error in invocation of runtime.connect(optional string extensionId, optional object connectInfo): "

// firefoxNameTypeError is the Error that Firefox throws when connectInfo.name
// of api (runtime.connect, tabs.connect) is not a string; shown is the value
// as JSON.stringify writes it.
func firefoxNameTypeError(api, shown string) string {
	return "Error: Type error for parameter connectInfo (Error processing name: Expected string instead of " + shown + ") for " + api + "."
}

// csTabID returns the tabs.Tab ID of the tab that w's content script runs in,
// as the worker sees it: the worker listens, the content script connects with
// the name "tab-id", and the ID is that port's sender.tab.id. Content scripts
// cannot ask for their own tab ID, and without the "tabs" permission
// tabs.query cannot filter by URL.
func csTabID(ctx SpecContext, w world) int {
	GinkgoHelper()
	Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
	must(w.cs.Connect(ctx, map[string]any{"name": "tab-id"}))
	sender := senderOf(w.b, OnConnect().In(w.worker).Named("tab-id"))
	tab, ok := sender["tab"].(map[string]any)
	Expect(ok).To(BeTrue(), "sender.tab of %v", sender)
	id, ok := tab["id"].(float64)
	Expect(ok).To(BeTrue(), "sender.tab.id of %v", sender)
	return int(id)
}

// Port names (catalog section B).
var _ = Describe("port names", Label("naming"), func() {
	It("are the name given to connect, on the opener's port and on every receiver's port", Label("RN-01"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("naming-both-ends"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(page.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		const name = "port-from-cs ✓ with spaces/and:symbols"
		must(w.cs.Connect(ctx, map[string]any{"name": name}))
		// The probe reports each port's own port.name.
		Eventually(w.b.Trace()).Should(HaveEvent(Connect().In(w.cs).Named(name)))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named(name)))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(page).Named(name)))
	})

	DescribeTable("default to the empty string, not undefined, on both ends",
		Label("RN-02"),
		func(ctx SpecContext, args string) {
			w := openWorld(ctx, blank("naming-default"))
			must(w.worker.Eval(ctx, `chrome.runtime.onConnect.addListener((port) => {
				self.receivedName = [typeof port.name, port.name];
			})`))
			opener := must(EvalAs[[]string](ctx, w.cs, `(() => {
				const port = chrome.runtime.connect(`+args+`);
				return [typeof port.name, port.name];
			})()`))
			Expect(opener).To(Equal([]string{"string", ""}))
			Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker)))
			Expect(must(EvalAs[[]string](ctx, w.worker, `self.receivedName`))).To(Equal([]string{"string", ""}))
		},
		Entry("connect()", ``),
		Entry("connect({})", `{}`),
		Entry("connect({name: undefined})", `{name: undefined}`),
		// Not in the catalog: null passes the schema as a missing name.
		Entry("connect({name: null})", `{name: null}`),
	)

	It("default to the empty string for tabs.connect without a name too", Label("RN-02"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("naming-default-tabs"))
		tabID := csTabID(ctx, w)
		must(w.cs.Eval(ctx, `chrome.runtime.onConnect.addListener((port) => {
			self.receivedName = [typeof port.name, port.name];
		})`))
		opener := must(EvalAs[[]string](ctx, w.worker, `(() => {
			const port = chrome.tabs.connect(`+strconv.Itoa(tabID)+`);
			return [typeof port.name, port.name];
		})()`))
		Expect(opener).To(Equal([]string{"string", ""}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.cs)))
		Expect(must(EvalAs[[]string](ctx, w.cs, `self.receivedName`))).To(Equal([]string{"string", ""}))
	})

	DescribeTable("must be strings: connect throws a TypeError that names the type it found",
		Label("RN-05", "firefox-differs"),
		func(ctx SpecContext, name, found, ffFound string) {
			w := openWorld(ctx, blank("naming-type"))
			Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
			want := nameInvocationPrefix + "Error at parameter 'connectInfo': Error at property 'name': Invalid type: expected string, found " + found + "."
			if w.b.Engine() == Firefox {
				// Firefox throws a plain Error that shows the value, not its
				// type: Schemas.sys.mjs (normalizeBase) writes "Expected
				// string instead of ${JSON.stringify(value)}", so a Symbol,
				// which JSON.stringify makes undefined, is "undefined".
				want = firefoxNameTypeError("runtime.connect", ffFound)
			}
			_, err := w.cs.ConnectJS(ctx, `{name: `+name+`}`)
			Expect(thrownText(err)).To(Equal(want))
			// Eventually: Firefox's probe events come as console messages,
			// which can arrive after the call's answer.
			Eventually(w.b.Trace()).Should(HaveEvent(Exception().In(w.cs).Where("thrown by connect", func(e Event) bool {
				return e.Call == "connect" && e.Error == want
			})))
			// It throws before any port exists: nothing reaches the worker.
			Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnect()))
			Expect(w.b.Trace()).NotTo(HaveEvent(Connect()))
		},
		// Catalog: the detail is expected to end "found number." for 42.
		// Chrome 156: an integral number is reported as "found integer."; only
		// a fractional one is "found number.".
		// The last column is what Firefox shows instead of the type.
		Entry("42 is an integer", Label("differs"), `42`, "integer", "42"),
		Entry("1.5 is a number", `1.5`, "number", "1.5"),
		Entry("true is a boolean", `true`, "boolean", "true"),
		Entry("{} is an object", `{}`, "object", "{}"),
		Entry("[] is an array", `[]`, "array", "[]"),
		Entry("a symbol is other", `Symbol("n")`, "other", "undefined"),
	)

	It("must be strings for tabs.connect too, with the tabs.connect signature in the TypeError", Label("RN-05", "differs", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("naming-type-tabs"))
		tabID := csTabID(ctx, w)
		Expect(w.cs.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		_, err := w.worker.ConnectTab(ctx, tabID, map[string]any{"name": 42})
		// Catalog: "found number". Chrome 156: "found integer".
		want := "TypeError: Error in invocation of tabs.connect(integer tabId, optional object connectInfo): " +
			"Error at parameter 'connectInfo': Error at property 'name': Invalid type: expected string, found integer."
		if w.b.Engine() == Firefox {
			// Firefox: a plain Error naming tabs.connect and the value (see
			// the runtime.connect table above).
			want = firefoxNameTypeError("tabs.connect", "42")
		}
		Expect(thrownText(err)).To(Equal(want))
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnConnect().In(w.cs)))
	})

	It("are carried by tabs.connect to the content script", Label("RN-06"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("naming-tabs"))
		tabID := csTabID(ctx, w)
		Expect(w.cs.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		must(w.worker.ConnectTab(ctx, tabID, map[string]any{"name": "lemonjello"}))
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			Connect().In(w.worker).Named("lemonjello").Where("from tabs.connect", func(e Event) bool { return e.Call == "tabs.connect" }),
			OnConnect().In(w.cs).Named("lemonjello"),
		))
	})
})
