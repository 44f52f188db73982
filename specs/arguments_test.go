package specs_test

import (
	"encoding/json"
	"errors"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// connectInvocation starts the TypeError that runtime.connect throws for bad
// arguments.
const connectInvocation = "TypeError: Error in invocation of runtime.connect(optional string extensionId, optional object connectInfo): "

// sendMessageInvocation is its runtime.sendMessage counterpart, without the
// "TypeError: " of the harness's text (specs read e.message).
const sendMessageInvocation = "Error in invocation of runtime.sendMessage(optional string extensionId, any message, optional object options, optional function callback): "

// Firefox's schema errors for runtime.connect (Error, not TypeError; see
// toolkit/components/extensions/Schemas.sys.mjs, FunctionEntry.checkParameters
// and Context.error in Firefox's source).
const (
	ffConnectSignature = "Incorrect argument types for runtime.connect."
	ffDisconnected     = "Attempt to postMessage on disconnected port"
)

// ffConnectInfoError is Firefox's message for a connectInfo its schema
// refuses, with the schema's own words for what is wrong.
func ffConnectInfoError(detail string) string {
	return "Type error for parameter connectInfo (" + detail + ") for runtime.connect."
}

// The one-time API's errors (RE-08).
const (
	noResponse  = "The message port closed before a response was received."
	asyncClosed = "A listener indicated an asynchronous response by returning true, but the message channel closed before a response was received"
)

// argsWorker launches e and returns the browser and e's service worker.
func argsWorker(ctx SpecContext, e ext) (*Browser, *Realm) {
	GinkgoHelper()
	built := e.Build(GinkgoTB())
	b := launch(ctx, built.Dir)
	x := must(b.Extension(built.IDIn(b)))
	return b, must(x.Worker(ctx))
}

// jsText returns the text of the JavaScript exception that err carries.
func jsText(err error) string {
	var e *JSError
	if errors.As(err, &e) {
		return e.Text
	}
	return fmt.Sprintf("not a JavaScript exception: %v", err)
}

// expectConnectThrew checks that connect threw text synchronously in r, as a
// *JSError and as a traced exception, and that no port was made. Firefox's
// probe events come as console messages, which can reach the trace after
// the call's answer: the trace is waited on, and watched for a while for a
// port that is not there.
func expectConnectThrew(b *Browser, r *Realm, err error, text string) {
	GinkgoHelper()
	Expect(jsText(err)).To(Equal(text))
	Eventually(b.Trace()).Should(HaveEvent(Exception().In(r).WithError(text).Where("in connect", func(e Event) bool {
		return e.Call == "connect" && e.Port == 0
	})))
	Consistently(b.Trace()).ShouldNot(HaveEvent(Connect()))
}

var _ = Describe("runtime.connect arguments", Label("arguments"), func() {
	It("throws argument errors synchronously as TypeError, and opens nothing", Label("RE-01", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("args-sync"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		// The exception is caught in the same task as the call.
		thrown := must(EvalAs[[]any](ctx, w.cs, `(() => {
			try {
				chrome.runtime.connect(42);
				return ["returned"];
			} catch (e) {
				return [e.name, e instanceof TypeError, e.message];
			}
		})()`))
		if w.b.Engine() == Firefox {
			// Firefox throws synchronously too, but a plain Error with its
			// schema's message (Schemas.sys.mjs, checkParameters).
			Expect(thrown).To(Equal([]any{"Error", false, ffConnectSignature}))
			// (Its probe's events come as console messages, which can
			// reach the trace after the answer.)
			Eventually(w.b.Trace()).Should(HaveEvent(Exception().In(w.cs).WithError("Error: " + ffConnectSignature)))
		} else {
			Expect(thrown).To(Equal([]any{"TypeError", true,
				"Error in invocation of runtime.connect(optional string extensionId, optional object connectInfo): No matching signature."}))
			Expect(w.b.Trace()).To(HaveEvent(Exception().In(w.cs).WithError(connectInvocation + "No matching signature.")))
		}
		Consistently(w.b.Trace()).ShouldNot(HaveEvent(AnyEvent().Where("that is not the exception", func(e Event) bool {
			return e.Kind != KindException
		})))
	})

	It("throws the same TypeError in the worker, a content script and an extension page", Label("RE-01", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("args-realms"))
		_, page := must2(w.ext.OpenPage(ctx, "page.html"))
		want := connectInvocation + "Error at parameter 'connectInfo': Unexpected property: 'foo'."
		if w.b.Engine() == Firefox {
			// Firefox: the same plain Error in every realm (the background
			// page stands for the worker), in its schema's words.
			want = "Error: " + ffConnectInfoError(`Unexpected property "foo"`)
		}
		for _, r := range []*Realm{w.worker, w.cs, page} {
			_, err := r.ConnectJS(ctx, `{foo: 1}`)
			Expect(jsText(err)).To(Equal(want), "in %s", r)
		}
		Expect(w.b.Trace()).NotTo(HaveEvent(Connect()))
	})

	DescribeTable("throws 'Invalid extension id' for a malformed extension ID",
		Label("RE-02", "firefox-differs"),
		func(ctx SpecContext, args, id string) {
			b, worker := argsWorker(ctx, blank("args-bad-id"))
			port, err := worker.ConnectJS(ctx, args)
			if b.Engine() == Firefox {
				// Firefox has no format for extension IDs (they are
				// "name@domain" or a {UUID}), so it checks none: connect
				// returns a Port, which closes with NO_RECEIVER in
				// port.error (ExtensionChild.sys.mjs, Messenger.connect).
				Expect(err).NotTo(HaveOccurred())
				Eventually(b.Trace()).Should(HaveEvent(closedWith(b, OnDisconnect().OnPort(port), noReceiver)))
				Expect(b.Trace()).NotTo(HaveEvent(Exception()))
				return
			}
			expectConnectThrew(b, worker, err, connectInvocation+"Invalid extension id: '"+id+"'")
		},
		Entry("a short word", `"foo"`, "foo"),
		Entry("a short word, with connectInfo", `"foo", {name: "x"}`, "foo"),
		Entry("31 letters", `"abcdefghijklmnopabcdefghijklmno"`, "abcdefghijklmnopabcdefghijklmno"),
		Entry("33 letters", `"abcdefghijklmnopabcdefghijklmnopa"`, "abcdefghijklmnopabcdefghijklmnopa"),
		Entry("32 letters with one outside a-p", `"abcdefghijklmnopabcdefghijklmnoq"`, "abcdefghijklmnopabcdefghijklmnoq"),
		Entry("a space", `" "`, " "),
	)

	// Catalog: any string that is not 32 characters of a-p throws. Chrome
	// 156: upper-case A-P pass the check, but the ID then names no extension.
	It("accepts a 32-letter ID in upper case without throwing, but it reaches no extension, not even the caller's own", Label("RE-02", "differs", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("args-upper-id"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		Expect(w.worker.ListenConnect(ctx, KindOnConnectExternal)).To(Succeed())
		port := must(w.cs.ConnectJS(ctx, `chrome.runtime.id.toUpperCase(), {name: "upper"}`))
		// Firefox matches IDs exactly too, but reports NO_RECEIVER in
		// port.error instead of lastError.
		Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), noReceiver)))
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		Expect(w.b.Trace()).NotTo(HaveEvent(AnyEvent().In(w.worker)))
	})

	DescribeTable("throws 'No matching signature.' for arguments of the wrong type or number",
		Label("RE-03", "firefox-differs"),
		func(ctx SpecContext, args string) {
			b, worker := argsWorker(ctx, blank("args-signature"))
			_, err := worker.ConnectJS(ctx, args)
			if b.Engine() == Firefox {
				// Firefox refuses the same calls, with a plain Error and
				// its schema's words (Schemas.sys.mjs, checkParameters).
				expectConnectThrew(b, worker, err, "Error: "+ffConnectSignature)
				return
			}
			expectConnectThrew(b, worker, err, connectInvocation+"No matching signature.")
		},
		Entry("a number as extensionId", `42`),
		Entry("a boolean as extensionId", `true`),
		Entry("a function as the only argument", `() => {}`),
		Entry("an array as the only argument", `[]`),
		Entry("a number as connectInfo", `"", 42`),
		Entry("a string as connectInfo", `null, "x"`),
		Entry("two connectInfo objects", `{name: "a"}, {name: "b"}`),
		Entry("three arguments", `"", {}, 3`),
		Entry("three undefined arguments", `undefined, undefined, undefined`),
	)

	// Firefox's column is its whole message, or "" where it accepts the
	// connectInfo and opens a port.
	DescribeTable("throws for bad connectInfo properties",
		Label("RE-04", "firefox-differs"),
		func(ctx SpecContext, args, detail, firefox string) {
			b, worker := argsWorker(ctx, blank("args-connect-info"))
			port, err := worker.ConnectJS(ctx, args)
			if b.Engine() == Firefox {
				if firefox == "" {
					Expect(err).NotTo(HaveOccurred())
					Eventually(b.Trace()).Should(HaveEvent(Connect().OnPort(port)))
					Expect(b.Trace()).NotTo(HaveEvent(Exception()))
					return
				}
				expectConnectThrew(b, worker, err, "Error: "+firefox)
				return
			}
			expectConnectThrew(b, worker, err, connectInvocation+detail)
		},
		Entry("an unknown property", `{foo: 1}`, "Error at parameter 'connectInfo': Unexpected property: 'foo'.",
			ffConnectInfoError(`Unexpected property "foo"`)),
		Entry("an unknown property next to name, after an ID", `"", {name: "x", foo: 1}`, "Error at parameter 'connectInfo': Unexpected property: 'foo'.",
			ffConnectInfoError(`Unexpected property "foo"`)),
		// Firefox reads connectInfo with ChromeUtils.shallowClone through an
		// Xray wrapper, which does not see accessor properties
		// (Schemas.sys.mjs, ObjectType.extractProperties): the getter is
		// not there for it, and connect goes through.
		Entry("an unknown getter", `{get foo() { return 1; }}`, "Error at parameter 'connectInfo': Unexpected property: 'foo'.", ""),
		Entry("a String object, read as connectInfo", `new String("abc")`, "Error at parameter 'connectInfo': Unexpected property: '0'.",
			ffConnectInfoError("Expected a plain JavaScript object, got a String")),
		// Catalog: "... expected boolean, found number." Chrome 156 says
		// "integer" for a whole number and "number" only for a fraction.
		Entry("a whole number as includeTlsChannelId", Label("differs"), `{includeTlsChannelId: 1}`,
			"Error at parameter 'connectInfo': Error at property 'includeTlsChannelId': Invalid type: expected boolean, found integer.",
			ffConnectInfoError("Error processing includeTlsChannelId: Expected boolean instead of 1")),
		Entry("a fraction as includeTlsChannelId", `{includeTlsChannelId: 1.5}`,
			"Error at parameter 'connectInfo': Error at property 'includeTlsChannelId': Invalid type: expected boolean, found number.",
			ffConnectInfoError("Error processing includeTlsChannelId: Expected boolean instead of 1.5")),
		Entry("a string as includeTlsChannelId", `{includeTlsChannelId: "true"}`,
			"Error at parameter 'connectInfo': Error at property 'includeTlsChannelId': Invalid type: expected boolean, found string.",
			ffConnectInfoError(`Error processing includeTlsChannelId: Expected boolean instead of "true"`)),
		Entry("an object as includeTlsChannelId", `{includeTlsChannelId: {}}`,
			"Error at parameter 'connectInfo': Error at property 'includeTlsChannelId': Invalid type: expected boolean, found object.",
			ffConnectInfoError("Error processing includeTlsChannelId: Expected boolean instead of {}")),
	)

	DescribeTable("ignores null properties, inherited properties and symbol keys in connectInfo",
		Label("RE-04"),
		func(ctx SpecContext, args string) {
			w := openWorld(ctx, blank("args-connect-info-ok"))
			Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
			must(w.cs.ConnectJS(ctx, args))
			Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("")))
			Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
		},
		Entry("includeTlsChannelId: null", `{includeTlsChannelId: null}`),
		Entry("name: null", `{name: null}`),
		Entry("an inherited unknown property", `Object.create({foo: 1})`),
		Entry("a symbol-keyed property", `{[Symbol("foo")]: 1}`),
	)

	It("throws plain Error, not TypeError, from the methods of a port", Label("RE-05", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("args-port-errors"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "errors"}))
		Expect(port.Disconnect(ctx)).To(Succeed())
		err := port.Post(ctx, "late")
		disconnected := "Attempting to use a disconnected port object"
		if w.b.Engine() == Firefox {
			disconnected = ffDisconnected
		}
		Expect(jsText(err)).To(Equal("Error: " + disconnected))
		Eventually(w.b.Trace()).Should(HaveEvent(Exception().OnPort(port).WithError("Error: " + disconnected)))
		// In the realm: the prototype is Error's own, the message unprefixed.
		thrown := must(EvalAs[[]any](ctx, w.cs, `(() => {
			const describe = (f) => {
				try { f(); return "no exception"; } catch (e) {
					return [e.name, Object.getPrototypeOf(e) === Error.prototype, e instanceof TypeError, e.message];
				}
			};
			const open = chrome.runtime.connect({name: "unserializable"});
			const closed = chrome.runtime.connect({name: "closed"});
			closed.disconnect();
			return [describe(() => open.postMessage(() => 1)), describe(() => closed.postMessage(1))];
		})()`))
		if w.b.Engine() == Firefox {
			// Firefox structured-clones a message: an unclonable one throws
			// the DOMException DataCloneError, not an Error. A closed port
			// throws a plain Error with Firefox's message
			// (ExtensionChild.sys.mjs, Port.sendPortMessage).
			Expect(thrown).To(Equal([]any{
				[]any{"DataCloneError", false, false, "Function object could not be cloned."},
				[]any{"Error", true, false, ffDisconnected},
			}))
			return
		}
		Expect(thrown).To(Equal([]any{
			[]any{"Error", true, false, "Could not serialize message."},
			[]any{"Error", true, false, "Attempting to use a disconnected port object"},
		}))
	})

	It("does not throw from disconnect() on a port already disconnected", Label("RE-05"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("args-disconnect-twice"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "twice"}))
		Expect(port.Disconnect(ctx)).To(Succeed())
		Expect(port.Disconnect(ctx)).To(Succeed())
		Expect(w.b.Trace()).NotTo(HaveEvent(Exception()))
	})

	It("throws TypeError 'Insufficient number of arguments.' from postMessage(), sends nothing, and keeps the port open", Label("RE-06", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("args-post-nothing"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "empty"}))
		if w.b.Engine() == Firefox {
			// Firefox's Port.postMessage(json) is a plain function with no
			// argument count: postMessage() sends undefined, which the
			// receiver gets as a message (ExtensionChild.sys.mjs, Port).
			// Extra arguments are ignored, as in Chrome.
			Expect(port.PostJS(ctx, ``)).To(Succeed())
			Expect(port.PostJS(ctx, `"first", "ignored"`)).To(Succeed())
			Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).WithMessage("first")))
			// Two messages, in order: undefined (no value in the trace), then "first".
			Expect(receivedMessages(w.b, w.worker)).To(Equal([]string{"", `"first"`}))
			return
		}
		err := port.PostJS(ctx, ``)
		Expect(jsText(err)).To(Equal("TypeError: Insufficient number of arguments."))
		Expect(w.b.Trace()).To(HaveEvent(Exception().OnPort(port).WithError("TypeError: Insufficient number of arguments.")))
		// Extra arguments are ignored.
		Expect(port.PostJS(ctx, `"first", "ignored"`)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().In(w.worker).WithMessage("first")))
		Expect(receivedMessages(w.b, w.worker)).To(Equal([]string{`"first"`}))
	})

	It("checks postMessage's argument count before the port's state", Label("RE-06", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("args-post-nothing-closed"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		port := must(w.cs.Connect(ctx, map[string]any{"name": "closed"}))
		Expect(port.Disconnect(ctx)).To(Succeed())
		if w.b.Engine() == Firefox {
			// Firefox counts no arguments (see above): only the port's
			// state is checked.
			Expect(jsText(port.PostJS(ctx, ``))).To(Equal("Error: " + ffDisconnected))
			return
		}
		Expect(jsText(port.PostJS(ctx, ``))).To(Equal("TypeError: Insufficient number of arguments."))
	})

	Describe("the one-time API's errors", Label("RE-08"), func() {
		It("gives NO_RECEIVER to a callback's lastError and rejects the promise when nothing listens", func(ctx SpecContext) {
			w := openWorld(ctx, blank("args-send-nobody"))
			Expect(must(EvalAs[[]any](ctx, w.cs, `new Promise((resolve) => chrome.runtime.sendMessage("hi", (r) => {
				resolve([r === undefined, chrome.runtime.lastError && chrome.runtime.lastError.message]);
			}))`))).To(Equal([]any{true, noReceiver}))
			Expect(must(EvalAs[[]any](ctx, w.cs, `chrome.runtime.sendMessage("hi").then((r) => ["resolved", r], (e) => ["rejected", e.message])`))).
				To(Equal([]any{"rejected", noReceiver}))
		})

		It("gives NO_RESPONSE to a callback, and resolves the promise with undefined, when no listener responds", Label("firefox-differs"), func(ctx SpecContext) {
			w := openWorld(ctx, blank("args-send-no-response"))
			must(w.worker.Eval(ctx, `chrome.runtime.onMessage.addListener(() => {})`))
			viaCallback := must(EvalAs[[]any](ctx, w.cs, `new Promise((resolve) => chrome.runtime.sendMessage("hi", (r) => {
				resolve([r === undefined, chrome.runtime.lastError && chrome.runtime.lastError.message]);
			}))`))
			if w.b.Engine() == Firefox {
				// Firefox has no NO_RESPONSE error: the callback gets
				// undefined and runtime.lastError stays null, as a
				// listener that answered undefined would leave it.
				Expect(viaCallback).To(Equal([]any{true, nil}))
			} else {
				Expect(viaCallback).To(Equal([]any{true, noResponse}))
			}
			Expect(must(EvalAs[[]any](ctx, w.cs, `chrome.runtime.sendMessage("hi").then((r) => ["resolved", r === undefined], (e) => ["rejected", e.message])`))).
				To(Equal([]any{"resolved", true}))
		})

		It("gives ASYNC_CLOSED when a listener returned true and its context closed", Label("firefox-differs"), func(ctx SpecContext) {
			w := openWorld(ctx, blank("args-send-async-closed"))
			pageTab, page := must2(w.ext.OpenPage(ctx, "page.html"))
			must(page.Eval(ctx, `chrome.runtime.onMessage.addListener(() => { self.asked = (self.asked || 0) + 1; return true; })`))
			must(w.cs.Eval(ctx, `(() => {
				self.viaCallback = new Promise((resolve) => chrome.runtime.sendMessage("later", (r) => {
					resolve([r === undefined, chrome.runtime.lastError && chrome.runtime.lastError.message]);
				}));
				self.viaPromise = chrome.runtime.sendMessage("later").then((r) => ["resolved", r], (e) => ["rejected", e.message]);
			})()`))
			Eventually(func(ctx SpecContext) (int, error) {
				return EvalAs[int](ctx, page, `self.asked || 0`)
			}).WithContext(ctx).Should(Equal(2))
			Expect(pageTab.Close(ctx)).To(Succeed())
			if w.b.Engine() == Firefox {
				// Firefox has no ASYNC_CLOSED error. A pending answer fails
				// in one of two ways, whichever comes first: the closed
				// context's end of the channel goes away (NO_RECEIVER), or
				// the listener's pending response is garbage-collected and
				// a finalization witness rejects it (ExtensionChild.sys.mjs,
				// StrongPromise). Both were seen on the same machine.
				const outOfScope = "Promised response from onMessage listener went out of scope"
				Expect(must(EvalAs[[]any](ctx, w.cs, `self.viaCallback`))).To(Or(
					Equal([]any{true, noReceiver}), Equal([]any{true, outOfScope})))
				Expect(must(EvalAs[[]any](ctx, w.cs, `self.viaPromise`))).To(Or(
					Equal([]any{"rejected", noReceiver}), Equal([]any{"rejected", outOfScope})))
				return
			}
			Expect(must(EvalAs[[]any](ctx, w.cs, `self.viaCallback`))).To(Equal([]any{true, asyncClosed}))
			Expect(must(EvalAs[[]any](ctx, w.cs, `self.viaPromise`))).To(Equal([]any{"rejected", asyncClosed}))
		})

		It("never delivers a message to the sending context", func(ctx SpecContext) {
			_, worker := argsWorker(ctx, blank("args-send-self"))
			must(worker.Eval(ctx, `chrome.runtime.onMessage.addListener(() => { self.heard = true; })`))
			Expect(must(EvalAs[[]any](ctx, worker, `new Promise((resolve) => chrome.runtime.sendMessage("self", () => {
				resolve([chrome.runtime.lastError && chrome.runtime.lastError.message, self.heard === true]);
			}))`))).To(Equal([]any{noReceiver, false}))
		})
	})

	DescribeTable("gives a browser namespace that is not chrome itself but shares its members",
		Label("RZ-02", "firefox-differs"),
		func(ctx SpecContext, where string) {
			w := openWorld(ctx, blank("args-browser"))
			var r *Realm
			switch where {
			case "worker":
				r = w.worker
			case "content script":
				r = w.cs
			case "extension page":
				_, r = must2(w.ext.OpenPage(ctx, "page.html"))
			}
			Expect(must(EvalAs[map[string]any](ctx, r, `({
				type: typeof browser,
				sameObject: browser === chrome,
				sameRuntime: browser.runtime === chrome.runtime,
				sameConnect: browser.runtime.connect === chrome.runtime.connect,
				membersShared: Object.keys(browser).every((k) => browser[k] === chrome[k]),
				onlyInChrome: Object.keys(chrome).filter((k) => !(k in browser)).sort(),
			})`))).To(Equal(rz02Namespaces(w.b)))
		},
		Entry("in the service worker", "worker"),
		Entry("in a content script", "content script"),
		Entry("in an extension page", "extension page"),
	)

	It("accepts includeTlsChannelId: true and ignores it", Label("RZ-04", "firefox-differs"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("args-tls"))
		Expect(w.worker.ListenConnect(ctx, KindOnConnect)).To(Succeed())
		must(w.cs.ConnectJS(ctx, `{name: "with-tls", includeTlsChannelId: true}`))
		must(w.cs.ConnectJS(ctx, `{name: "without-tls"}`))
		with := firstEvent(w.b, OnConnect().In(w.worker).Named("with-tls"))
		without := firstEvent(w.b, OnConnect().In(w.worker).Named("without-tls"))
		if w.b.Engine() == Firefox {
			// Firefox's sender.tab has lastAccessed, a time that can move
			// between the two connects: the senders are the same but for it.
			Expect(senderWithoutLastAccessed(with.Sender)).To(Equal(senderWithoutLastAccessed(without.Sender)))
			Expect(with.Sender).NotTo(ContainSubstring("tlsChannelId"))
			return
		}
		Expect(with.Sender).To(MatchJSON(without.Sender))
		Expect(w.b.Trace()).To(HaveEvent(OnConnect().In(w.worker).Named("with-tls").WithoutSender("tlsChannelId")))
	})

	It("type-checks includeTlsChannelId in runtime.sendMessage too", Label("RZ-04", "firefox-differs"), func(ctx SpecContext) {
		b, worker := argsWorker(ctx, blank("args-tls-send"))
		if b.Engine() == Firefox {
			// Firefox's sendMessage takes no options any more: an options
			// object that is not empty is refused whatever it holds, and
			// not by a throw but by rejecting the promise (or lastError in
			// the callback) with "runtime.sendMessage's options argument is
			// invalid" (child/ext-runtime.js, parseBonkersArgs).
			Expect(must(EvalAs[[]any](ctx, worker, `(async () => {
				const out = [];
				for (const flag of [true, 1]) {
					try {
						out.push(await chrome.runtime.sendMessage(undefined, "hi", {includeTlsChannelId: flag}).then(
							() => "resolved", (e) => "rejected: " + e.message));
					} catch (e) {
						out.push(e.name + ": " + e.message);
					}
				}
				return out;
			})()`))).To(Equal([]any{
				"rejected: runtime.sendMessage's options argument is invalid",
				"rejected: runtime.sendMessage's options argument is invalid",
			}))
			return
		}
		Expect(must(EvalAs[[]any](ctx, worker, `(() => {
			const out = [];
			for (const flag of [true, 1]) {
				try {
					chrome.runtime.sendMessage(undefined, "hi", {includeTlsChannelId: flag}).catch(() => {});
					out.push("accepted");
				} catch (e) {
					out.push(e.name + ": " + e.message);
				}
			}
			return out;
		})()`))).To(Equal([]any{
			"accepted",
			"TypeError: " + sendMessageInvocation + "Error at parameter 'options': Error at property 'includeTlsChannelId': Invalid type: expected boolean, found integer.",
		}))
	})
})

// rz02Namespaces is what RZ-02's realms say of browser and chrome. In
// Firefox, chrome and browser are one and the same object, and Chrome's
// extra members csi and loadTimes do not exist.
func rz02Namespaces(b *Browser) map[string]any {
	if b.Engine() == Firefox {
		return map[string]any{
			"type":          "object",
			"sameObject":    true,
			"sameRuntime":   true,
			"sameConnect":   true,
			"membersShared": true,
			"onlyInChrome":  []any{},
		}
	}
	return map[string]any{
		"type":          "object",
		"sameObject":    false,
		"sameRuntime":   true,
		"sameConnect":   true,
		"membersShared": true,
		"onlyInChrome":  []any{"csi", "loadTimes"},
	}
}

// senderWithoutLastAccessed decodes a sender's JSON and drops its
// tab.lastAccessed (Firefox's), which changes whenever the tab is used.
func senderWithoutLastAccessed(raw []byte) map[string]any {
	GinkgoHelper()
	var s map[string]any
	Expect(json.Unmarshal(raw, &s)).To(Succeed())
	Expect(s).To(HaveKey("tab"))
	if tab, ok := s["tab"].(map[string]any); ok {
		delete(tab, "lastAccessed")
	}
	return s
}
