package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portprobe/portprobe/diagram"
	"github.com/portprobe/portprobe/manifest"
	"github.com/portprobe/portprobe/matchers"
	"github.com/portprobe/portprobe/trace"
)

// The chaos tests: each is a defect that an attack on the harness found
// (issue "Never hang, never lie"), kept fixed. They need no browser unless
// they say so.

// Item 12: an Event made by hand, or one with no realm, prints and draws
// without a panic.
func TestChaosEventsWithoutABrowserPrint(t *testing.T) {
	for name, e := range map[string]trace.Event{
		"zero":          {},
		"hand-made":     {Realm: &Realm{Kind: trace.WorkerRealm, ExtensionID: "abc"}, Kind: trace.KindConnect, Port: 1, Name: "x"},
		"no realm port": {Kind: trace.KindPost, Port: 2},
	} {
		t.Run(name, func(t *testing.T) {
			_ = e.String()
			tr := trace.New()
			tr.Add(e)
			_ = tr.String()
			if _, ok := tr.Find(trace.Connect().Named("nothing")); ok {
				t.Error("found an event that is not there")
			}
			m := matchers.HaveEvent(trace.Message().Named("missing"))
			if ok, err := m.Match(tr); ok || err != nil {
				t.Errorf("Match = %v, %v", ok, err)
			}
			_ = m.FailureMessage(tr)
			if err := diagram.Write(io.Discard, "chaos", tr.Events()); err != nil {
				t.Errorf("WriteDiagram: %v", err)
			}
		})
	}
}

// Item 11: a call whose context already ended fails and does nothing: no
// connect, no post, no navigation happened behind the error.
func TestChaosExpiredContextDoesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b, cs := launchMDN(t, Options{Logf: t.Logf})
	defer b.Close()
	live := t.Context()
	expired, cancel := context.WithDeadline(live, time.Now().Add(-time.Second))
	defer cancel()
	tab := cs.Tab
	before := tab.URL()

	if _, err := cs.Connect(expired, map[string]any{"name": "too-late"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Connect with an expired context: %v, want context.DeadlineExceeded", err)
	}
	if _, err := cs.Eval(expired, `globalThis.ran = true`); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Eval with an expired context: %v, want context.DeadlineExceeded", err)
	}
	if err := tab.Navigate(expired, b.Pages().URL("/next")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Navigate with an expired context: %v, want context.DeadlineExceeded", err)
	}
	if _, err := b.OpenTab(expired, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("OpenTab with an expired context: %v, want context.DeadlineExceeded", err)
	}
	// Nothing happened.
	ran, err := EvalAs[bool](live, cs, `globalThis.ran === true`)
	if err != nil || ran {
		t.Errorf("the expired Eval ran: %v, %v", ran, err)
	}
	if _, ok := b.Trace().Find(trace.Connect().Named("too-late")); ok {
		t.Errorf("the expired Connect connected:\n%s", b.Trace())
	}
	if got := tab.URL(); got != before {
		t.Errorf("the expired Navigate went to %s", got)
	}
}

// Item 1: Launch with a context that is already cancelled, or whose deadline
// is too short for Chrome to start, returns at once with the context's error
// and leaves no Chrome behind.
func TestChaosLaunchWithAnEndedContextReturns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	short, cancelShort := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancelShort()
	for name, ctx := range map[string]context.Context{"cancelled": cancelled, "1 ms": short} {
		err := launchFails(t, ctx, Options{Logf: t.Logf}, 15*time.Second)
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: Launch: %v, want the context's error", name, err)
		}
	}
	noProfileLeft(t)
}

// launchFails runs a Launch that must fail within limit and returns its
// error, failing the test when it succeeds or takes longer.
func launchFails(t *testing.T, ctx context.Context, opts Options, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	opts = withTestChrome(t, opts)
	go func() {
		b, err := Launch(ctx, opts)
		if err == nil {
			b.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Launch succeeded")
		}
		t.Logf("%v after %v", err, time.Since(start))
		return err
	case <-time.After(limit):
		t.Fatalf("Launch has not returned in %v", limit)
		return nil
	}
}

// noProfileLeft fails the test when a profile folder of this process is
// left (Close removes it once the Chrome that used it is gone).
func noProfileLeft(t *testing.T) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-*", profilePrefix, os.Getpid())))
	for _, dir := range left {
		t.Errorf("left behind: %s", dir)
	}
}

// Item 4: a Wait whose context has no deadline gets Options.Timeout, and
// every pending wait ends at once when the browser closes.
func TestChaosTraceWaitEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b, err := Launch(t.Context(), withTestChrome(t, Options{Logf: t.Logf, Timeout: 1500 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	start := time.Now()
	_, err = b.Trace().Wait(context.Background(), trace.Connect().Named("never"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("Wait with no deadline: %v after %v, want Options.Timeout's deadline", err, time.Since(start))
	}
	done := make(chan error, 2)
	go func() {
		_, err := b.Trace().Wait(context.Background(), trace.Connect().Named("never"))
		done <- err
	}()
	go func() {
		_, err := b.WaitTab(context.Background(), "http://never/")
		done <- err
	}()
	b.Close()
	for range 2 {
		select {
		case err := <-done:
			if !errors.Is(err, ErrBrowserClosed) {
				t.Errorf("a wait when the browser closed: %v, want ErrBrowserClosed", err)
			}
		case <-time.After(1200 * time.Millisecond):
			t.Fatal("a wait did not end when the browser closed")
		}
	}
}

// Item 5: when Chrome dies, pending waits fail at once and say so.
func TestChaosWaitsEndWhenChromeDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b, cs := launchMDN(t, Options{Logf: t.Logf, Timeout: 30 * time.Second})
	defer b.Close()
	ext := cs.Extension()
	done := make(chan error, 3)
	go func() {
		_, err := b.Trace().Wait(context.Background(), trace.Connect().Named("never"))
		done <- err
	}()
	go func() {
		_, err := ext.ContentScript(context.Background(), cs.Tab, InFrame("no-such-frame"))
		done <- err
	}()
	go func() {
		_, err := b.WaitTab(context.Background(), "http://never/")
		done <- err
	}()
	if err := b.chromeProcess().Kill(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "browser process exited") {
				t.Errorf("a wait when Chrome died: %v, want an error that says the browser exited", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a wait did not end within 5 s of Chrome's death (the deadline is 30 s)")
		}
	}
}

// Items 9 and 10: an ID that is loaded cannot be loaded again (two folders
// with one key), and an uninstalled extension is not reloaded behind the
// harness's back.
func TestChaosOneHandlePerID(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	ctx := t.Context()
	key, _, _, err := manifest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, name := range []string{"first", "second"} {
		dir := t.TempDir()
		manifest := fmt.Sprintf(`{"manifest_version": 3, "name": %q, "version": "1", "key": %q}`, name, key)
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	first, err := b.LoadExtension(ctx, dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LoadExtension(ctx, dirs[1]); err == nil || !strings.Contains(err.Error(), "already loaded") {
		t.Errorf("loading a second folder with the same key: %v, want an error that says the ID is already loaded", err)
	}
	if len(b.Extensions()) != 1 {
		t.Errorf("extensions: %v", b.Extensions())
	}
	if err := first.Uninstall(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Reload(ctx); err == nil || !strings.Contains(err.Error(), "not loaded") {
		t.Errorf("Reload after Uninstall: %v, want an error that says it is not loaded", err)
	}
	if len(b.Extensions()) != 0 {
		t.Errorf("extensions after Uninstall and a refused Reload: %v", b.Extensions())
	}
}

// Item 14: Chrome's singleton folder (org.chromium.Chromium.XXXXXX in
// TMPDIR) goes with the browser: it is made in the profile, which Close
// removes.
func TestChaosNoChromiumFolderLeftInTMPDIR(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	pattern := filepath.Join(os.TempDir(), "org.chromium.Chromium.*")
	before, _ := filepath.Glob(pattern)
	b, err := Launch(t.Context(), withTestChrome(t, Options{Logf: t.Logf}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.OpenTab(t.Context(), b.Pages().URL("/")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	after, _ := filepath.Glob(pattern)
	for _, dir := range after {
		if !slices.Contains(before, dir) {
			t.Errorf("left in TMPDIR: %s", dir)
		}
	}
}

// Item 7: a web page that names its own script chrome-extension://… (with
// sourceURL) does not get its world probed: what is probed is decided by the
// context's origin and world, not by a script's URL.
func TestChaosPageCannotPassForTheExtension(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b, cs := launchMDN(t, Options{Logf: t.Logf})
	defer b.Close()
	forged := `eval("globalThis.forged = 1\n//# sourceURL=chrome-extension://` + cs.ExtensionID + `/forged.js"); forged`
	if v, err := cs.Tab.Eval(t.Context(), forged); err != nil || string(v) != "1" {
		t.Fatalf("the page's script: %s, %v", v, err)
	}
	// A round trip through the content script: any probe the forged
	// script's pause would have made is in by now.
	if _, err := cs.Eval(t.Context(), "0"); err != nil {
		t.Fatal(err)
	}
	for _, r := range b.Realms() {
		if r.Tab == cs.Tab && r.Kind != trace.ContentScriptRealm {
			t.Errorf("the page's own world was probed as %s (%s)", r, r.URL)
		}
	}
}

// Item 7, the binding: a web page that took the probe's binding in the
// moment between Runtime.addBinding and the probe hiding it cannot put
// events in the trace with it.
func TestChaosPageCannotUseAGrabbedBinding(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b, cs := launchMDN(t, Options{Logf: t.Logf})
	defer b.Close()
	ctx := t.Context()
	tab := cs.Tab
	// The moment, made wide: the binding is on every world of the page
	// and the page takes it.
	if _, err := callOn(ctx, tab.main.sess, addBinding, addBindingParams{Name: b.bindingName}); err != nil {
		t.Fatal(err)
	}
	if v, err := tab.Eval(ctx, "globalThis.grabbed = globalThis["+jsString(b.bindingName)+"]; typeof grabbed"); err != nil || string(v) != `"function"` {
		t.Fatalf("the page did not get the binding: %s, %v", v, err)
	}
	page, err := tab.ProbeWebPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	forged := `[{"k":"onConnect","p":99,"t":1,"n":"forged","s":{"id":"` + cs.ExtensionID + `"}}]`
	if _, err := tab.Eval(ctx, "grabbed("+jsString(forged)+"); grabbed("+jsString(`{"k":"connect","p":98,"t":2,"n":"forged"}`)+"); 1"); err != nil {
		t.Fatal(err)
	}
	// The probe of the page still reports: its own events go in.
	if _, err := page.Eval(ctx, "0"); err != nil {
		t.Fatal(err)
	}
	for _, ev := range b.Trace().Events() {
		if ev.Name == "forged" {
			t.Errorf("the page forged an event with the grabbed binding: %s", ev)
		}
	}
}

// Item 8: the extension's own code cannot change what the probe records:
// it patches the built-ins the probe used, and the trace still shows the
// port's name and every message as it arrived.
func TestChaosPatchedBuiltinsDoNotChangeTheTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	dir := t.TempDir()
	files := map[string]string{
		"manifest.json": `{"manifest_version": 3, "name": "patcher", "version": "1",
  "background": {"service_worker": "worker.js"},
  "content_scripts": [{"matches": ["http://127.0.0.1/*"], "js": ["cs.js"]}]}`,
		"worker.js": `Map.prototype.get = function () { return "FORGED-NAME"; };
WeakMap.prototype.get = function () { return undefined; };
Array.prototype.map = function () { return ["FORGED-ARRAY"]; };
Array.prototype[Symbol.iterator] = function* () { yield "FORGED-ITER"; };
Object.defineProperty(Object.prototype, "secret", { set() {}, get() { return undefined; }, configurable: true });
Object.prototype.toJSON = function () { return "FORGED-JSON"; };
Function.prototype.call = function () { return "[object FORGED]"; };
chrome.runtime.onConnect.addListener((port) => port.onMessage.addListener(() => {}));
`,
		"cs.js": `const port = chrome.runtime.connect({name: "real-name"});
port.postMessage([1, 2, 3]);
port.postMessage({secret: 42, visible: 1});
port.postMessage(JSON.parse('{"__proto__": {"x": 1}, "y": 2}'));
port.postMessage("done");
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := benchLaunch(t, Options{Logf: t.Logf, Extensions: []string{dir}})
	ctx := t.Context()
	worker, err := b.Extensions()[0].Worker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.OpenTab(ctx, b.Pages().URL("/")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.Message().In(worker).WithMessage("done")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`[1,2,3]`, `{"secret":42,"visible":1}`, `{"__proto__":{"x":1},"y":2}`} {
		if _, ok := b.Trace().Find(trace.Message().In(worker).Named("real-name").WithMessage(json.RawMessage(want))); !ok {
			t.Errorf("the worker's trace lacks message %s under its real name:\n%s", want, b.Trace())
		}
	}
}

// Item 15: a long-lived browser (a suite's) does not grow with every
// extension it loaded: the realms, worker sessions, tabs and goroutines of
// an uninstalled extension go with it.
func TestChaosLongLivedBrowserDoesNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	ctx := t.Context()
	dir := benchExtension(t, "grow")
	type size struct{ realms, sessions, tabs, goroutines int }
	measure := func() size {
		b.mu.Lock()
		defer b.mu.Unlock()
		return size{len(b.realms), len(b.workerSessions), len(b.tabs), goruntime.NumGoroutine()}
	}
	var after5 size
	for cycle := 1; cycle <= 20; cycle++ {
		ext, err := b.LoadExtension(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ext.Worker(ctx); err != nil {
			t.Fatal(err)
		}
		tab, err := b.OpenTab(ctx, b.Pages().URL("/"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ext.ContentScript(ctx, tab); err != nil {
			t.Fatal(err)
		}
		if err := tab.Recycle(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ext.Uninstall(ctx); err != nil {
			t.Fatal(err)
		}
		if cycle == 5 {
			after5 = measure()
		}
	}
	// Chrome reports a worker's end a moment after the uninstall.
	if !retryUntil(5*time.Second, 20*time.Millisecond, func() bool {
		now := measure()
		return now.realms <= after5.realms && now.sessions <= after5.sessions && now.tabs <= after5.tabs && now.goroutines <= after5.goroutines+10
	}) {
		t.Errorf("after 20 cycles %+v, after 5 %+v: it grows", measure(), after5)
	}
}

// Item 13: a worker that cannot start (a syntax error, a throw at its top
// level) makes Worker fail at once with Chrome's own error, not a timeout.
func TestChaosWorkerThatCannotStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	for name, tc := range map[string]struct{ code, want string }{
		"syntax error": {"// line 1\nconsole.log('before');\nconst = ;\n", "sw.js:3:7: SyntaxError: Unexpected token '='"},
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"manifest.json": `{"manifest_version":3,"name":"broken","version":"1","background":{"service_worker":"sw.js"}}`,
			"sw.js":         tc.code,
		})
		ext, err := b.LoadExtension(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = ext.Worker(t.Context())
		if err == nil || !strings.Contains(err.Error(), tc.want) || time.Since(start) > 3*time.Second {
			t.Errorf("%s: Worker: %v after %v, want %q at once", name, err, time.Since(start), tc.want)
		}
	}
	// A throw at the top level: the worker ran (its realm exists and
	// answers), but Chrome did not register it. A wait for what it would
	// have done fails showing the exception.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"manifest.json": `{"manifest_version":3,"name":"throws","version":"1","background":{"service_worker":"sw.js"}}`,
		"sw.js":         "chrome.runtime.onConnect.addListener(() => {});\nthrow new Error('boom');\n",
	})
	ext, err := b.LoadExtension(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ext.Worker(t.Context()); err != nil {
		t.Fatalf("throw at the top level: Worker: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = b.Trace().Wait(ctx, trace.Connect())
	if err == nil || !strings.Contains(err.Error(), "uncaught exceptions:") || !strings.Contains(err.Error(), "Error: boom (chrome-extension://"+ext.ID+"/sw.js:2:7)") {
		t.Errorf("throw at the top level: a wait failed with %v, want the exception in its message", err)
	}
}
