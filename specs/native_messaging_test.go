package specs_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// Chrome's texts for native messaging (extensions/browser/api/messaging/
// native_message_host.cc and messaging_util.cc). The extension gets them as
// runtime.lastError.message (onDisconnect of a connectNative port, the
// callback of sendNativeMessage) and as the message of the Error that
// rejects sendNativeMessage's promise.
const (
	nmNotFound    = "Specified native messaging host not found."
	nmForbidden   = "Access to the specified native messaging host is forbidden."
	nmExited      = "Native host has exited."
	nmIOError     = "Error when communicating with the native messaging host."
	nmInvalidName = "Invalid native messaging host name specified."
	nmBadJSON     = "The sender sent an invalid JSON message; message ignored."
	// nmInvocation starts the TypeError that sendNativeMessage throws for
	// arguments it refuses, without the "TypeError: ".
	nmInvocation = "Error in invocation of runtime.sendNativeMessage([string|runtime.NativeMessageTarget] application, object message, optional function callback): "
	// nmMaxFromHost is Chrome's limit on a message from a host: 1 MiB of JSON.
	nmMaxFromHost = 1 << 20
)

// nmExt is the blank extension with the nativeMessaging permission.
func nmExt(name string) ext {
	return blank(name).With("permissions", []string{"nativeMessaging"})
}

// nmInstall installs a host named name in b; serve nil is an echo host. Every
// extension loaded in b may start it.
func nmInstall(ctx SpecContext, b *Browser, name string, serve func(context.Context, *NativeConn) error) {
	GinkgoHelper()
	nmNoHostsInFirefox()
	Expect(b.InstallNativeHost(ctx, NativeHost{Name: name, Serve: serve})).To(Succeed(), "installing the native host %s", name)
}

// nmNoHostsInFirefox skips a spec that needs a native host, in Firefox.
func nmNoHostsInFirefox() {
	if options().Browser == Firefox {
		Skip("Firefox: harness cannot yet install a native host for Firefox: InstallNativeHost writes Chrome's host manifest (allowed_origins) into the profile's NativeMessagingHosts folder, and Firefox reads ~/.mozilla/native-messaging-hosts/<name>.json with allowed_extensions, so every call answers 'No such native application <name>'")
	}
}

// nmNotFoundFirefox is what Firefox answers for a host it finds no
// manifest of (toolkit/components/extensions/NativeManifests.sys.mjs and
// NativeMessaging.sys.mjs).
func nmNotFoundFirefox(name string) string { return "No such native application " + name }

// nmEchoEach answers each message from Chrome with {"echo": message} until
// Chrome closes the host's input.
func nmEchoEach(ctx context.Context, c *NativeConn) error {
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return nil
		}
		if err := c.Write(map[string]any{"echo": m}); err != nil {
			return err
		}
	}
}

// nmIsHost matches the events of the host processes of the host named name.
func nmIsHost(name string) (string, func(Event) bool) {
	return "in the host " + name, func(e Event) bool {
		return e.Realm.Describe().Kind == NativeHostRealm && e.Realm.Describe().URL == name
	}
}

// nmHostStarted matches each start of the host named name.
func nmHostStarted(name string) *Query { return OnConnect().Where(nmIsHost(name)) }

// nmConnect calls runtime.connectNative(application) in r, application
// written in JavaScript, and returns the port it made.
func nmConnect(ctx SpecContext, b *Browser, r *Realm, application string) *Port {
	GinkgoHelper()
	opens := func() []Event {
		var all []Event
		for _, e := range b.Trace().Events() {
			if e.Kind == KindConnect && e.Realm == r && e.Call == "connectNative" {
				all = append(all, e)
			}
		}
		return all
	}
	before := len(opens())
	must(r.Eval(ctx, "void chrome.runtime.connectNative("+application+")"))
	// In Chrome, Eval returns once the call's events are in the trace;
	// Firefox's probe reports them a moment later. The next connectNative
	// of r is this one.
	Eventually(func() int { return len(opens()) }).Should(BeNumerically(">", before), "no connect event for connectNative(%s)", application)
	return PortOf(opens()[before])
}

// nmSendByCallback calls runtime.sendNativeMessage(args, callback) in r,
// args written in JavaScript, and returns what the callback got: the
// response (JSON, "null" for undefined) and runtime.lastError.message ("" for
// none).
func nmSendByCallback(ctx SpecContext, r *Realm, args string) (string, string) {
	GinkgoHelper()
	got := must(EvalAs[map[string]any](ctx, r, `new Promise((resolve) => chrome.runtime.sendNativeMessage(`+args+`, (response) => resolve({
		response: JSON.stringify(response === undefined ? null : response),
		lastError: chrome.runtime.lastError ? chrome.runtime.lastError.message : "",
	})))`))
	return got["response"].(string), got["lastError"].(string)
}

// nmSyncThrow calls call (JavaScript) in r and returns [name, message] of
// what it threw synchronously, or ["returned"].
func nmSyncThrow(ctx SpecContext, r *Realm, call string) []any {
	GinkgoHelper()
	return must(EvalAs[[]any](ctx, r, `(() => { try { `+call+`; return ["returned"]; } catch (e) { return [e.name, e.message]; } })()`))
}

// nmFrame is data with the 4-byte length in native byte order that Chrome
// reads before each message from a host.
func nmFrame(data []byte) []byte {
	return append(binary.NativeEndian.AppendUint32(nil, uint32(len(data))), data...)
}

// nmJSONOfSize is a JSON string of exactly n bytes: n-2 letters in quotes.
func nmJSONOfSize(n int) []byte {
	return []byte(`"` + strings.Repeat("a", n-2) + `"`)
}

// nmDrain reads the messages from Chrome until it closes the host's input.
func nmDrain(ctx context.Context, c *NativeConn) error {
	for {
		if _, err := c.Read(ctx); err != nil {
			return nil
		}
	}
}

// How a host can end while the extension waits on it: each is a Serve body
// run after the host has read the extension's first message.
var (
	nmServeReturns = func(ctx context.Context, c *NativeConn) error { return nil }
	nmExitsWith3   = func(ctx context.Context, c *NativeConn) error { return c.Exit(3) }
	nmIsKilled     = func(ctx context.Context, c *NativeConn) error { return c.Kill() }
	nmTruncated    = func(ctx context.Context, c *NativeConn) error {
		// A length that promises 100 bytes, none of which follow.
		return c.WriteRaw(binary.NativeEndian.AppendUint32(nil, 100))
	}
)

// afterFirstMessage makes a Serve that reads one message, then ends as end
// does.
func afterFirstMessage(end func(context.Context, *NativeConn) error) func(context.Context, *NativeConn) error {
	return func(ctx context.Context, c *NativeConn) error {
		if _, err := c.Read(ctx); err != nil {
			return err
		}
		return end(ctx, c)
	}
}

// Native messaging: runtime.connectNative, runtime.sendNativeMessage and the
// host process (docs/catalog/native-messaging.md, IDs MN-nn), with hosts
// written in Go (Browser.InstallNativeHost).
var _ = Describe("native messaging", Label("native-messaging"), func() {
	Describe("sendNativeMessage", func() {
		It("starts a host process per call with the extension's origin as its only argument, and the host's answer resolves the promise and is the callback's argument", Label("MN-01"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-send"))
			const host = "com.portprobe.nm01"
			nmInstall(ctx, w.b, host, func(ctx context.Context, c *NativeConn) error {
				m, err := c.Read(ctx)
				if err != nil {
					return err
				}
				return c.Write(map[string]any{"got": m, "args": c.Args})
			})
			origin := "chrome-extension://" + w.ext.ID + "/"
			Expect(must(w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("`+host+`", {n: 1})`))).To(MatchJSON(`{"got": {"n": 1}, "args": ["` + origin + `"]}`))
			response, lastError := nmSendByCallback(ctx, w.worker, `"`+host+`", {n: 2}`)
			Expect(lastError).To(BeEmpty())
			Expect(response).To(MatchJSON(`{"got": {"n": 2}, "args": ["` + origin + `"]}`))

			// One process per call, each told the caller's origin and nothing else.
			Eventually(countOf(w.b, nmHostStarted(host))).Should(Equal(2))
			var pids []float64
			for _, e := range w.b.Trace().Events() {
				if nmHostStarted(host).Match(e) {
					var s struct {
						Origin string   `json:"origin"`
						Args   []string `json:"args"`
						PID    float64  `json:"pid"`
					}
					Expect(json.Unmarshal(e.Sender, &s)).To(Succeed())
					Expect(s.Args).To(Equal([]string{origin}))
					pids = append(pids, s.PID)
				}
			}
			Expect(pids[0]).NotTo(Equal(pids[1]), "two calls, two processes")
		})

		It("closes the host's input after its first answer: the host reads end of input, and a second answer never reaches the extension", Label("MN-02"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-send-once"))
			const host = "com.portprobe.nm02"
			afterAnswer := make(chan error, 1)
			nmInstall(ctx, w.b, host, func(ctx context.Context, c *NativeConn) error {
				if _, err := c.Read(ctx); err != nil {
					return err
				}
				if err := c.Write("first"); err != nil {
					return err
				}
				if err := c.Write("second"); err != nil {
					return err
				}
				_, err := c.Read(ctx)
				afterAnswer <- err
				return nil
			})
			Expect(must(w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("`+host+`", {})`))).To(MatchJSON(`"first"`))
			Eventually(afterAnswer).Should(Receive(MatchError(io.EOF)), "the host's next read after its answer")
			Eventually(w.b.Trace()).Should(HaveEventsInOrder(
				Message().Where(nmIsHost(host)).WithMessage(map[string]any{}),
				Post().Where(nmIsHost(host)).WithMessage("first"),
				Post().Where(nmIsHost(host)).WithMessage("second"),
				// Chrome closes the host's input and ends the process at
				// once: the host's end of input (onDisconnect) usually
				// reaches the harness first, but under load the process
				// was gone 8 ms after its answer, before its relay passed
				// the end of input on. The Go host reads io.EOF either way.
				AnyEvent().Where(nmIsHost(host)).Where("whose input ended, or that Chrome ended", func(e Event) bool {
					return e.Kind == KindOnDisconnect || (e.Kind == KindDisconnect && e.Call == "ended")
				}),
			))
			Consistently(countOf(w.b, Response().In(w.worker))).Should(Equal(1))
			Expect(w.b.Trace()).NotTo(HaveEvent(Response().In(w.worker).WithMessage("second")))
		})

		DescribeTable("rejects with 'Native host has exited.' when the host ends without answering",
			Label("MN-03"),
			func(ctx SpecContext, end func(context.Context, *NativeConn) error) {
				w := openWorld(ctx, nmExt("nm-send-exit"))
				const host = "com.portprobe.nm03"
				nmInstall(ctx, w.b, host, afterFirstMessage(end))
				_, err := w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("`+host+`", {a: 1})`)
				Expect(jsText(err)).To(Equal("Error: " + nmExited))
				response, lastError := nmSendByCallback(ctx, w.worker, `"`+host+`", {a: 2}`)
				Expect(lastError).To(Equal(nmExited))
				Expect(response).To(Equal("null"))
			},
			Entry("Serve returns (the host exits with status 0)", nmServeReturns),
			Entry("the host exits with status 3", nmExitsWith3),
			Entry("the host dies by SIGKILL", nmIsKilled),
			Entry("the host writes a length without its message, then exits", nmTruncated),
		)

		It("rejects with 'The sender sent an invalid JSON message; message ignored.' when the host answers with bytes that are not JSON", Label("MN-04"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-send-bad-json"))
			const host = "com.portprobe.nm04"
			nmInstall(ctx, w.b, host, func(ctx context.Context, c *NativeConn) error {
				if _, err := c.Read(ctx); err != nil {
					return err
				}
				if err := c.WriteRaw(nmFrame([]byte("{not json"))); err != nil {
					return err
				}
				return nmDrain(ctx, c)
			})
			_, err := w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("`+host+`", {})`)
			Expect(jsText(err)).To(Equal("Error: " + nmBadJSON))
			response, lastError := nmSendByCallback(ctx, w.worker, `"`+host+`", {}`)
			Expect(lastError).To(Equal(nmBadJSON))
			Expect(response).To(Equal("null"))
			// That answer was the answer: Chrome closed the host's input.
			Eventually(countOf(w.b, OnDisconnect().Where(nmIsHost(host)))).Should(Equal(2))
		})

		// Firefox's schema takes any message: only a missing one throws,
		// with its own words (toolkit/components/extensions/schemas/
		// runtime.json, sendNativeMessage's "message": "any").
		DescribeTable("throws a TypeError at once unless the message is an object",
			Label("MN-05", "firefox-differs"),
			func(ctx SpecContext, args string, firefoxThrows []any) {
				w := openWorld(ctx, nmExt("nm-send-args"))
				const host = "com.portprobe.nm05"
				if w.b.Engine() == Firefox {
					Expect(nmSyncThrow(ctx, w.worker, `chrome.runtime.sendNativeMessage(`+args+`).catch(() => {})`)).To(Equal(firefoxThrows))
					return
				}
				nmInstall(ctx, w.b, host, nil)
				Expect(nmSyncThrow(ctx, w.worker, `chrome.runtime.sendNativeMessage(`+args+`)`)).To(Equal([]any{"TypeError", nmInvocation + "No matching signature."}))
				Consistently(countOf(w.b, nmHostStarted(host))).Should(BeZero(), "no host process starts")
			},
			Entry("a string", `"com.portprobe.nm05", "text"`, []any{"returned"}),
			Entry("a number", `"com.portprobe.nm05", 5`, []any{"returned"}),
			Entry("an array", `"com.portprobe.nm05", [1, 2]`, []any{"returned"}),
			Entry("null", `"com.portprobe.nm05", null`, []any{"returned"}),
			Entry("no message", `"com.portprobe.nm05"`, []any{"Error", "Incorrect argument types for runtime.sendNativeMessage."}),
		)

		It("accepts any object as the message, such as a String object, which reaches the host as a JSON string", Label("MN-05"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-send-string-object"))
			const host = "com.portprobe.nm05s"
			nmInstall(ctx, w.b, host, nil)
			Expect(must(w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("`+host+`", new String("text"))`))).To(MatchJSON(`"text"`))
			Eventually(w.b.Trace()).Should(HaveEvent(Message().Where(nmIsHost(host)).WithMessage("text")))
		})
	})

	Describe("connectNative", func() {
		It("carries messages both ways in order, on a port named \"\" with a host process of its own", Label("MN-06"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-connect"))
			const host = "com.portprobe.nm06"
			nmInstall(ctx, w.b, host, func(ctx context.Context, c *NativeConn) error {
				if err := c.Write("hello"); err != nil {
					return err
				}
				return nmEchoEach(ctx, c)
			})
			port := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
			for _, m := range []any{1, "two", map[string]any{"three": 3}} {
				Expect(port.Post(ctx, m)).To(Succeed())
			}
			Eventually(func() []string { return receivedMessages(w.b, w.worker) }).Should(Equal([]string{
				`"hello"`, `{"echo":1}`, `{"echo":"two"}`, `{"echo":{"three":3}}`,
			}))
			hostRealm := eventOf(w.b, nmHostStarted(host)).Realm
			Expect(receivedMessages(w.b, hostRealm)).To(Equal([]string{`1`, `"two"`, `{"three":3}`}))

			// Each port has a process of its own, and port.name is "".
			second := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
			Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(second).WithMessage("hello")))
			Expect(countOf(w.b, nmHostStarted(host))()).To(Equal(2))
			Expect(w.b.Trace().Count(Connect().In(w.worker).Named(""))).To(Equal(2), "port.name of both ports")
			Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().In(w.worker)))
		})

		It("closes the host's input when the extension calls port.disconnect(), and the caller's port gets no onDisconnect", Label("MN-07"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-disconnect"))
			const host = "com.portprobe.nm07"
			ended := make(chan error, 1)
			nmInstall(ctx, w.b, host, func(ctx context.Context, c *NativeConn) error {
				for {
					if _, err := c.Read(ctx); err != nil {
						ended <- err
						return nil
					}
				}
			})
			port := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
			Expect(port.Post(ctx, "before")).To(Succeed())
			Expect(port.Disconnect(ctx)).To(Succeed())
			Eventually(ended).Should(Receive(MatchError(io.EOF)), "the host's read after port.disconnect()")
			Eventually(w.b.Trace()).Should(HaveEventsInOrder(
				Message().Where(nmIsHost(host)).WithMessage("before"),
				OnDisconnect().Where(nmIsHost(host)),
			))
			Consistently(w.b.Trace()).ShouldNot(HaveEvent(OnDisconnect().In(w.worker)))
		})

		DescribeTable("gives the port onDisconnect with lastError 'Native host has exited.' when the host ends",
			Label("MN-08"),
			func(ctx SpecContext, end func(context.Context, *NativeConn) error) {
				w := openWorld(ctx, nmExt("nm-host-ends"))
				const host = "com.portprobe.nm08"
				nmInstall(ctx, w.b, host, afterFirstMessage(end))
				port := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
				Expect(port.Post(ctx, "go")).To(Succeed())
				Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithLastError(nmExited)))
				Expect(w.b.Trace()).NotTo(HaveEvent(Message().OnPort(port)))
			},
			Entry("Serve returns (the host exits with status 0)", nmServeReturns),
			Entry("the host exits with status 3", nmExitsWith3),
			Entry("the host dies by SIGKILL", nmIsKilled),
			Entry("the host writes a length without its message, then exits", nmTruncated),
		)

		// The stored runtime_hooks_delegate.cc reads application as a string
		// only (HandleConnectNative DCHECKs IsString); Chromium 156's schema
		// is [string|runtime.NativeMessageTarget] and takes {application}.
		It("accepts the host's name as a string or as {application: name}, for connectNative and sendNativeMessage", Label("MN-09", "differs"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-target"))
			const host = "com.portprobe.nm09"
			nmInstall(ctx, w.b, host, nil)
			Expect(must(w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage({application: "`+host+`"}, {via: "target"})`))).To(MatchJSON(`{"via": "target"}`))
			port := nmConnect(ctx, w.b, w.worker, `{application: "`+host+`"}`)
			Expect(port.Post(ctx, "via target")).To(Succeed())
			Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(port).WithMessage("via target")))
			Expect(nmSyncThrow(ctx, w.worker, `chrome.runtime.connectNative(42)`)).To(Equal([]any{"TypeError",
				"Error in invocation of runtime.connectNative([string|runtime.NativeMessageTarget] application): No matching signature."}))
		})
	})

	Describe("hosts Chrome will not start", func() {
		It("reports a host that is not installed as 'Specified native messaging host not found.'", Label("MN-10", "firefox-differs"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-not-found"))
			if w.b.Engine() == Firefox {
				// Firefox's words, on the port's error rather than
				// runtime.lastError for connectNative.
				const nowhere = "com.portprobe.nowhere"
				_, err := w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("`+nowhere+`", {})`)
				Expect(jsText(err)).To(Equal("Error: " + nmNotFoundFirefox(nowhere)))
				_, lastError := nmSendByCallback(ctx, w.worker, `"`+nowhere+`", {}`)
				Expect(lastError).To(Equal(nmNotFoundFirefox(nowhere)))
				port := nmConnect(ctx, w.b, w.worker, `"`+nowhere+`"`)
				Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), nmNotFoundFirefox(nowhere))))
				return
			}
			_, err := w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("com.portprobe.nowhere", {})`)
			Expect(jsText(err)).To(Equal("Error: " + nmNotFound))
			_, lastError := nmSendByCallback(ctx, w.worker, `"com.portprobe.nowhere", {}`)
			Expect(lastError).To(Equal(nmNotFound))
			port := nmConnect(ctx, w.b, w.worker, `"com.portprobe.nowhere"`)
			Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithLastError(nmNotFound)))
		})

		It("reports a host whose allowed_origins leave the extension out as 'Access to the specified native messaging host is forbidden.'", Label("MN-11"), func(ctx SpecContext) {
			other := nmExt("nm-allowed").Build(GinkgoTB())
			w := openWorld(ctx, nmExt("nm-forbidden"), other)
			nmNoHostsInFirefox()
			const host = "com.portprobe.nm11"
			Expect(w.b.InstallNativeHost(ctx, NativeHost{Name: host, AllowedOrigins: []string{"chrome-extension://" + other.ID + "/"}})).To(Succeed())
			_, err := w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("`+host+`", {})`)
			Expect(jsText(err)).To(Equal("Error: " + nmForbidden))
			port := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
			Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithLastError(nmForbidden)))
			Expect(w.b.Trace()).NotTo(HaveEvent(nmHostStarted(host)), "Chrome never started the host for the extension")

			// The host works for the extension it allows.
			allowed := must(must(w.b.Extension(other.ID)).Worker(ctx))
			Expect(must(allowed.Eval(ctx, `chrome.runtime.sendNativeMessage("`+host+`", {ok: true})`))).To(MatchJSON(`{"ok": true}`))
			Expect(w.b.Trace()).To(HaveEvent(nmHostStarted(host).WithSender("origin", "chrome-extension://"+other.ID+"/")))
		})

		// Firefox checks the name against its schema's pattern
		// /^\w+(\.\w+)*$/ (toolkit/components/extensions/schemas/
		// runtime.json) and throws at once; a name with an upper-case
		// letter passes it and is looked for.
		DescribeTable("reports a name Chrome's rule refuses as 'Invalid native messaging host name specified.'",
			Label("MN-12", "firefox-differs"),
			func(ctx SpecContext, name string) {
				w := openWorld(ctx, nmExt("nm-bad-name"))
				if w.b.Engine() == Firefox {
					if regexp.MustCompile(`^\w+(\.\w+)*$`).MatchString(name) {
						_, err := w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage(`+jsonString(name)+`, {})`)
						Expect(jsText(err)).To(Equal("Error: " + nmNotFoundFirefox(name)))
						port := nmConnect(ctx, w.b, w.worker, jsonString(name))
						Eventually(w.b.Trace()).Should(HaveEvent(closedWith(w.b, OnDisconnect().OnPort(port), nmNotFoundFirefox(name))))
						return
					}
					for _, method := range []string{"sendNativeMessage", "connectNative"} {
						args := jsonString(name)
						if method == "sendNativeMessage" {
							args += ", {}"
						}
						Expect(nmSyncThrow(ctx, w.worker, `chrome.runtime.`+method+`(`+args+`)`)).To(Equal([]any{"Error",
							`Type error for parameter application (String ` + jsonString(name) + ` must match /^\w+(\.\w+)*$/) for runtime.` + method + `.`}))
					}
					return
				}
				_, err := w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage(`+jsonString(name)+`, {})`)
				Expect(jsText(err)).To(Equal("Error: " + nmInvalidName))
				port := nmConnect(ctx, w.b, w.worker, jsonString(name))
				Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithLastError(nmInvalidName)))
			},
			Entry("a space", "Bad Name"),
			Entry("an upper-case letter", "com.Portprobe.host"),
			Entry("a hyphen", "com.portprobe-host"),
			Entry("a doubled dot", "com..portprobe"),
			Entry("a leading dot", ".portprobe"),
			Entry("the empty string", ""),
		)
	})

	Describe("where the API exists", func() {
		It("is absent without the nativeMessaging permission: no connectNative, sendNativeMessage or onConnectNative", Label("MN-13"), func(ctx SpecContext) {
			w := openWorld(ctx, blank("nm-no-permission"))
			Expect(must(EvalAs[[]string](ctx, w.worker, `[typeof chrome.runtime.connectNative, typeof chrome.runtime.sendNativeMessage, typeof chrome.runtime.onConnectNative]`))).
				To(Equal([]string{"undefined", "undefined", "undefined"}))
			Expect(must(EvalAs[string](ctx, w.worker, `typeof chrome.runtime.connect`))).To(Equal("function"), "the rest of runtime is there")
		})

		It("is absent in content scripts, even with the permission, and present in extension pages", Label("MN-14", "firefox-differs"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-contexts"))
			if w.b.Engine() == Firefox {
				// Firefox defines both functions in content scripts too,
				// but the call fails there: the parent process refuses
				// it with a generic error. Extension pages have them.
				// (Reaching a host needs one installed; see
				// nmNoHostsInFirefox.)
				Expect(must(EvalAs[[]string](ctx, w.cs, `[typeof chrome.runtime.connectNative, typeof chrome.runtime.sendNativeMessage]`))).
					To(Equal([]string{"function", "function"}))
				_, err := w.cs.Eval(ctx, `chrome.runtime.sendNativeMessage("com.portprobe.nm14", {from: "content script"})`)
				Expect(jsText(err)).To(Equal("Error: An unexpected error occurred"))
				_, page := must2(w.ext.OpenPage(ctx, "page.html"))
				Expect(must(EvalAs[[]string](ctx, page, `[typeof chrome.runtime.connectNative, typeof chrome.runtime.sendNativeMessage]`))).
					To(Equal([]string{"function", "function"}))
				return
			}
			Expect(must(EvalAs[[]string](ctx, w.cs, `[typeof chrome.runtime.connectNative, typeof chrome.runtime.sendNativeMessage]`))).
				To(Equal([]string{"undefined", "undefined"}))
			const host = "com.portprobe.nm14"
			nmInstall(ctx, w.b, host, nil)
			_, page := must2(w.ext.OpenPage(ctx, "page.html"))
			Expect(must(page.Eval(ctx, `chrome.runtime.sendNativeMessage("`+host+`", {from: "page"})`))).To(MatchJSON(`{"from": "page"}`))
			Expect(w.b.Trace()).To(HaveEvent(nmHostStarted(host).WithSender("origin", "chrome-extension://"+w.ext.ID+"/")))
		})
	})

	Describe("limits", func() {
		It("accepts a message from the host of exactly 1 MiB and closes the channel on one of 1 MiB + 1 with 'Error when communicating with the native messaging host.'", Label("MN-15"), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-host-limit"))
			const host, atLimit, overLimit = "com.portprobe.nm15", "com.portprobe.nm15a", "com.portprobe.nm15b"
			nmInstall(ctx, w.b, host, func(ctx context.Context, c *NativeConn) error {
				if _, err := c.Read(ctx); err != nil {
					return err
				}
				if err := c.WriteRaw(nmFrame(nmJSONOfSize(nmMaxFromHost))); err != nil {
					return err
				}
				if err := c.WriteRaw(nmFrame(nmJSONOfSize(nmMaxFromHost + 1))); err != nil {
					return err
				}
				return nmDrain(ctx, c)
			})
			port := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
			Expect(port.Post(ctx, "go")).To(Succeed())
			Eventually(w.b.Trace()).Should(HaveEventsInOrder(
				Message().OnPort(port).Where("of 1 MiB of JSON", func(e Event) bool { return len(e.Message) == nmMaxFromHost }),
				OnDisconnect().OnPort(port).WithLastError(nmIOError),
			))
			Expect(w.b.Trace().Count(Message().OnPort(port))).To(Equal(1))

			// sendNativeMessage: the same limit for its one answer.
			answerOfSize := func(size int) func(context.Context, *NativeConn) error {
				return func(ctx context.Context, c *NativeConn) error {
					if _, err := c.Read(ctx); err != nil {
						return err
					}
					if err := c.WriteRaw(nmFrame(nmJSONOfSize(size))); err != nil {
						return err
					}
					return nmDrain(ctx, c)
				}
			}
			nmInstall(ctx, w.b, atLimit, answerOfSize(nmMaxFromHost))
			nmInstall(ctx, w.b, overLimit, answerOfSize(nmMaxFromHost+1))
			Expect(must(EvalAs[int](ctx, w.worker, `chrome.runtime.sendNativeMessage("`+atLimit+`", {}).then((m) => m.length)`))).To(Equal(nmMaxFromHost - 2))
			_, err := w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("`+overLimit+`", {}).then((m) => m.length)`)
			Expect(jsText(err)).To(Equal("Error: " + nmIOError))
		})

		It("refuses a message to the host over 64 MiB of JSON at once: sendNativeMessage throws a TypeError, postMessage an Error, and the port stays open", Label("MN-16"), bigMessageTimeout(), func(ctx SpecContext) {
			w := openWorld(ctx, nmExt("nm-extension-limit"))
			const host = "com.portprobe.nm16"
			nmInstall(ctx, w.b, host, nil)
			Expect(nmSyncThrow(ctx, w.worker, `chrome.runtime.sendNativeMessage("`+host+`", {s: "a".repeat(64 * 1024 * 1024)})`)).
				To(Equal([]any{"TypeError", nmInvocation + "Message exceeded maximum allowed size of 64MiB."}))
			Consistently(countOf(w.b, nmHostStarted(host))).Should(BeZero(), "no host process starts")

			// On a port: a String object whose JSON is 64 MiB + 1 bytes (the
			// probe traces it as {"$type":"String"}, not its 64 MiB).
			port := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
			err := port.PostJS(ctx, `new String("a".repeat(64 * 1024 * 1024 - 1))`)
			Expect(jsText(err)).To(Equal(tooBig))
			Expect(port.Post(ctx, "after")).To(Succeed())
			Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(port).WithMessage("after")))
			hostRealm := eventOf(w.b, nmHostStarted(host)).Realm
			Expect(receivedMessages(w.b, hostRealm)).To(Equal([]string{`"after"`}))
		})
	})

	It("ends a host that ignores the end of its input: the host process is gone within 10 s of Chrome closing its input", Label("MN-17"), func(ctx SpecContext) {
		w := openWorld(ctx, nmExt("nm-stubborn"))
		const host = "com.portprobe.nm17"
		// The host reads until Chrome closes its input, then stays: only
		// Chrome can end its process.
		nmInstall(ctx, w.b, host, func(ctx context.Context, c *NativeConn) error {
			nmDrain(ctx, c)
			select {
			case <-c.Done():
			case <-ctx.Done():
			}
			return nil
		})
		port := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
		Expect(port.Post(ctx, "hi")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().Where(nmIsHost(host)).WithMessage("hi")))
		Expect(port.Disconnect(ctx)).To(Succeed())
		closed := eventOf(w.b, OnDisconnect().Where(nmIsHost(host)))
		ended := Disconnect().In(closed.Realm).Where("ended by itself or by Chrome", func(e Event) bool { return e.Call == "ended" })
		Eventually(w.b.Trace()).WithTimeout(scaled(10 * time.Second)).Should(HaveEvent(ended))
		end, _ := w.b.Trace().Find(ended)
		AddReportEntry("from closing the host's input to its end", end.At.Sub(closed.At).Round(10*time.Millisecond).String())
		Expect(end.Seq).To(BeNumerically(">", closed.Seq))
	})

	It("drops a message from the host that is not JSON, and the port stays open", Label("RM-10"), func(ctx SpecContext) {
		// Chrome also logs "The sender sent an invalid JSON message; message
		// ignored." to the realm's console. The harness records console API
		// calls only, not that log entry, so this spec cannot see it; the
		// same text is what sendNativeMessage rejects with (MN-04).
		w := openWorld(ctx, nmExt("nm-port-bad-json"))
		const host = "com.portprobe.rm10"
		nmInstall(ctx, w.b, host, func(ctx context.Context, c *NativeConn) error {
			if _, err := c.Read(ctx); err != nil {
				return err
			}
			if err := c.WriteRaw(nmFrame([]byte("{not json"))); err != nil {
				return err
			}
			if err := c.Write("after"); err != nil {
				return err
			}
			return nmEchoEach(ctx, c)
		})
		port := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
		Expect(port.Post(ctx, "go")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(port).WithMessage("after")))
		Expect(port.Post(ctx, "still open")).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(port).WithMessage(map[string]any{"echo": "still open"})))
		Expect(receivedMessages(w.b, w.worker)).To(Equal([]string{`"after"`, `{"echo":"still open"}`}))
		Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().OnPort(port)))
	})

	It("is always JSON, even in an extension with message_serialization structured_clone", Label("RM-11"), func(ctx SpecContext) {
		w := openWorld(ctx, nmExt("nm-structured-clone").With("message_serialization", "structured_clone"))
		const host = "com.portprobe.rm11"
		nmInstall(ctx, w.b, host, nil)
		// A Map becomes {}, a Date its ISO string, an undefined field goes.
		const asJSON = `{"m": {}, "d": "1970-01-01T00:00:00.000Z"}`
		Expect(must(w.worker.Eval(ctx, `chrome.runtime.sendNativeMessage("`+host+`", {m: new Map([[1, 2]]), d: new Date(0), u: undefined})`))).To(MatchJSON(asJSON))
		Eventually(w.b.Trace()).Should(HaveEvent(Message().Where(nmIsHost(host)).WithMessage(json.RawMessage(asJSON))))
		// What JSON cannot write is refused, as in a JSON extension.
		Expect(nmSyncThrow(ctx, w.worker, `chrome.runtime.sendNativeMessage("`+host+`", {n: 1n})`)).
			To(Equal([]any{"TypeError", nmInvocation + "Could not serialize message."}))
		port := nmConnect(ctx, w.b, w.worker, `"`+host+`"`)
		Expect(jsText(port.PostJS(ctx, `123n`))).To(Equal(noSerialize))
		Expect(port.PostJS(ctx, `new Set([1])`)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(port).WithMessage(map[string]any{})))
	})

	It("keeps the service worker alive past the idle timeout while its native port is open, and lets it stop once the host has exited", Label("RL-05", "slow"), SpecTimeout(scaled(4*time.Minute)), func(ctx SpecContext) {
		// The worker runs unprobed (Options.IdleWorkers), as in
		// idle_test.go: the content script asks it to connect, and the
		// host's side and the worker's status are what the spec sees.
		nmNoHostsInFirefox()
		const host = "com.portprobe.rl05"
		main := nmExt("nm-keepalive").WithFile("worker.js", `chrome.runtime.onMessage.addListener((m, sender, sendResponse) => {
  if (m === "connect native") {
    self.nativePort = chrome.runtime.connectNative("`+host+`");
    sendResponse("connected");
  }
});
`).Build(GinkgoTB())
		opts := options(main.Dir)
		opts.IdleWorkers = true
		b := launchWith(ctx, opts)
		e := must(b.Extension(main.ID))
		must(e.WaitWorkerStatus(ctx, WorkerRunning))
		release := make(chan struct{})
		nmInstall(ctx, b, host, func(ctx context.Context, c *NativeConn) error {
			// A silent host: nothing flows on the port.
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
		tab := must(b.OpenTab(ctx, b.Pages().URL("/")))
		cs := must(e.ContentScript(ctx, tab))
		Expect(cs.SendMessage(ctx, "connect native")).To(MatchJSON(`"connected"`))
		started := eventOf(b, nmHostStarted(host))
		before := len(e.WorkerHistory())

		// 45 s without an event: past Chrome's 30 s idle timeout (not
		// scaled: it is the behavior under test).
		Consistently(func() []WorkerChange { return e.WorkerHistory()[before:] }).
			WithTimeout(45*time.Second).WithPolling(time.Second).
			Should(BeEmpty(), "the worker's status changed while its native port was open")
		Expect(b.Trace()).NotTo(HaveEvent(Disconnect().In(started.Realm)), "the host is still running")

		// The host exits: the port closes, and the worker idles out.
		close(release)
		exited := eventOf(b, Disconnect().In(started.Realm))
		wctx, cancel := context.WithTimeout(ctx, scaled(75*time.Second))
		defer cancel()
		stopped := must(e.WaitWorkerStatus(wctx, WorkerStopped))
		idle := stopped.At.Sub(exited.At)
		AddReportEntry("from the host's exit to the worker's stop", idle.Round(100*time.Millisecond).String())
		Expect(idle).To(BeNumerically(">=", 25*time.Second), "the worker stopped before the idle timeout; its status: %v", e.WorkerHistory())
	})
})
