package harness

// The Firefox engine, first steps (issue "Firefox"): Firefox ESR headless
// with a private profile and its remote debugging protocol (RDP) on a Unix
// socket of the profile; extensions installed as temporary add-ons; the
// background page and content scripts paused at their first statement
// (the event breakpoint "script.source.firstStatement") and probed there;
// the probe's events pushed to Go as console messages that carry the realm's
// token and the probe's secret. One tab, the one Firefox starts with.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"

	"github.com/portprobe/portprobe/internal/rdp"
	"github.com/portprobe/portprobe/internal/wake"
	"github.com/portprobe/portprobe/locate"
	"github.com/portprobe/portprobe/pages"
	"github.com/portprobe/portprobe/trace"
)

// firefoxPrefs are the profile's preferences: remote debugging without a
// prompt, unsigned temporary add-ons, none of Firefox's first-run pages or
// reports, and full-precision clocks (the trace orders events by the time
// each realm stamps them; Firefox rounds performance.now() to a millisecond
// by default). Closing the last tab leaves the window open: by default
// Firefox closes the window with it, and with its only window it quits.
const firefoxPrefs = `user_pref("devtools.debugger.remote-enabled", true);
user_pref("devtools.chrome.enabled", true);
user_pref("devtools.debugger.prompt-connection", false);
user_pref("xpinstall.signatures.required", false);
user_pref("extensions.autoDisableScopes", 0);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("browser.startup.page", 0);
user_pref("browser.startup.homepage", "about:blank");
user_pref("startup.homepage_welcome_url", "about:blank");
user_pref("app.update.enabled", false);
user_pref("browser.sessionstore.resume_from_crash", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("privacy.reduceTimerPrecision", false);
user_pref("browser.tabs.closeWindowWithLastTab", false);
`

// ffTarget is a target that a watcher announced: a frame (a document) or a
// content script.
type ffTarget struct {
	Actor        string `json:"actor"`
	ThreadActor  string `json:"threadActor"`
	ConsoleActor string `json:"consoleActor"`
	TargetType   string `json:"targetType"`
	URL          string `json:"url"`
	AddonID      string `json:"addonId"`
	TopLevel     bool   `json:"isTopLevelTarget"`
	tab          *Tab   // the tab whose watcher announced it, or nil (an add-on's)
	seq          int    // the order targets came in: a tab's newest frame is its document
	complete     bool   // its document has loaded (a tab's frames: document-event dom-complete)
}

// ffAddon is an installed temporary add-on.
type ffAddon struct {
	id, actor, uuid string
}

// ffBrowser is the Firefox engine's state.
type ffBrowser struct {
	b    *Browser
	conn *rdp.Conn
	cmd  *exec.Cmd
	done chan struct{} // closed when Firefox exited

	addonsActor string

	// mu guards the fields below; never held across a request.
	mu      sync.Mutex
	tabs    map[string]*Tab      // by the actor of their watcher
	pool    []*Tab               // tabs free for the next openTab
	seq     int                  // targets so far
	targets map[string]*ffTarget // by thread actor
	sources map[string]string    // source actor -> URL
	realms  map[string]*Realm    // by target actor
	tokens  map[string]*Realm    // by the token that starts its console messages
	addons  map[string]*ffAddon  // by ID
	byUUID  map[string]*ffAddon

	// tokenFrom is the actor whose console messages count for a token: a
	// page in a tab is seen by the tab's watcher and the add-on's, and
	// each reports every message of it.
	tokenFrom map[string]string
	// batches are the hashes of the probes' latest messages (see
	// seenBatch), pausedFrames the frames of the pauses handled lately
	// (see firstPause).
	batches      recent[[32]byte]
	pausedFrames recent[string]
	// tokenWindow is the window (innerWindowID) a token's messages come
	// from, which tells whose console output a message is.
	tokenWindow map[string]int64
	// early holds the probe batches of the realms whose probe is going
	// in, by token (see handlePause).
	early map[string][]string

	// parentConsole is the console actor of Firefox's parent process
	// (see parentEval), once known.
	parentConsole string
	// docs is notified when a tab's frame comes or its document completes.
	docs wake.Signal

	pauses chan rdp.Packet
	// resumed is closed (and a new one made) when a paused thread
	// resumes, for the resumes that had to wait their turn (resume).
	resumed chan struct{}
}

// launchFirefox is Launch for Options.Browser == Firefox.
func launchFirefox(ctx context.Context, opts Options) (*Browser, error) {
	path := opts.FirefoxPath
	if path == "" {
		var err error
		if path, err = locate.Firefox(); err != nil {
			return nil, err
		}
	}
	if opts.IdleWorkers {
		return nil, fmt.Errorf("launching Firefox %q: Options.IdleWorkers is Chrome's: %w", path, errNoWorkerStatus)
	}
	sweepProfiles()
	profile, err := newProfileDir()
	if err != nil {
		return nil, fmt.Errorf("launching Firefox %q: %w", path, err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(firefoxPrefs), 0o600); err != nil {
		removeProfileDir(profile)
		return nil, fmt.Errorf("launching Firefox %q: %w", path, err)
	}
	sock := filepath.Join(profile, "rdp.sock")
	args := []string{"--no-remote", "--profile", profile, "--start-debugger-server", sock}
	if !opts.Headful {
		args = append([]string{"--headless"}, args...)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+profile, "MOZ_CRASHREPORTER_DISABLE=1")
	setCmdOptions(cmd)
	ownProcessGroup(cmd)
	b := &Browser{
		opts:         opts,
		chromePath:   path,
		bindingName:  "__portprobe_" + randomHex(8),
		probeSecret:  randomHex(16),
		ended:        make(chan struct{}),
		loaded:       map[string]bool{},
		profileDir:   profile,
		workerFailed: map[string]error{},
		prewarmed:    make(chan struct{}),
		control:      make(chan struct{}),
	}
	close(b.prewarmed)
	f := &ffBrowser{b: b, cmd: cmd, done: make(chan struct{}),
		targets: map[string]*ffTarget{}, sources: map[string]string{}, realms: map[string]*Realm{},
		tokens: map[string]*Realm{}, tokenFrom: map[string]string{}, early: map[string][]string{}, tokenWindow: map[string]int64{}, tabs: map[string]*Tab{}, addons: map[string]*ffAddon{}, byUUID: map[string]*ffAddon{},
		batches: recent[[32]byte]{keep: 512}, pausedFrames: recent[string]{keep: 1024},
		pauses: make(chan rdp.Packet, 256)}
	b.ff = f
	b.eng = firefoxEngine{b: b, f: f}
	b.trace = b.newTrace()
	fail := func(err error) (*Browser, error) {
		b.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		removeProfileDir(profile)
		return nil, fmt.Errorf("launching Firefox %q: %w", path, err)
	}
	b.chromeCmd.Store(cmd)
	go func() {
		cmd.Wait()
		close(f.done)
		b.endOnce.Do(func() { close(b.ended) })
		b.changed.Notify()
	}()
	// The socket appears once Firefox runs its debugger server.
	for {
		conn, _, err := rdp.Dial(ctx, sock)
		if err == nil {
			f.conn = conn
			break
		}
		select {
		case <-f.done:
			return fail(fmt.Errorf("launching Firefox %q: it exited before its debugger server started", path))
		case <-ctx.Done():
			return fail(fmt.Errorf("launching Firefox %q: its debugger server did not start: %w", path, context.Cause(ctx)))
		case <-time.After(20 * time.Millisecond): // polling a socket file: Firefox gives no other sign
		}
	}
	f.conn.OnEvent(f.event)
	go f.handlePauses()
	srv, err := pages.NewServer()
	if err != nil {
		return fail(err)
	}
	b.pages = srv
	if err := f.setUp(ctx); err != nil {
		return fail(fmt.Errorf("launching Firefox %q: %w", path, err))
	}
	for _, dir := range opts.Extensions {
		if _, err := b.LoadExtension(ctx, dir); err != nil {
			return fail(err)
		}
	}
	b.logf("using %s (%s)", b.version, path)
	return b, nil
}

// setUp reads the root actor, and watches the first tab: its frames,
// content scripts, sources and console, paused at each script's first
// statement.
func (f *ffBrowser) setUp(ctx context.Context) error {
	var root struct {
		AddonsActor string `json:"addonsActor"`
	}
	if err := f.conn.Request(ctx, "root", "getRoot", nil, &root); err != nil {
		return err
	}
	f.addonsActor = root.AddonsActor
	var tabs []ffTabForm
	for len(tabs) == 0 {
		var err error
		if tabs, err = f.listTabs(ctx); err != nil {
			return err
		}
		if len(tabs) == 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for Firefox's first tab: %w", context.Cause(ctx))
			case <-time.After(20 * time.Millisecond): // the first window is on its way; RDP has no event for it before a watcher exists
			}
		}
	}
	t, err := f.adoptTab(ctx, tabs[0])
	if err != nil {
		return err
	}
	f.pool = append(f.pool, t)
	f.b.version = "Firefox"
	if v, err := firefoxVersion(ctx, f.b.chromePath); err == nil {
		f.b.version = v
	}
	return nil
}

// firefoxVersion runs `firefox --version`: "Mozilla Firefox 153.8.0esr".
func firefoxVersion(ctx context.Context, path string) (string, error) {
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// watch gets a watcher of a descriptor (a tab, an add-on) that reports the
// targets of types, their sources and console messages, and pauses every
// script of them at its first statement.
func (f *ffBrowser) watch(ctx context.Context, descriptor string, resources []string, types ...string) (string, error) {
	var w struct {
		Actor string `json:"actor"`
	}
	if err := f.conn.Request(ctx, descriptor, "getWatcher", map[string]any{"isServerTargetSwitchingEnabled": true}, &w); err != nil {
		return "", err
	}
	return f.watchWith(ctx, w.Actor, resources, types...)
}

// watchWith sets up the watcher w as watch describes; resources are the
// resource types it reports besides console messages and sources.
func (f *ffBrowser) watchWith(ctx context.Context, wa string, resources []string, types ...string) (string, error) {
	w := struct{ Actor string }{wa}
	var bl struct {
		BreakpointList struct {
			Actor string `json:"actor"`
		} `json:"breakpointList"`
	}
	if err := f.conn.Request(ctx, w.Actor, "getBreakpointListActor", nil, &bl); err != nil {
		return "", err
	}
	if err := f.conn.Request(ctx, bl.BreakpointList.Actor, "setActiveEventBreakpoints", map[string]any{"ids": []string{"script.source.firstStatement"}}, nil); err != nil {
		return "", err
	}
	if err := f.conn.Request(ctx, w.Actor, "watchResources", map[string]any{"resourceTypes": append([]string{"console-message", "source"}, resources...)}, nil); err != nil {
		return "", err
	}
	for _, typ := range types {
		if err := f.conn.Request(ctx, w.Actor, "watchTargets", map[string]any{"targetType": typ}, nil); err != nil {
			return "", err
		}
	}
	return w.Actor, nil
}

// event handles a packet that is not a reply, in the connection's read
// loop: it must not wait for a reply.
func (f *ffBrowser) event(p rdp.Packet) {
	switch p.Type {
	case "target-available-form":
		var form struct {
			Target ffTarget `json:"target"`
		}
		if p.Decode(&form) != nil {
			return
		}
		t := form.Target
		f.mu.Lock()
		t.tab = f.tabs[p.From]
		if t.tab != nil && strings.HasPrefix(t.URL, "moz-extension://") {
			t.tab.ff.extension = true
		}
		f.seq++
		t.seq = f.seq
		f.targets[t.ThreadActor] = &t
		f.mu.Unlock()
		f.docs.Notify()
	case "target-destroyed-form":
		var form struct {
			Target ffTarget `json:"target"`
		}
		if p.Decode(&form) != nil {
			return
		}
		var gone []*Realm
		f.mu.Lock()
		if r := f.realms[form.Target.Actor]; r != nil {
			gone = append(gone, r)
		}
		delete(f.realms, form.Target.Actor)
		// The destroyed form names the target, not its thread.
		for thread, t := range f.targets {
			if t.Actor == form.Target.Actor {
				delete(f.targets, thread)
			}
		}
		// The content scripts of a tab's document that is gone stay
		// live: Firefox reports no end of their targets, and the
		// document may be in the back/forward cache, to come back with
		// them (lifecycle's RL-11 restores one).
		f.mu.Unlock()
		for _, r := range gone {
			r.markGone()
		}
	case "resources-available-array":
		var res struct {
			Array [][2]json.RawMessage `json:"array"`
		}
		if p.Decode(&res) != nil {
			return
		}
		for _, a := range res.Array {
			var typ string
			json.Unmarshal(a[0], &typ)
			switch typ {
			case "source":
				var items []struct {
					Actor string `json:"actor"`
					URL   string `json:"url"`
				}
				json.Unmarshal(a[1], &items)
				f.mu.Lock()
				for _, it := range items {
					f.sources[it.Actor] = it.URL
				}
				f.mu.Unlock()
			case "console-message":
				var items []ffConsoleMessage
				json.Unmarshal(a[1], &items)
				for _, it := range items {
					f.console(p.From, it)
				}
			case "document-event":
				var items []struct {
					Name string `json:"name"`
				}
				json.Unmarshal(a[1], &items)
				for _, it := range items {
					if it.Name != "dom-complete" {
						continue
					}
					f.mu.Lock()
					for _, t := range f.targets {
						if t.Actor == p.From {
							t.complete = true
						}
					}
					f.mu.Unlock()
					f.docs.Notify()
				}
			}
		}
	case "paused":
		select {
		case f.pauses <- p:
		default:
			// The handler is far behind; resuming at once keeps Firefox
			// going, at the cost of that realm's probe.
			go f.conn.Request(context.Background(), p.From, "resume", map[string]any{"resumeLimit": nil}, nil)
		}
	}
}

// console takes a console message that actor from reported: a probe's
// batch of events (its first argument starts with a realm's token), or the
// realm's own output. A realm's batches count from the first actor that
// reports one; the copies that other watchers report are dropped.
func (f *ffBrowser) console(from string, m ffConsoleMessage) {
	if len(m.Arguments) == 0 {
		return
	}
	var first string
	if json.Unmarshal(m.Arguments[0], &first) == nil && strings.HasPrefix(first, "pp") {
		token, payload, ok := strings.Cut(first, " ")
		f.mu.Lock()
		r := f.tokens[token]
		pending, installing := f.early[token]
		if ok && (r != nil || installing) {
			if via, seen := f.tokenFrom[token]; !seen {
				f.tokenFrom[token] = from
				f.tokenWindow[token] = m.InnerWindowID
			} else if via != from {
				f.mu.Unlock()
				return // a second watcher's copy
			}
			if f.seenBatch(first) {
				f.mu.Unlock()
				return // the same message told again (seen in long runs)
			}
			if payload == "" {
				// The probe's first word: it tells the realm's window.
				f.mu.Unlock()
				return
			}
			if r == nil && len(pending) < maxEarly {
				// A realm whose probe is going in: its script may
				// run on before the evaluation that installs it has
				// been answered (see handlePause). Its events wait
				// for it.
				f.early[token] = append(pending, payload)
			}
			f.mu.Unlock()
			if r != nil {
				f.b.record(r, payload)
			}
			return
		}
		f.mu.Unlock()
	}
	// The realm's own output, for the trace's console: the realm whose
	// probe wrote from the same window, and of the extension whose file
	// logged (a content script shares its page's window).
	f.mu.Lock()
	var r *Realm
	if f.seenBatch(fmt.Sprintf("console %d %v %s", m.InnerWindowID, m.TimeStamp, m.Arguments[0])) {
		f.mu.Unlock()
		return // a second watcher's copy
	}
	uuid := ""
	if rest, ok := strings.CutPrefix(m.Filename, "moz-extension://"); ok {
		uuid, _, _ = strings.Cut(rest, "/")
	}
	for token, w := range f.tokenWindow {
		c := f.tokens[token]
		if w != m.InnerWindowID || c == nil || c.Gone() {
			continue
		}
		if a := f.addons[c.ExtensionID]; uuid != "" && (a == nil || a.uuid != uuid) {
			continue
		}
		r = c
		break
	}
	f.mu.Unlock()
	if r == nil {
		return
	}
	tr := f.b.traceFor(r)
	if tr == nil {
		return
	}
	var parts []string
	for _, a := range m.Arguments {
		var s string
		if json.Unmarshal(a, &s) == nil {
			parts = append(parts, s)
		} else {
			parts = append(parts, string(a))
		}
	}
	level := m.Level
	if level == "warn" {
		level = "warning"
	}
	tr.AddConsole(trace.ConsoleEntry{
		At:    time.UnixMicro(int64(m.TimeStamp * 1000)),
		Realm: r,
		Level: level,
		Text:  strings.Join(parts, " "),
	})
}

// ffConsoleMessage is a console-message resource: a console call in some
// window of Firefox.
type ffConsoleMessage struct {
	Arguments     []json.RawMessage `json:"arguments"`
	Level         string            `json:"level"`
	TimeStamp     float64           `json:"timeStamp"`
	Filename      string            `json:"filename"`
	InnerWindowID int64             `json:"innerWindowID"`
}

// handlePauses probes the realms of the add-ons at their first statement
// and lets every other paused script go at once.
func (f *ffBrowser) handlePauses() {
	for {
		var p rdp.Packet
		select {
		case p = <-f.pauses:
		case <-f.done:
			return
		}
		// Each pause on its own: a document that two watchers see (an
		// extension page in a tab is the tab's and the add-on's) pauses on
		// both threads, and one must not wait behind the other.
		go f.handlePause(p)
	}
}

func (f *ffBrowser) handlePause(p rdp.Packet) {
	var where struct {
		Frame struct {
			Actor string `json:"actor"`
		} `json:"frame"`
	}
	p.Decode(&where)
	if !f.firstPause(where.Frame.Actor) {
		// Firefox tells of the pause again after each evaluation in its
		// frame (the probe's own): the handler of the first telling
		// resumes it. Handling each would probe the script again and
		// again, and resume it once per telling, leaving it stuck.
		return
	}
	// The resume has a deadline of its own: a probe whose evaluation used
	// up ctx's must not leave the script paused (its page never loads).
	defer func() {
		rctx, rcancel := context.WithTimeout(context.Background(), f.b.opts.Timeout)
		defer rcancel()
		f.resume(rctx, p.From)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), f.b.opts.Timeout)
	defer cancel()
	var pause struct {
		Frame struct {
			Actor string `json:"actor"`
			Where struct {
				Actor string `json:"actor"`
			} `json:"where"`
		} `json:"frame"`
	}
	if p.Decode(&pause) != nil {
		return
	}
	f.mu.Lock()
	t := f.targets[p.From]
	url := f.sources[pause.Frame.Where.Actor]
	f.mu.Unlock()
	if t == nil || f.b.probesOff.Load() {
		return
	}
	if url == "" {
		// The pause came before the source resource that names its URL.
		url = f.sourceURL(ctx, p.From, pause.Frame.Where.Actor)
	}
	rest, ok := strings.CutPrefix(url, "moz-extension://")
	if !ok {
		return
	}
	if t.tab == nil && t.TargetType == "frame" && !strings.HasSuffix(strings.TrimSuffix(t.URL, "/"), "/_generated_background_page.html") && f.inTab(t.URL) {
		// An extension page in a tab, as the add-on's watcher sees it:
		// the tab's watcher probes it.
		return
	}
	uuid, _, _ := strings.Cut(rest, "/")
	f.mu.Lock()
	addon := f.byUUID[uuid]
	probed := f.realms[t.Actor] != nil
	f.mu.Unlock()
	if addon == nil || probed {
		return
	}
	kind := trace.PageRealm
	switch {
	case t.TargetType == "content_script":
		kind = trace.ContentScriptRealm
	case strings.HasSuffix(strings.TrimSuffix(t.URL, "/"), "/_generated_background_page.html"):
		kind = trace.BackgroundPageRealm
	}
	r := newRealm(f.b, kind, addon.id)
	r.URL = t.URL
	if t.tab != nil {
		// The tab's main frame: iframes are not followed yet.
		r.Tab = t.tab
		r.FrameID = cdp.FrameID(t.tab.TargetID)
		if r.URL == "" {
			r.URL = f.topURL(t.tab)
		}
	}
	token := "pp" + randomHex(6)
	conn := &ffRealm{f: f, console: t.ConsoleActor, ctl: "__portprobe_ctl_" + randomHex(6)}
	r.conn = conn
	text := "(() => { const d = console.debug.bind(console); globalThis[" + jsString(f.b.bindingName) + "] = (t) => d(" + jsString(token+" ") + " + t); " +
		"const c = " + f.b.probeExpression() + "; " +
		"Object.defineProperty(globalThis, " + jsString(conn.ctl) + ", {value: c, configurable: true}); d(" + jsString(token+" ") + "); return 'p' + String(globalThis.location && location.href); })()"
	// The script can run on before the evaluation's answer is read: when
	// the probe's evaluation starts the page's scripts (a content script's
	// evaluation is a new source, which pauses the page's thread too),
	// resuming that thread can let the content script run. Its events
	// wait in early until the realm is complete.
	f.mu.Lock()
	f.early[token] = nil
	f.mu.Unlock()
	ev, err := f.conn.Evaluate(ctx, t.ConsoleActor, map[string]any{"text": text, "frameActor": pause.Frame.Actor})
	if err != nil || ev.HasException {
		f.mu.Lock()
		delete(f.early, token)
		f.mu.Unlock()
		f.b.logf("probing %s (%s): %v %s", r, url, err, ev.ExceptionMessage)
		return
	}
	if kind == trace.ContentScriptRealm {
		// A content script's target has no URL of its own, and the tab's
		// newest document is not the one of a content script in an
		// iframe: the script's location is its document's.
		if href, err := f.gripString(ctx, ev.Result); err == nil && strings.HasPrefix(href, "p") && len(href) > 1 {
			r.URL = href[1:]
		}
	}
	f.mu.Lock()
	f.realms[t.Actor] = r
	f.tokens[token] = r
	early := f.early[token]
	delete(f.early, token)
	f.mu.Unlock()
	for _, payload := range early {
		f.b.record(r, payload)
	}
	f.b.addRealm(r)
}

// seenBatch reports whether the probe's message text came before, and
// remembers it (by its hash) among the last few hundred; f.mu is held. A
// batch is unique: its events carry the realm's handles and full-precision
// times, so an equal one is a copy.
func (f *ffBrowser) seenBatch(text string) bool {
	return !f.batches.add(sha256.Sum256([]byte(text)))
}

// firstPause reports whether a pause in frame (a frame actor, which lives
// as long as its pause) is new, and remembers the last thousand.
func (f *ffBrowser) firstPause(frame string) bool {
	if frame == "" {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pausedFrames.add(frame)
}

// recent is a set of the last keep keys added, oldest dropped first.
type recent[K comparable] struct {
	keep  int
	set   map[K]bool
	order []K
}

// add adds k and reports whether it was new.
func (r *recent[K]) add(k K) bool {
	if r.set[k] {
		return false
	}
	if r.set == nil {
		r.set = map[K]bool{}
	}
	if len(r.order) == r.keep {
		delete(r.set, r.order[0])
		r.order = r.order[1:]
	}
	r.set[k] = true
	r.order = append(r.order, k)
	return true
}

// ffFindTab is JavaScript for Firefox's parent process that sets win to
// Firefox's window and tab to its tab whose browser has the ID (or
// undefined).
func ffFindTab(browserID int) string {
	return `const win = Services.wm.getMostRecentWindow("navigator:browser");
		const tab = win.gBrowser.tabs.find((t) => t.linkedBrowser.browserId === ` + strconv.Itoa(browserID) + `);`
}

// maxEarly bounds the events kept for a realm whose probe is going in.
const maxEarly = 10000

// resume lets a paused thread go. The threads of one process pause in
// nested event loops (the content script of an iframe pauses while its
// parent's document is paused), and Firefox resumes them innermost first:
// resuming another answers "wrongOrder" and leaves it paused (with the
// document's load, and navigateTo, waiting on it). Such a resume is tried
// again after each other thread's resume.
func (f *ffBrowser) resume(ctx context.Context, thread string) {
	for {
		f.mu.Lock()
		if f.resumed == nil {
			f.resumed = make(chan struct{})
		}
		next := f.resumed
		f.mu.Unlock()
		err := f.conn.Request(ctx, thread, "resume", map[string]any{"resumeLimit": nil}, nil)
		var rerr *rdp.Error
		if !errors.As(err, &rerr) || rerr.Code != "wrongOrder" {
			if err != nil {
				f.b.logf("resuming %s: %v", thread, err)
			}
			if err == nil {
				f.mu.Lock()
				if f.resumed != nil {
					close(f.resumed)
					f.resumed = nil
				}
				f.mu.Unlock()
			}
			return
		}
		select {
		case <-next:
		case <-time.After(50 * time.Millisecond): // a thread resumed some other way (event's overflow) closes nothing
		case <-ctx.Done():
			f.b.logf("resuming %s: %v", thread, err)
			return
		}
	}
}

// sourceURL asks a thread for the URL of one of its sources.
func (f *ffBrowser) sourceURL(ctx context.Context, thread, source string) string {
	var res struct {
		Sources []struct {
			Actor string `json:"actor"`
			URL   string `json:"url"`
		} `json:"sources"`
	}
	if f.conn.Request(ctx, thread, "sources", nil, &res) != nil {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range res.Sources {
		f.sources[s.Actor] = s.URL
	}
	return f.sources[source]
}

// loadExtension installs dir as a temporary add-on, then reloads it under a
// watcher of its own, so its background starts again paused at its first
// statement and gets its probe.
func (f *ffBrowser) loadExtension(ctx context.Context, dir string) (string, error) {
	var inst struct {
		Addon struct {
			ID string `json:"id"`
		} `json:"addon"`
	}
	if err := f.conn.Request(ctx, f.addonsActor, "installTemporaryAddon", map[string]any{"addonPath": dir, "openDevTools": false}, &inst); err != nil {
		var rerr *rdp.Error
		if errors.As(err, &rerr) {
			return "", &refusedError{rerr.Message}
		}
		return "", err
	}
	var list struct {
		Addons []struct {
			ID          string `json:"id"`
			Actor       string `json:"actor"`
			ManifestURL string `json:"manifestURL"`
		} `json:"addons"`
	}
	if err := f.conn.Request(ctx, "root", "listAddons", map[string]any{"iconDataURL": false}, &list); err != nil {
		return "", err
	}
	var a *ffAddon
	for _, d := range list.Addons {
		if d.ID == inst.Addon.ID {
			rest, _ := strings.CutPrefix(d.ManifestURL, "moz-extension://")
			uuid, _, _ := strings.Cut(rest, "/")
			a = &ffAddon{id: d.ID, actor: d.Actor, uuid: uuid}
		}
	}
	if a == nil || a.uuid == "" {
		return "", fmt.Errorf("Firefox installed %s but does not list it with its moz-extension:// UUID", inst.Addon.ID)
	}
	f.mu.Lock()
	f.addons[a.id] = a
	f.byUUID[a.uuid] = a
	f.mu.Unlock()
	if _, err := f.watch(ctx, a.actor, nil, "frame"); err != nil {
		return "", fmt.Errorf("watching add-on %s: %w", a.id, err)
	}
	if err := f.conn.Request(ctx, a.actor, "reload", nil, nil); err != nil {
		return "", fmt.Errorf("reloading add-on %s under its watcher: %w", a.id, err)
	}
	return a.id, nil
}

// parentEval evaluates JavaScript with chrome privileges in Firefox's
// parent process, for what RDP has no request for (uninstalling an add-on).
func (f *ffBrowser) parentEval(ctx context.Context, text string) (json.RawMessage, error) {
	f.mu.Lock()
	console := f.parentConsole
	f.mu.Unlock()
	if console == "" {
		var proc struct {
			ProcessDescriptor struct {
				Actor string `json:"actor"`
			} `json:"processDescriptor"`
		}
		if err := f.conn.Request(ctx, "root", "getProcess", map[string]any{"id": 0}, &proc); err != nil {
			return nil, err
		}
		var tgt struct {
			Process struct {
				ConsoleActor string `json:"consoleActor"`
			} `json:"process"`
		}
		if err := f.conn.Request(ctx, proc.ProcessDescriptor.Actor, "getTarget", nil, &tgt); err != nil {
			return nil, err
		}
		console = tgt.Process.ConsoleActor
		f.mu.Lock()
		f.parentConsole = console
		f.mu.Unlock()
	}
	c := &ffRealm{f: f, console: console}
	v, exc, err := c.evaluate(ctx, text)
	if err == nil && exc != "" {
		err = errors.New(exc)
	}
	return v, err
}

// parentEvalAs is parentEval with the value decoded into a T.
func parentEvalAs[T any](ctx context.Context, f *ffBrowser, text string) (T, error) {
	var v T
	raw, err := f.parentEval(ctx, text)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("Firefox's parent process answered %.80s: %w", raw, err)
	}
	return v, nil
}

// lost reports why Firefox is gone, or nil.
func (f *ffBrowser) lost() error {
	select {
	case <-f.done:
		return errors.New("Firefox exited")
	default:
	}
	if f.conn != nil {
		if err := f.conn.Err(); err != nil {
			return fmt.Errorf("the connection to Firefox ended: %w", err)
		}
	}
	return nil
}

// close ends Firefox and its connection.
func (f *ffBrowser) close() {
	if f.conn != nil {
		f.conn.Close()
	}
	if f.cmd.Process != nil {
		killProcessGroup(f.cmd)
		f.cmd.Process.Kill()
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
		}
	}
}

// ffTab is the Firefox side of a tab.
type ffTab struct {
	actor   string // the tab's descriptor
	watcher string
	browser int // its browserId, to close it
	// extension says the tab has shown a page of an extension (f.mu
	// guards it). Such a tab is closed, not recycled: Firefox 153 keeps
	// the tab's watcher's connection to the extensions' process when the
	// tab leaves it and opens another when it comes back, and then sends
	// every packet of the tab's documents in that process once per
	// connection (fourteen copies after fourteen rounds), replies
	// included, until requests get another request's copy and a page
	// stays paused.
	extension bool
}

// ffTabForm is a tab descriptor as listTabs gives it: its browserId names
// the tab for Firefox's parent process.
type ffTabForm struct {
	Actor     string `json:"actor"`
	BrowserID int    `json:"browserId"`
}

// listTabs lists Firefox's tabs.
func (f *ffBrowser) listTabs(ctx context.Context) ([]ffTabForm, error) {
	var res struct {
		Tabs []ffTabForm `json:"tabs"`
	}
	err := f.conn.Request(ctx, "root", "listTabs", nil, &res)
	return res.Tabs, err
}

// adoptTab watches the tab that d describes and makes it a Tab.
func (f *ffBrowser) adoptTab(ctx context.Context, d ffTabForm) (*Tab, error) {
	actor := d.Actor
	t := newTab(f.b, target.ID(actor))
	t.opened = true
	t.ff = &ffTab{actor: actor, browser: d.BrowserID}
	// The tab is known before its watcher announces its targets.
	w, err := f.watchTab(ctx, actor, t)
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", actor, err)
	}
	t.ff.watcher = w
	return t, nil
}

// watchTab is watch for a tab: the targets its watcher announces belong to t.
func (f *ffBrowser) watchTab(ctx context.Context, actor string, t *Tab) (string, error) {
	var w struct {
		Actor string `json:"actor"`
	}
	if err := f.conn.Request(ctx, actor, "getWatcher", map[string]any{"isServerTargetSwitchingEnabled": true}, &w); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.tabs[w.Actor] = t
	f.mu.Unlock()
	return f.watchWith(ctx, w.Actor, []string{"document-event"}, "frame", "content_script")
}

// navigate loads url in the tab and waits for the new document's load.
//
// The tab descriptor's navigateTo is not used: now and then (a few in a
// hundred loads that change process) it never answers, though the page has
// loaded, and Firefox answers a descriptor's requests in order, so every
// later request to that tab would wait too. The load starts in the parent
// process instead, and its end is the new document's own dom-complete event,
// which the tab's watcher reports.
func (f *ffBrowser) navigate(ctx context.Context, t *Tab, url string) error {
	f.mu.Lock()
	since := f.seq
	f.mu.Unlock()
	if _, err := f.parentEval(ctx, `(() => {
		`+ffFindTab(t.ff.browser)+`
		if (!tab) throw new Error("the tab is not in Firefox's window");
		tab.linkedBrowser.browsingContext.loadURI(Services.io.newURI(`+jsString(url)+`),
			{triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal()});
	})()`); err != nil {
		return err
	}
	_, err := wake.Until(ctx, &f.docs, f.done, func() (struct{}, bool, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, x := range f.targets {
			if x.tab == t && x.TargetType == "frame" && x.TopLevel && x.seq > since && x.complete {
				return struct{}{}, true, nil
			}
		}
		return struct{}{}, false, nil
	})
	if errors.Is(err, wake.ErrDone) {
		return f.lost()
	}
	if err != nil {
		return fmt.Errorf("waiting for the new document's load (the tab shows %q): %w", f.topURL(t), err)
	}
	return nil
}

// topURL returns the URL of the tab's current document.
func (f *ffBrowser) topURL(tab *Tab) string {
	if t := f.top(tab); t != nil {
		return t.URL
	}
	return ""
}

// top returns the target of the tab's current document: its newest frame.
func (f *ffBrowser) top(tab *Tab) *ffTarget {
	f.mu.Lock()
	defer f.mu.Unlock()
	var top *ffTarget
	for _, t := range f.targets {
		if t.tab == tab && t.TargetType == "frame" && (top == nil || t.seq > top.seq) {
			top = t
		}
	}
	return top
}

// topFrame returns the console actor of the tab's current document.
func (f *ffBrowser) topFrame(tab *Tab) (string, bool) {
	if t := f.top(tab); t != nil {
		return t.ConsoleActor, true
	}
	return "", false
}

// openTab gives a tab showing url: a free one, or a new one that Firefox's
// window opens.
func (f *ffBrowser) openTab(ctx context.Context, url string) (*Tab, error) {
	b := f.b
	f.mu.Lock()
	var t *Tab
	if n := len(f.pool); n > 0 {
		t, f.pool = f.pool[n-1], f.pool[:n-1]
	}
	f.mu.Unlock()
	if t == nil {
		var err error
		if t, err = f.newTab(ctx); err != nil {
			return nil, fmt.Errorf("opening a tab: %w", err)
		}
	}
	b.mu.Lock()
	b.nextTab++
	t.n = b.nextTab
	b.tabs = append(b.tabs, t)
	b.mu.Unlock()
	if url != "" {
		if err := t.Navigate(ctx, url); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// newTab opens a tab in Firefox's window and adopts it.
func (f *ffBrowser) newTab(ctx context.Context) (*Tab, error) {
	browserID, err := parentEvalAs[int](ctx, f, `(() => {
		const win = Services.wm.getMostRecentWindow("navigator:browser");
		const tab = win.gBrowser.addTab("about:blank", {triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal()});
		return tab.linkedBrowser.browserId;
	})()`)
	if err != nil {
		return nil, fmt.Errorf("Firefox's new tab: %w", err)
	}
	tabs, err := f.listTabs(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range tabs {
		if d.BrowserID == browserID {
			return f.adoptTab(ctx, d)
		}
	}
	return nil, fmt.Errorf("Firefox opened a tab (browser %d) that listTabs does not list", browserID)
}

// closeTab closes the tab in Firefox's window. Its realms end with the
// targets its watcher reports destroyed; the rest are marked gone here.
func (f *ffBrowser) closeTab(ctx context.Context, t *Tab) error {
	_, err := f.parentEval(ctx, `(() => {
		`+ffFindTab(t.ff.browser)+`
		if (tab) win.gBrowser.removeTab(tab, {animate: false, skipPermitUnload: true});
	})()`)
	b := f.b
	b.mu.Lock()
	b.tabs = slices.DeleteFunc(b.tabs, func(x *Tab) bool { return x == t })
	var gone []*Realm
	for _, r := range b.realms {
		if r.Tab == t {
			gone = append(gone, r)
		}
	}
	b.mu.Unlock()
	f.mu.Lock()
	f.pool = slices.DeleteFunc(f.pool, func(x *Tab) bool { return x == t })
	f.mu.Unlock()
	for _, r := range gone {
		r.markGone()
	}
	return err
}

// screenshot draws the tab's page as a PNG, in Firefox's parent process
// (WindowGlobalParent.drawSnapshot), whether or not the tab is selected.
func (f *ffBrowser) screenshot(ctx context.Context, t *Tab) ([]byte, error) {
	url, err := parentEvalAs[string](ctx, f, `(async () => {
		`+ffFindTab(t.ff.browser)+`
		if (!tab) throw new Error("the tab is not in Firefox's window");
		const b = tab.linkedBrowser;
		const wg = b.browsingContext.currentWindowGlobal;
		if (!wg) throw new Error("the tab has no document");
		const w = b.clientWidth || 1280, h = b.clientHeight || 720;
		const bitmap = await wg.drawSnapshot(new win.DOMRect(0, 0, w, h), 1, "white");
		const canvas = win.document.createElementNS("http://www.w3.org/1999/xhtml", "canvas");
		canvas.width = bitmap.width;
		canvas.height = bitmap.height;
		canvas.getContext("2d").drawImage(bitmap, 0, 0);
		bitmap.close();
		return canvas.toDataURL("image/png");
	})()`)
	if err != nil {
		return nil, err
	}
	data, ok := strings.CutPrefix(url, "data:image/png;base64,")
	if !ok {
		return nil, fmt.Errorf("Firefox's screenshot is not a PNG: %.40s", url)
	}
	return base64.StdEncoding.DecodeString(data)
}

// release takes the tab out of use, for the next openTab. A tab that has
// shown an extension's page is closed instead (see ffTab.extension).
func (f *ffBrowser) release(ctx context.Context, t *Tab) error {
	f.mu.Lock()
	ext := t.ff.extension
	f.mu.Unlock()
	if ext {
		return f.closeTab(ctx, t)
	}
	b := f.b
	b.mu.Lock()
	b.tabs = slices.DeleteFunc(b.tabs, func(x *Tab) bool { return x == t })
	b.mu.Unlock()
	f.mu.Lock()
	f.pool = append(f.pool, t)
	f.mu.Unlock()
	return nil
}

// evalInPage evaluates expression in the tab's page (its own world).
func (f *ffBrowser) evalInPage(ctx context.Context, t *Tab, expression string) (json.RawMessage, error) {
	console, ok := f.topFrame(t)
	if !ok {
		return nil, errors.New("the tab has no document yet")
	}
	c := &ffRealm{f: f, console: console}
	v, exc, err := c.evaluate(ctx, expression)
	if err == nil && exc != "" {
		err = fmt.Errorf("evaluating %s: %s", abbreviate(expression, 80), exc)
	}
	return v, err
}

// clickAction clicks the add-on's toolbar button in Firefox's window, as a
// person would, with tab selected: the action's onClicked fires, or its
// popup opens.
func (f *ffBrowser) clickAction(ctx context.Context, id string, tab *Tab) error {
	browser := 0
	if tab != nil && tab.ff != nil {
		browser = tab.ff.browser
	}
	_, err := f.parentEval(ctx, `(async () => {
		`+ffFindTab(browser)+`
		if (tab) win.gBrowser.selectedTab = tab;
		const wid = `+jsString(id)+`.toLowerCase().replace(/[^a-z0-9_-]/g, "_") + "-browser-action";
		const widget = win.CustomizableUI.getWidget(wid);
		const node = widget && widget.forWindow(win).node;
		if (!node) throw new Error("no toolbar button " + wid + " in Firefox's window");
		const button = node.querySelector(".unified-extensions-item-action-button") || node;
		button.click();
	})()`)
	return err
}

// tabID returns the tab's ID in the extension APIs, from the tab tracker of
// Firefox's parent process (the manager extension that reads it in Chrome
// has a service worker, which Firefox does not run).
func (f *ffBrowser) tabID(ctx context.Context, t *Tab) (int, error) {
	if t.ff == nil {
		return 0, fmt.Errorf("%s: reading its tab ID: not a tab of Firefox's window", t)
	}
	id, err := parentEvalAs[int](ctx, f, `(() => {
		const {ExtensionParent} = ChromeUtils.importESModule("resource://gre/modules/ExtensionParent.sys.mjs");
		`+ffFindTab(t.ff.browser)+`
		return tab ? ExtensionParent.apiManager.global.tabTracker.getId(tab) : -2;
	})()`)
	if err != nil {
		return 0, fmt.Errorf("%s: reading its tab ID: %w", t, err)
	}
	if id < 0 {
		return 0, fmt.Errorf("%s: reading its tab ID: the tab is not in Firefox's window", t)
	}
	return id, nil
}

// uuidFor returns the moz-extension:// UUID of an installed add-on.
func (f *ffBrowser) uuidFor(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.addons[id]; a != nil {
		return a.uuid
	}
	return ""
}

// inTab reports whether a tab's watcher announced a document at url.
func (f *ffBrowser) inTab(url string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.targets {
		if t.tab != nil && t.URL == url {
			return true
		}
	}
	return false
}
