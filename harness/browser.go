package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portprobe/portprobe/internal/cdppipe"
	"github.com/portprobe/portprobe/internal/wake"
	"github.com/portprobe/portprobe/locate"
	"github.com/portprobe/portprobe/pages"
	"github.com/portprobe/portprobe/trace"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Browser is a running Chrome with its extensions, tabs, realms and the trace
// of their port events. It is safe for concurrent use. Close ends it.
type Browser struct {
	// Locks, and the order they may be taken in:
	//   - Browser.mu guards the fields below it (extensions, tabs, realms, the
	//     maps of targets and sessions). A Tab's mu may be taken while holding
	//     it (takePooledTab), never the other way round: code under a Tab's mu
	//     takes what it needs, unlocks, then calls into the Browser.
	//   - Tab.mu guards the tab's sessions, frames and each frameSession's maps.
	//   - Trace.mu and swState.mu are leaves: nothing else is taken under them
	//     (a Trace.Watch callback runs under Trace.mu and must not call the
	//     trace), but for the lock of a wake.Signal.
	//   - A wake.Signal's lock (Browser.changed, the Trace's and swState's
	//     signals, NativeConn.pushed) is below every other: Notify takes it
	//     alone and may be called under any of them, after the change it
	//     announces. Every wait for a state is a wake.Until, which takes it
	//     briefly before each check; the check takes the state's own lock.
	//   - No mu above is held across a browser round trip. The serializing
	//     locks are: tabMu (one tab creation at a time, so its tab target is
	//     known), managerMu (one load of the helper extension),
	//     Tab.driverMu (one chromedp attach per page) and
	//     workerSession.instrumentMu (one probing of a worker at a time); they
	//     are held across round trips by design, and no other of them is
	//     taken under one, except Browser.mu and Tab.mu briefly.

	opts        Options
	clock       spentClock // TimeSpent
	eng         engine     // the browser engine (see engine.go)
	ff          *ffBrowser // the Firefox engine's state, or nil
	chromePath  string
	version     string
	bindingName string
	// probeSecret starts every call of the probe's binding: a call without
	// it is ignored (see record).
	probeSecret string
	marks       marks             // the markers Realm.flush waits for (Firefox)
	trace       *trace.Trace      // guarded by mu
	keep        func(*Realm) bool // which realms' events trace takes; nil: all
	pages       *pages.Server

	allocCancel context.CancelFunc
	ctx         context.Context // the chromedp context of the browser
	cancel      context.CancelFunc

	tabMu     sync.Mutex    // serializes the creation of tabs, see OpenTab
	prewarmed chan struct{} // closed when the tab that Launch opens ahead is pooled

	// changed is notified after each change that a wait of the browser
	// checks: its extensions, tabs, realms, frames and page targets (see
	// waitRealm, WaitTab, Tab.Frame). It has a lock of its own; mu need
	// not be held.
	changed wake.Signal

	mu         sync.Mutex
	closed     bool
	ended      chan struct{} // closed when the browser closes or dies: its traces' waits end
	endOnce    sync.Once
	extensions []*Extension
	loaded     map[string]bool // the IDs of every extension loaded so far
	tabs       []*Tab
	realms     []*Realm
	realmNames map[string]int // how many realms had each name, see Realm.String
	nextTab    int
	pool       []*Tab // recycled tabs, see Tab.Recycle
	// makingPage is set while the harness makes a page of its own, under
	// tabMu (see beginOwnPage).
	makingPage bool
	sw         swState // the ServiceWorker domain, on the control page

	// control is closed when the control page is ready (see openControl),
	// controlCtx is its chromedp context, and controlErr says why it is
	// not. controlOnce starts it.
	controlOnce sync.Once
	control     chan struct{}
	controlCtx  context.Context
	controlErr  error

	managerMu  sync.Mutex
	managerExt *Extension // the helper that disables and enables extensions
	helperID   string     // managerExt's ID, guarded by mu
	tempDirs   []string   // removed by Close
	profileDir string     // Chrome's profile, removed by Close

	// workers maps each service worker target to Chrome's auto-attached
	// session with it.
	workers map[target.ID]target.SessionID
	// workerSessions are the harness's own sessions with service workers.
	workerSessions map[target.ID]*workerSession
	// workerFailed says, by extension ID, why the extension's service
	// worker could not start (Chrome's error for its script), until a new
	// worker of the extension attaches.
	workerFailed map[string]error

	// relay carries the pipe to Chrome and the sessions Chrome attaches
	// (see relay.go); inactive on Windows.
	relay *cdppipe.Relay
	// hostExe is this program's copy that native host scripts start; see
	// hostExecutable.
	hostExeOnce sync.Once
	hostExe     string
	hostExeErr  error
	// chromeCmd is Chrome's command, set as it starts (not on Windows).
	// Chrome leads a process group of its own, which Close kills whole, so
	// no process it started outlives it.
	chromeCmd atomic.Pointer[exec.Cmd]
	// pageTabs maps each page target to its tab.
	pageTabs map[target.ID]*Tab
	// internalTargets are the harness's own pages (the control page).
	internalTargets map[target.ID]bool
	// attachStarted is set once Chrome auto-attaches new targets; the pages
	// it attached before (a visible Chrome's first window) are its own.
	attachStarted atomic.Bool

	// display is the browser's own virtual display, or nil.
	display *xvfb

	// probesOff makes the harness let every context run without a probe,
	// to measure what the probes cost (see the benchmarks).
	probesOff atomic.Bool
}

// Launch starts Chrome, headless over a pipe with a fresh profile directory,
// and loads opts.Extensions. It fails with an error naming the cause when no
// Chrome is found or an extension does not load. ctx bounds the launch only;
// the browser lives until Close.
//
// Launch first removes the profile folders that portprobe processes which
// died before closing their browser left in the temporary folder, with the
// Chrome processes still using them (a folder names its process, which must
// be gone).
func Launch(ctx context.Context, opts Options) (*Browser, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logf == nil {
		opts.Logf = func(format string, args ...any) { log.Printf("portprobe: "+format, args...) }
	}
	if err := opts.TraceLimits.Validate(); err != nil {
		return nil, fmt.Errorf("launching: Options.TraceLimits: %w", err)
	}
	if opts.Browser == Firefox {
		return launchFirefox(ctx, opts)
	}
	if opts.Browser != "" && opts.Browser != Chrome {
		return nil, fmt.Errorf("launching: Options.Browser is %q; want %q or %q", opts.Browser, Chrome, Firefox)
	}
	if opts.SlowMo < 0 {
		return nil, fmt.Errorf("launching Chrome: Options.SlowMo is %v; want a duration of 0 or more", opts.SlowMo)
	}
	if opts.DevTools {
		opts.Headful = true
	}
	var display *xvfb
	if opts.Headful && goruntime.GOOS == "linux" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		// No display: a virtual one of the browser's own, if Xvfb is here.
		var err error
		if display, err = startXvfb(ctx, opts.Timeout); err != nil {
			return nil, fmt.Errorf("launching a visible Chrome: no display (DISPLAY and WAYLAND_DISPLAY are empty) and %w; install Xvfb (Debian: apt-get install xvfb), run under a virtual display, e.g. `xvfb-run -a go test ./...`, or drop PORTPROBE_HEADFUL/Options.Headful", err)
		}
	}
	path := opts.ChromePath
	if path == "" {
		var err error
		if path, err = locate.Chrome(); err != nil {
			display.Close()
			return nil, err
		}
	}
	if _, err := os.Stat(path); err != nil {
		display.Close()
		return nil, fmt.Errorf("launching Chrome %q: %w", path, err)
	}
	for name := range opts.Flags {
		if strings.HasPrefix(strings.TrimLeft(name, "-"), "remote-debugging-") {
			display.Close()
			return nil, fmt.Errorf("launching Chrome %q: flag %q: the harness talks to Chrome over a pipe only; a debugging port would let any local process drive the browser", path, name)
		}
	}
	b := &Browser{
		display:     display,
		opts:        opts,
		chromePath:  path,
		bindingName: "__portprobe_" + randomHex(8),
		probeSecret: randomHex(16),
		ended:       make(chan struct{}),
		workers:     map[target.ID]target.SessionID{},
		loaded:      map[string]bool{},

		workerSessions: map[target.ID]*workerSession{},
		workerFailed:   map[string]error{},
		relay:          cdppipe.NewRelay(),
		pageTabs:       map[target.ID]*Tab{},

		internalTargets: map[target.ID]bool{},
		sw:              newSWState(),
		control:         make(chan struct{}),
		prewarmed:       make(chan struct{}),
	}

	b.eng = chromeEngine{b}

	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("disable-extensions", false),
		chromedp.Flag("enable-unsafe-extension-debugging", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
	)
	if opts.Headful {
		allocOpts = append(allocOpts, chromedp.Flag("headless", false), chromedp.Flag("hide-scrollbars", false), chromedp.Flag("mute-audio", false))
	}
	if display != nil {
		allocOpts = append(allocOpts, chromedp.Env("DISPLAY="+display.display))
	}
	if opts.DevTools {
		allocOpts = append(allocOpts, chromedp.Flag("auto-open-devtools-for-tabs", true))
	}
	if !opts.Headful {
		// The first window and its blank page make Chrome's start about
		// 150 ms slower, and the harness does not use them: tabs are its
		// own. A visible Chrome keeps them, since it quits when its last
		// window closes.
		allocOpts = append(allocOpts, chromedp.Flag("no-startup-window", true))
	}
	for name, value := range opts.Flags {
		allocOpts = append(allocOpts, chromedp.Flag(name, value))
	}
	// chromedp adds --no-sandbox only when running as root. Anyone else
	// gets it by asking (Options.NoSandbox, or the flag itself), or else a
	// sandbox that can start: see sandbox.go.
	if _, flagged := opts.Flags["no-sandbox"]; opts.NoSandbox && !flagged {
		allocOpts = append(allocOpts, chromedp.NoSandbox)
	} else if !flagged && goruntime.GOOS == "linux" {
		if err := checkSandbox(readSandboxFacts("/", path, os.Getuid())); err != nil {
			display.Close()
			return nil, err
		}
	}
	// The profile folder is the harness's own (see profile.go): private,
	// removed by Close, and swept by a later Launch if this process dies
	// first.
	sweepProfiles()
	profile, err := newProfileDir()
	if err != nil {
		display.Close()
		return nil, fmt.Errorf("launching Chrome %q: %w", path, err)
	}
	b.profileDir = profile
	allocOpts = append(allocOpts, chromedp.UserDataDir(profile))
	// Chrome makes a folder in TMPDIR for its singleton socket
	// (org.chromium.Chromium.XXXXXX) and never removes it: one per launch
	// piled up. Its TMPDIR is a folder of the profile, removed with it.
	tmp := filepath.Join(profile, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		display.Close()
		removeProfileDir(profile)
		return nil, fmt.Errorf("launching Chrome %q: %w", path, err)
	}
	allocOpts = append(allocOpts, chromedp.Env("TMPDIR="+tmp))
	// Chrome's stderr goes to a file of the profile, so that a Chrome that
	// dies at start can say why in Launch's error (see startError).
	stderrPath := filepath.Join(profile, "chrome-stderr.log")
	stderr, err := os.OpenFile(stderrPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		display.Close()
		removeProfileDir(profile)
		return nil, fmt.Errorf("launching Chrome %q: %w", path, err)
	}
	b.relay.Claim = b.claim
	if goruntime.GOOS != "windows" {
		allocOpts = append(allocOpts, chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			cmd.Stderr = stderr
			if err := b.relay.Hijack(cmd); err != nil {
				b.logf("%v; only the harness's own tabs and the workers are followed", err)
			}
			setCmdOptions(cmd)
			ownProcessGroup(cmd)
			b.chromeCmd.Store(cmd)
		}))
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	bctx, bcancel := chromedp.NewContext(allocCtx,
		chromedp.WithBrowserOption(chromedp.WithBrowserErrorf(b.chromedpErrorf), chromedp.WithBrowserLogf(b.logf)),
		chromedp.WithErrorf(b.chromedpErrorf), chromedp.WithLogf(b.logf))
	b.trace = b.newTrace()
	b.allocCancel, b.ctx, b.cancel = allocCancel, bctx, bcancel
	// bctx ends with Close and when the connection to Chrome is lost.
	go func() {
		<-bctx.Done()
		b.endOnce.Do(func() { close(b.ended) })
	}()

	fail := func(err error) (*Browser, error) {
		b.Close()
		return nil, err
	}
	// The first call binds the browser's life to bctx, so it must get bctx
	// itself; runBounded keeps ctx's deadline on it. It is a browser call:
	// chromedp.Do would also attach a first tab. Target events (a worker's
	// target destroyed) need discovery on.
	err = runBounded(ctx, opts.Timeout, func() { bcancel(); allocCancel() }, func() error {
		_, err := chromedp.CallBrowser(bctx, target.SetDiscoverTargets, target.SetDiscoverTargetsParams{Discover: true})
		return err
	})
	stderr.Close() // Chrome has its own copy once it started
	if err != nil {
		return fail(startError(path, stderrPath, err))
	}
	lctx, lcancel := b.bound(ctx)
	defer lcancel()
	if err := b.watchWorkers(); err != nil {
		return fail(err)
	}
	// Chrome answers the first call once it runs, while it is still busy
	// starting: the calls below go out together rather than one after the
	// other.
	var (
		wg   sync.WaitGroup
		ver  cdpbrowser.GetVersionResult
		srv  *pages.Server
		errs [3]error
	)
	wg.Go(func() { ver, errs[0] = callBrowser(lctx, b, cdpbrowser.GetVersion, cdp.Empty{}) })
	wg.Go(func() { errs[1] = b.pauseWorkers(lctx) })
	wg.Go(func() { srv, errs[2] = pages.NewServer() })
	wg.Wait()
	b.pages = srv
	switch {
	case errs[0] != nil:
		return fail(fmt.Errorf("launching Chrome %q: reading its version: %w", path, errs[0]))
	case errs[1] != nil:
		return fail(errs[1])
	case errs[2] != nil:
		return fail(errs[2])
	}
	b.version = ver.Product
	b.logf("using %s (%s)", ver.Product, path)
	// The first tab costs about 100 ms (a target, a renderer, a session
	// and its domains); it opens while the caller loads extensions.
	go b.prewarmTab()
	if opts.IdleWorkers {
		// Idle workers are followed through the ServiceWorker domain
		// from the start (see Extension.WorkerHistory).
		b.startControl()
	}
	for _, dir := range opts.Extensions {
		if _, err := b.LoadExtension(lctx, dir); err != nil {
			return fail(err)
		}
	}
	return b, nil
}

// startError is Launch's error when Chrome did not answer its first call:
// a SandboxError when Chrome's stderr says it found no usable sandbox, else
// err with the browser named.
func startError(path, stderrPath string, err error) error {
	if out, rerr := os.ReadFile(stderrPath); rerr == nil {
		if serr := sandboxDeath(path, out); serr != nil {
			return serr
		}
	}
	return fmt.Errorf("launching Chrome %q: %w", path, err)
}

// Close ends Chrome and every process it started, waits for them to exit,
// and removes the profile directory and the harness's temporary folders. It
// is safe to call more than once.
func (b *Browser) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.endOnce.Do(func() { close(b.ended) })
	// The profile is thrown away, so nothing needs a graceful close: the
	// allocator kills Chrome and waits for it, then the processes that still
	// use the profile are killed and the folder removed. It takes tens of
	// milliseconds where Browser.close takes hundreds.
	// Chrome's process group goes first, whole, while Chrome still holds
	// its end of the pipe: then its ID cannot have gone to another group.
	if b.relay.Active() && !isClosed(b.relay.Lost()) {
		killProcessGroup(b.chromeCmd.Load())
	}
	if b.allocCancel != nil {
		b.allocCancel()
	}
	// b.ctx is a child of the allocator's context, so it is cancelled now;
	// b.cancel also waits for chromedp to let go of the browser, which it
	// never does for a browser whose start was cut short (a context that
	// ended during Launch): then there is nothing to wait for.
	if b.ff != nil {
		b.ff.close()
	}
	if b.ctx == nil {
		// Firefox's engine has no chromedp context.
	} else if c := chromedp.FromContext(b.ctx); b.cancel != nil && c != nil && c.Browser != nil {
		b.cancel()
	}
	var errs []error
	if b.profileDir != "" {
		if err := removeProfileDir(b.profileDir); err != nil {
			errs = append(errs, err)
		}
	}
	if b.pages != nil {
		b.pages.Close()
	}
	b.display.Close()
	b.mu.Lock()
	dirs := b.tempDirs
	b.mu.Unlock()
	for _, dir := range dirs {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("closing Chrome: %w", errors.Join(errs...))
	}
	return nil
}

// Version returns the browser's product name and version, such as
// "Chrome/156.0.8078.73".
func (b *Browser) Version() string { return b.version }

// Engine says which browser engine runs, so that a test states what each
// engine does where they differ (a connect that reaches no listener ends
// with runtime.lastError in Chrome, with port.error in Firefox).
func (b *Browser) Engine() Engine { return b.eng.kind() }

// ChromePath returns the binary that runs.
func (b *Browser) ChromePath() string { return b.chromePath }

// String describes the browser on one line, such as
// "browser HeadlessChrome/139.0.7258.5 (2 extensions, 1 tab)". It asks
// Chrome nothing, and holds the browser's lock only to count.
func (b *Browser) String() string {
	b.mu.Lock()
	closed, extensions := b.closed, len(b.extensions)
	b.mu.Unlock()
	version := b.version
	if version == "" {
		version = "(version unknown)"
	}
	if closed {
		return "browser " + version + " (closed)"
	}
	return fmt.Sprintf("browser %s (%s, %s)", version, count(extensions, "extension"), count(len(b.Tabs()), "tab"))
}

// GomegaString keeps Gomega's failure messages short: String, not the
// browser's fields.
func (b *Browser) GomegaString() string { return b.String() }

// count says n things, as "1 tab" or "2 tabs".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// Trace returns the trace of every port event in this browser.
func (b *Browser) Trace() *trace.Trace {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.trace
}

// ResetTrace starts a new, empty trace and returns it; Trace returns it from
// now on. When keep is not nil, the new trace takes only the events of realms
// that keep accepts. A suite that reuses one browser for many specs calls it
// at the start of each spec, keeping the realms of that spec's extensions, so
// a spec never sees the events of the one before.
func (b *Browser) ResetTrace(keep func(*Realm) bool) *trace.Trace {
	t := b.newTrace()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trace, b.keep = t, keep
	return t
}

// newTrace returns an empty trace whose waits have the browser's deadline and
// end with it, and which keeps what Options.TraceLimits allow.
func (b *Browser) newTrace() *trace.Trace {
	return trace.NewLimited(trace.Owner{Timeout: b.opts.Timeout, Done: b.ended, Cause: b.endCause}, b.opts.TraceLimits)
}

// ErrBrowserClosed is the cause of a wait that ended because the browser
// closed.
var ErrBrowserClosed = errors.New("the browser is closed")

// Err returns nil while the browser runs, and why it ended once it has:
// ErrBrowserClosed after Close, or how Chrome died.
func (b *Browser) Err() error {
	select {
	case <-b.ended:
		return b.endCause()
	default:
	}
	if err := b.lost(); err != nil {
		return b.endCause()
	}
	return nil
}

// endCause says why the browser ended: closed, or Chrome died (and how).
func (b *Browser) endCause() error {
	if err := b.lost(); err != nil && !b.isClosed() {
		return err
	}
	return ErrBrowserClosed
}

// traceFor returns the trace that takes realm r's events, or nil.
func (b *Browser) traceFor(r *Realm) *trace.Trace {
	b.mu.Lock()
	t, keep := b.trace, b.keep
	b.mu.Unlock()
	if keep != nil && !keep(r) {
		return nil
	}
	return t
}

// Tabs returns the open tabs in use (not recycled): those the harness opened
// and the pages Chrome made for the extensions and the web pages (popups,
// windows, offscreen documents). The harness's own hidden pages are not
// tabs.
func (b *Browser) Tabs() []*Tab {
	b.mu.Lock()
	tabs := slices.Clone(b.tabs)
	hidden := map[*Tab]bool{}
	for _, t := range b.pool {
		hidden[t] = true
	}
	for _, t := range b.tabs {
		if t.pending {
			hidden[t] = true
		}
	}
	b.mu.Unlock()
	return slices.DeleteFunc(tabs, func(t *Tab) bool {
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.closed || hidden[t] || t.internal.Load()
	})
}

// beginOwnPage marks that the harness is making a page of its own (a tab for
// OpenTab or for the pool, the control page, chrome://extensions), with
// tabMu held. Chrome attaches the new page before it says which target it
// made, so every page attached until endOwnPage stays out of Tabs: a test's
// cleaning (probetest) closed the tab that Launch was opening ahead, and
// then the control page, which cost every later uninstall 30 s.
func (b *Browser) beginOwnPage() {
	b.mu.Lock()
	b.makingPage = true
	b.mu.Unlock()
}

// endOwnPage ends what beginOwnPage began: own, the page made (nil when the
// making failed), becomes an opened tab and, with pool, goes to the pool of
// recycled tabs, both at once; the other pages attached meanwhile (an
// extension's tabs.create at that moment) join Tabs. A page of the harness's
// own is marked internal (markInternal) before.
func (b *Browser) endOwnPage(own *Tab, pool bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.makingPage = false
	for _, t := range b.tabs {
		t.pending = false
	}
	if own == nil {
		return
	}
	own.opened = true
	if pool {
		b.pool = append(b.pool, own)
	}
}

// Pages returns the harness's local page server.
func (b *Browser) Pages() *pages.Server { return b.pages }

// Realms returns every realm that has a probe and is still alive. The
// harness's own helper extension (see manager) is not listed.
func (b *Browser) Realms() []*Realm {
	return slices.DeleteFunc(b.RealmsSeen(), (*Realm).Gone)
}

// RealmsSeen returns every realm the harness probed since Launch, in the
// order they were probed, the gone ones included; not those of the harness's
// own helper extension.
func (b *Browser) RealmsSeen() []*Realm {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(b.realms), func(r *Realm) bool { return b.helperID != "" && r.ExtensionID == b.helperID })
}

// Sync makes every live realm send the events its probe holds and returns a
// time before which the trace is complete: an event stamped before it that is
// not in the trace by now never will be. A live display of the trace prints
// up to that time (realms report through separate sessions, so an event can
// arrive after a later one of another realm). The realms' clocks are the
// machine's wall clock; measured, they agree with each other and with Go's to
// about 0.2 ms.
func (b *Browser) Sync(ctx context.Context) (time.Time, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, r := range b.Realms() {
		wg.Go(func() { r.flush(ctx) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("syncing the trace: %w", context.Cause(ctx))
	}
	return start, nil
}

// bound returns ctx with the browser's default deadline when it has none.
//
// Every harness action starts here, so Options.SlowMo waits here too, once
// per action: the actions an action makes inherit a context that says it
// paused already.
func (b *Browser) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if b.opts.SlowMo > 0 && ctx.Value(slowedKey{}) == nil {
		ctx = context.WithValue(ctx, slowedKey{}, true)
		// A pause for the person watching, not a wait for the browser.
		select {
		case <-time.After(b.opts.SlowMo):
		case <-ctx.Done():
		}
	}
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, b.opts.Timeout)
}

func (b *Browser) logf(format string, args ...any) { b.opts.Logf(format, args...) }

// chromedpErrorf drops chromedp's complaints about the sessions that the
// harness opens and closes itself (auto-attached service workers).
func (b *Browser) chromedpErrorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, "doesn't exist") || strings.Contains(msg, "unknown IPAddressSpace value") {
		return
	}
	b.logf("chromedp: %s", msg)
}

// addRealm records a new realm and wakes the waiters.
func (b *Browser) addRealm(r *Realm) {
	name := r.baseName() // locks b.mu
	b.mu.Lock()
	if b.realmNames == nil {
		b.realmNames = map[string]int{}
	}
	b.realmNames[name]++
	r.gen.Store(int32(b.realmNames[name]))
	b.realms = append(b.realms, r)
	b.mu.Unlock()
	b.changed.Notify()
}

// waitRealm waits until a live realm satisfies match. what names the realm
// for the error.
func (b *Browser) waitRealm(ctx context.Context, what string, match func(*Realm) bool) (*Realm, error) {
	return b.waitRealmUnless(ctx, what, match, nil)
}

// waitRealmUnless is waitRealm that fails at once when failed (called with
// b.mu held) returns an error: the realm cannot come any more.
func (b *Browser) waitRealmUnless(ctx context.Context, what string, match func(*Realm) bool, failed func() error) (*Realm, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	var failure error // why the realm cannot come
	r, err := wake.Until(ctx, &b.changed, b.ended, func() (*Realm, bool, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if failed != nil {
			if failure = failed(); failure != nil {
				return nil, true, nil
			}
		}
		for _, r := range b.realms {
			if !r.Gone() && match(r) {
				return r, true, nil
			}
		}
		return nil, false, nil
	})
	switch {
	case err == nil && failure != nil:
		return nil, fmt.Errorf("%s: %w", what, failure)
	case err == nil:
		return r, nil
	case err == wake.ErrDone:
		err = b.endCause()
	}
	return nil, &trace.WaitError{What: what, Cause: err, Detail: b.describeRealms(), Trace: b.Trace().WaitText()}
}

func (b *Browser) describeRealms() string {
	b.mu.Lock()
	realms := slices.Clone(b.realms)
	b.mu.Unlock()
	if len(realms) == 0 {
		return "realms seen: none"
	}
	var s strings.Builder
	s.WriteString("realms seen:")
	for _, r := range realms { // r.String locks b.mu
		state := "alive"
		if r.Gone() {
			state = "gone"
		}
		fmt.Fprintf(&s, "\n  %s (%s, %s)", r, r.URL, state)
	}
	return s.String()
}

// runBounded runs fn, which works on a long-lived chromedp context, and calls
// cancelCDP (that context's cancel) when ctx or the timeout ends first. It is
// for the first Run of a chromedp context, which must get that context
// itself. The cancel is hard: chromedp.Cancel would first ask the browser to
// close gracefully, with no deadline, and a browser still starting (or one
// that stopped answering) never answers.
func runBounded(ctx context.Context, timeout time.Duration, cancelCDP context.CancelFunc, fn func() error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		cancelCDP()
		<-done
		return context.Cause(ctx)
	}
}

// callBrowser runs one command on the browser and honors ctx's cancellation
// and deadline.
func callBrowser[P, R any](ctx context.Context, b *Browser, cmd cdp.Command[P, R], params P) (R, error) {
	if err := ctx.Err(); err != nil {
		var zero R
		return zero, fmt.Errorf("%s: not sent: %w", cmd.Method, context.Cause(ctx))
	}
	cctx, done := boundTo(ctx, b.ctx)
	defer done()
	res, err := chromedp.CallBrowser(cctx, cmd, params)
	return res, callErr(ctx, cmd.Method, err)
}

// callIn runs one command on the target of the chromedp context cdpCtx and
// honors ctx's cancellation and deadline.
func callIn[P, R any](ctx, cdpCtx context.Context, cmd cdp.Command[P, R], params P) (R, error) {
	if err := ctx.Err(); err != nil {
		var zero R
		return zero, fmt.Errorf("%s: not sent: %w", cmd.Method, context.Cause(ctx))
	}
	cctx, done := boundTo(ctx, cdpCtx)
	defer done()
	res, err := chromedp.Call(cctx, cmd, params)
	return res, callErr(ctx, cmd.Method, err)
}

// boundTo returns a child of the long-lived chromedp context cdpCtx that also
// ends when ctx ends, so one call honors the caller's deadline without ending
// the tab or browser that cdpCtx holds.
func boundTo(ctx, cdpCtx context.Context) (context.Context, func()) {
	cctx, cancel := context.WithCancelCause(cdpCtx)
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	return cctx, func() { stop(); cancel(nil) }
}

// callErr names the command in the error of a call that ctx ended.
func callErr(ctx context.Context, method string, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%s: %w", method, context.Cause(ctx))
	}
	return err
}

func randomHex(n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	return hex.EncodeToString(buf)
}

// lost returns the error of the browser's connection when it ended (Chrome
// exited or was killed), or nil while it runs.
func (b *Browser) lost() error {
	if b.ff != nil {
		return b.ff.lost()
	}
	var relayLost <-chan struct{}
	if b.relay.Active() {
		relayLost = b.relay.Lost()
	}
	select {
	case <-relayLost:
	case <-b.ctx.Done():
	default:
		return nil
	}
	// chromedp words the cause (the process's exit status).
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
	defer cancel()
	_, err := callBrowser(ctx, b, cdpbrowser.GetVersion, cdp.Empty{})
	return err
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
