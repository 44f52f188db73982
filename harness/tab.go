package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/debugger"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/portprobe/portprobe/internal/cdppipe"
	"github.com/portprobe/portprobe/internal/wake"
	"github.com/portprobe/portprobe/trace"
)

// Tab is a page target of the browser: a tab the harness opened, or a page
// that Chrome made on its own: a window.open popup, a tab or window an
// extension opened, an extension's toolbar popup, an offscreen document or a
// side panel. The harness installs a probe into every extension context of it
// (content-script worlds, extension pages, in every frame, cross-process
// iframes included) before that context runs its first script: Chrome holds
// each new page and iframe until the harness has set a breakpoint at line 0 of
// every chrome-extension:// script, and the harness lets it go at once.
type Tab struct {
	// TargetID is the CDP target of the tab's page (its main frame).
	TargetID target.ID
	// OpenerID is the target of the page that opened this one (window.open),
	// or "".
	OpenerID target.ID

	b        *Browser
	n        int
	opened   bool        // the harness opened it (OpenTab), guarded by b.mu
	internal atomic.Bool // a page of the harness's own (the control page)
	// pending, guarded by b.mu, keeps out of Tabs a page Chrome attached
	// while the harness made a page of its own (see beginOwnPage).
	pending bool
	main    *frameSession

	// driverMu guards ctx and cancel, the chromedp context of the page
	// that Navigate, Click and the history use: made by OpenTab, or on first
	// need for a page the harness did not open.
	driverMu sync.Mutex
	ctx      context.Context
	cancel   context.CancelFunc
	// tabTargetID is the CDP target of type "tab" that holds the page, which
	// Extensions.triggerAction wants.
	tabTargetID target.ID

	mu       sync.Mutex
	closed   bool
	gone     chan struct{} // closed when the page target is gone
	sessions []*frameSession
	frames   map[cdp.FrameID]string // URL of each frame
	crash    chan struct{}          // closed when the renderer crashes
	// ff is the Firefox side of the tab, or nil in Chrome.
	ff *ffTab

	// parked are the realms of the documents the tab's frames left, newest
	// last, at most maxParked: a page may be in the back/forward cache, and
	// Chrome reports the same contexts (same unique IDs) again when it
	// restores it, on the page's session or, for a cross-process iframe, on
	// a new session of the iframe's target.
	parked []*Realm
}

// frameSession is the harness's session with one target of a tab: its page,
// or an iframe in another process. Execution context and script IDs are the
// session's own; every field but the constant ones is guarded by t.mu.
type frameSession struct {
	t        *Tab
	sess     cdp.Session
	targetID target.ID
	pauses   chan *debugger.EventPaused
	done     chan struct{} // closed when the session ends
	readyCh  chan struct{} // closed when setUp is done
	// runtimeOn is closed once the session reports execution contexts
	// (see enableRuntime).
	runtimeOn   chan struct{}
	runtimeOnce sync.Once

	contexts map[runtime.ExecutionContextID]*runtime.ExecutionContextDescription
	scripts  map[cdp.ScriptID]runtime.ExecutionContextID
	probed   map[runtime.ExecutionContextID]*Realm // nil value: being installed
}

// String names the tab, such as "tab1".
func (t *Tab) String() string { return fmt.Sprintf("tab%d", t.n) }

// GomegaString keeps Gomega's failure messages short.
func (t *Tab) GomegaString() string { return t.String() }

// auxData is the part of an execution context's auxData the harness reads.
type auxData struct {
	FrameID   cdp.FrameID `json:"frameId"`
	Type      string      `json:"type"` // "default" or "isolated"
	IsDefault bool        `json:"isDefault"`
}

// OpenTab opens a new tab and, when url is not empty, navigates it there and
// waits for the load event.
func (b *Browser) OpenTab(ctx context.Context, url string) (*Tab, error) {
	defer b.clock.since(spentOpenTab, time.Now())
	ctx, cancel := b.bound(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("opening a tab: %w", context.Cause(ctx))
	}
	if b.ff != nil {
		return b.ff.openTab(ctx, url)
	}
	select {
	case <-b.prewarmed:
	case <-ctx.Done():
		return nil, fmt.Errorf("opening a tab: waiting for the tab opened at launch: %w", context.Cause(ctx))
	}
	t := b.takePooledTab()
	if t == nil {
		var err error
		if t, err = b.openTab(ctx, false); err != nil {
			return nil, fmt.Errorf("opening a tab: %w", err)
		}
	}
	if url != "" {
		if err := t.Navigate(ctx, url); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func newTab(b *Browser, id target.ID) *Tab {
	return &Tab{
		TargetID: id,
		b:        b,
		frames:   map[cdp.FrameID]string{},
		gone:     make(chan struct{}),
	}
}

// newFrameSession adds a session with one of the tab's targets.
func (t *Tab) newFrameSession(sess cdp.Session, id target.ID) *frameSession {
	s := &frameSession{
		t:        t,
		sess:     sess,
		targetID: id,
		pauses:   make(chan *debugger.EventPaused, 64),
		done:     make(chan struct{}),
		readyCh:  make(chan struct{}),

		runtimeOn: make(chan struct{}),
		contexts:  map[runtime.ExecutionContextID]*runtime.ExecutionContextDescription{},
		scripts:   map[cdp.ScriptID]runtime.ExecutionContextID{},
		probed:    map[runtime.ExecutionContextID]*Realm{},
	}
	t.mu.Lock()
	if t.main == nil {
		t.main = s
	}
	t.sessions = append(t.sessions, s)
	t.mu.Unlock()
	return s
}

// openTab makes a new page target and returns its tab, once the harness has
// it (see Browser.claim); with pool, the tab goes to the pool of recycled
// tabs as it becomes one, never in Tabs.
func (b *Browser) openTab(ctx context.Context, pool bool) (*Tab, error) {
	// Chrome gives no link from a page target to its tab target, so the tab
	// target is the one that appears while we create the page. tabMu keeps
	// two creations apart.
	b.tabMu.Lock()
	defer b.tabMu.Unlock()
	b.beginOwnPage()
	var own *Tab
	defer func() { b.endOwnPage(own, pool) }()
	before, err := b.tabTargets(ctx)
	if err != nil {
		return nil, err
	}
	var direct *Tab // without the relay, chromedp's session probes
	opts := []chromedp.ContextOption{}
	if !b.relay.Active() {
		direct = newTab(b, "")
		opts = append(opts, chromedp.WithListener(func(ev any) {
			if s := direct.main; s != nil {
				s.listen(ev)
			}
		}))
	}
	cctx, ccancel := chromedp.NewContext(b.ctx, opts...)
	if direct != nil {
		direct.newFrameSession(nil, "")
	}
	if err := runBounded(ctx, b.opts.Timeout, ccancel, func() error { return chromedp.Do(cctx) }); err != nil {
		ccancel()
		return nil, err
	}
	ct := chromedp.FromContext(cctx).Target
	var t *Tab
	if direct != nil {
		t = direct
		t.TargetID = ct.TargetID
		t.main.sess, t.main.targetID = ct, ct.TargetID
		if err := t.main.setUp(ctx, false); err != nil {
			ccancel()
			return nil, err
		}
	} else if t, err = b.waitClaimedTab(ctx, ct.TargetID); err != nil {
		ccancel()
		return nil, err
	}
	after, err := b.tabTargets(ctx)
	if err != nil {
		ccancel()
		return nil, err
	}
	// Another tab made meanwhile (an extension's tabs.create) makes it
	// ambiguous; then the tab target stays unknown and ClickAction says
	// so, rather than click in a tab that is not this one.
	var fresh []target.ID
	for _, id := range after {
		if !slices.Contains(before, id) {
			fresh = append(fresh, id)
		}
	}
	t.driverMu.Lock()
	t.ctx, t.cancel = cctx, ccancel
	if len(fresh) == 1 {
		t.tabTargetID = fresh[0]
	}
	t.driverMu.Unlock()
	if direct != nil {
		b.mu.Lock()
		b.nextTab++
		t.n = b.nextTab
		b.tabs = append(b.tabs, t)
		b.mu.Unlock()
	}
	own = t
	return t, nil
}

// waitClaimedTab waits until the page target id has its tab: Chrome
// attaches a new page to the harness as it makes it.
func (b *Browser) waitClaimedTab(ctx context.Context, id target.ID) (*Tab, error) {
	t, err := wake.Until(ctx, &b.changed, nil, func() (*Tab, bool, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		t := b.pageTabs[id]
		return t, t != nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for Chrome to attach page %s to the harness: %w", id, err)
	}
	select {
	case <-t.main.ready():
		return t, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the harness's session with page %s to be set up: %w", id, context.Cause(ctx))
	}
}

func (b *Browser) tabTargets(ctx context.Context) ([]target.ID, error) {
	res, err := callBrowser(ctx, b, target.GetTargets, target.GetTargetsParams{Filter: target.Filter{{Type: "tab"}, {Exclude: true}}})
	if err != nil {
		return nil, fmt.Errorf("listing tab targets: %w", err)
	}
	var ids []target.ID
	for _, info := range res.TargetInfos {
		ids = append(ids, info.TargetID)
	}
	return ids, nil
}

// driver returns the chromedp context of the page, attaching one to a page
// the harness did not open on first need.
func (t *Tab) driver(ctx context.Context) (context.Context, error) {
	t.driverMu.Lock()
	defer t.driverMu.Unlock()
	if t.ctx != nil {
		return t.ctx, nil
	}
	// WithDetachOnCancel: ending our session must not close the page.
	cctx, cancel := chromedp.NewContext(t.b.ctx, chromedp.WithTargetID(t.TargetID), chromedp.WithDetachOnCancel())
	if err := runBounded(ctx, t.b.opts.Timeout, cancel, func() error { return chromedp.Do(cctx) }); err != nil {
		cancel()
		return nil, fmt.Errorf("%s: attaching to the page: %w", t, t.callErr(ctx, err))
	}
	t.ctx, t.cancel = cctx, cancel
	return cctx, nil
}

// Navigate loads url in the tab and waits for its load event. Realms of the
// old document are gone afterwards.
func (t *Tab) Navigate(ctx context.Context, url string) error {
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	if t.ff != nil {
		if err := t.b.ff.navigate(ctx, t, url); err != nil {
			return fmt.Errorf("%s: navigating to %s: %w", t, url, err)
		}
		return nil
	}
	cctx, ccancel, err := t.boundTo(ctx)
	if err != nil {
		return err
	}
	defer ccancel()
	if err := chromedp.Do(cctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("%s: navigating to %s: %w", t, url, t.callErr(ctx, err))
	}
	// An extension page with no script never pauses; give it its probe now.
	t.probeQuietExtensionPages(ctx)
	return nil
}

// Click clicks the first element that matches the CSS selector in the tab's
// main frame, with real mouse events. An element that does not exist fails
// at once; for an element in an iframe, use ClickIn.
func (t *Tab) Click(ctx context.Context, selector string) error {
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	found, err := t.Eval(ctx, "document.querySelector("+jsString(selector)+") !== null")
	if err != nil {
		return fmt.Errorf("%s: clicking %q: %w", t, selector, err)
	}
	if string(found) != "true" {
		return fmt.Errorf("%s: clicking %q: no element matches in the main frame (%s); for an iframe's element, use ClickIn", t, selector, t.describeFrames())
	}
	if t.ff != nil {
		// Firefox: a click event dispatched in the page (not a real mouse
		// click yet).
		_, err := t.Eval(ctx, "document.querySelector("+jsString(selector)+").click()")
		return err
	}
	cctx, ccancel, err := t.boundTo(ctx)
	if err != nil {
		return err
	}
	defer ccancel()
	if err := chromedp.Do(cctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		return fmt.Errorf("%s: clicking %q: %w", t, selector, t.callErr(ctx, err))
	}
	return nil
}

// Eval evaluates a JavaScript expression in the main world of the tab's main
// frame (the web page's own world, not an extension's), awaits a promise, and
// returns the value as JSON.
func (t *Tab) Eval(ctx context.Context, expression string) (json.RawMessage, error) {
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	if t.ff != nil {
		return t.b.ff.evalInPage(ctx, t, expression)
	}
	res, err := callOn(ctx, t.main.sess, runtime.Evaluate, runtime.EvaluateParams{
		Expression:    expression,
		AwaitPromise:  new(true),
		ReturnByValue: new(true),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: evaluating %s: %w", t, abbreviate(expression, 80), t.callErr(ctx, err))
	}
	if res.ExceptionDetails != nil {
		return nil, fmt.Errorf("%s: evaluating %s: %s", t, abbreviate(expression, 80), exceptionText(res.ExceptionDetails))
	}
	if res.Result == nil || res.Result.Type == "undefined" {
		return nil, nil
	}
	return json.RawMessage(res.Result.Value), nil
}

// ProbeWebPage installs the probe into the main world of the tab's main frame
// (the web page itself, not an extension) and returns that realm, so Go can
// drive ports from the page as externally_connectable allows. The probe goes
// in after the page's own scripts ran; like every realm's, its binding is
// taken off the global object at once, and a call of it without the probe's
// secret is ignored, so the page cannot add events to the trace. The
// built-ins the probe keeps are the ones the page left: a page that patched
// JSON.stringify changes how the trace shows the messages it sends.
func (t *Tab) ProbeWebPage(ctx context.Context) (*Realm, error) {
	if err := t.notInFirefox("probing its web page"); err != nil {
		return nil, err
	}
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	s := t.main
	// The page's main world is reported on the tab's own session, which
	// can lag behind the navigation that made it: wait for it.
	var probed *Realm
	desc, err := wake.Until(ctx, &t.b.changed, t.gone, func() (*runtime.ExecutionContextDescription, bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		for id, d := range s.contexts {
			var aux auxData
			if json.Unmarshal(d.AuxData, &aux) == nil && aux.IsDefault && string(aux.FrameID) == string(t.TargetID) {
				if r, ok := s.probed[id]; ok && r != nil {
					probed = r
					return nil, true, nil
				}
				s.probed[d.ID] = nil
				return d, true, nil
			}
		}
		return nil, false, nil
	})
	if probed != nil {
		return probed, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: probing the web page: no main world found (is a page loaded?): %w", t, err)
	}
	r, err := s.realmFor(desc)
	if err == nil {
		r.Kind = trace.WebPageRealm
		r.ExtensionID = ""
		r.cdp().api, err = t.b.installProbeInContext(ctx, s.sess, desc.ID, desc.UniqueID)
	}
	s.finishInstall(desc.ID, r, err)
	if err != nil {
		return nil, fmt.Errorf("%s: probing the web page: %w", t, err)
	}
	return r, nil
}

// Recycle empties the tab (it navigates to about:blank, so its realms are
// gone) and keeps it for the next OpenTab, which then costs a navigation
// instead of a new tab. A suite that reuses one browser recycles each spec's
// tabs. A tab that cannot be emptied, and a page the harness did not open (a
// popup, a window or tab that a page or an extension opened), is closed.
func (t *Tab) Recycle(ctx context.Context) error {
	defer t.b.clock.since(spentRecycle, time.Now())
	if t.ff != nil {
		if err := t.Navigate(ctx, "about:blank"); err != nil {
			// A tab that does not load about:blank stays out of the
			// pool: every later test would wait on it.
			t.Close(ctx)
			return fmt.Errorf("recycling %s: %w", t, err)
		}
		return t.b.ff.release(ctx, t)
	}
	t.b.mu.Lock()
	opened := t.opened
	t.b.mu.Unlock()
	if !opened {
		return t.Close(ctx)
	}
	if err := t.Navigate(ctx, "about:blank"); err != nil {
		t.Close(ctx)
		return fmt.Errorf("recycling %s: %w", t, err)
	}
	t.markAllGone()
	t.b.mu.Lock()
	t.b.pool = append(t.b.pool, t)
	t.b.mu.Unlock()
	return nil
}

// prewarmTab opens a tab for the first OpenTab, ahead of time.
func (b *Browser) prewarmTab() {
	defer close(b.prewarmed)
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	if _, err := b.openTab(ctx, true); err != nil && !b.isClosed() {
		b.logf("opening a tab ahead of time: %v", err)
	}
}

// takePooledTab returns a recycled tab that is still open, or nil.
func (b *Browser) takePooledTab() *Tab {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.pool) > 0 {
		t := b.pool[len(b.pool)-1]
		b.pool = b.pool[:len(b.pool)-1]
		t.mu.Lock()
		closed := t.closed
		t.mu.Unlock()
		if !closed {
			return t
		}
	}
	return nil
}

// Close closes the tab. Its realms are gone afterwards.
func (t *Tab) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	if t.ff != nil {
		if err := t.b.ff.closeTab(ctx, t); err != nil {
			return fmt.Errorf("closing %s: %w", t, err)
		}
		return nil
	}
	_, err := callBrowser(ctx, t.b, target.CloseTarget, target.CloseTargetParams{TargetID: t.TargetID})
	t.driverMu.Lock()
	if t.cancel != nil {
		t.cancel()
	}
	t.driverMu.Unlock()
	t.markAllGone()
	if err != nil {
		return fmt.Errorf("closing %s: %w", t, err)
	}
	return nil
}

// Closed reports whether the tab is closed (by Close, by its page, or by
// the browser).
func (t *Tab) Closed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Done returns a channel that closes when the tab's page target is gone.
func (t *Tab) Done() <-chan struct{} { return t.gone }

// targetGone records that the tab's page target is gone, and forgets it.
func (t *Tab) targetGone() {
	t.mu.Lock()
	t.closed = true
	select {
	case <-t.gone:
	default:
		close(t.gone)
	}
	t.mu.Unlock()
	b := t.b
	b.mu.Lock()
	b.tabs = slices.DeleteFunc(b.tabs, func(x *Tab) bool { return x == t })
	if b.pageTabs[t.TargetID] == t {
		delete(b.pageTabs, t.TargetID)
	}
	b.mu.Unlock()
	b.changed.Notify() // a wait for a frame of the tab ends
	t.driverMu.Lock()
	if t.cancel != nil {
		t.cancel()
	}
	t.driverMu.Unlock()
	t.markAllGone()
}

// boundTo returns a child of the tab's chromedp context that ends with ctx.
func (t *Tab) boundTo(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: nothing done: %w", t, context.Cause(ctx))
	}
	cctx, err := t.driver(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, cancel := boundTo(ctx, cctx)
	return c, cancel, nil
}

func (t *Tab) callErr(ctx context.Context, err error) error {
	if lerr := t.b.lost(); lerr != nil {
		return lerr // the browser is gone, and its tabs with it
	}
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("the tab is closed: %w", err)
	case ctx.Err() != nil:
		return context.Cause(ctx)
	}
	return err
}

// ready returns a channel closed when the session's probing is set up.
func (s *frameSession) ready() <-chan struct{} { return s.readyCh }

// setUp makes the session probe its target: the debugger pauses at line 0 of
// every chrome-extension:// script (see handlePause), the contexts and
// frames are followed, and iframes in other processes are attached, held
// and set up the same way. A target that Chrome holds (waiting) is let go
// whatever happens: no page ever stays held. On the relay's sessions the
// commands go out together, so a held page waits three round trips: the
// debugger, the rest, the release.
//
// Runtime.enable waits until the target has its first real document (see
// enableRuntime).
func (s *frameSession) setUp(ctx context.Context, waiting bool) error {
	defer close(s.readyCh)
	go s.handlePauses()
	raw, ok := s.sess.(*cdppipe.Session)
	if !ok {
		// chromedp's own session (no relay): chromedp enabled Runtime and
		// Page, and the target runs already.
		s.runtimeOnce.Do(func() { close(s.runtimeOn) })
		if s.t.b.probesOff.Load() {
			return nil
		}
		if _, err := callOn(ctx, s.sess, debugger.Enable, debugger.EnableParams{}); err != nil {
			return err
		}
		_, err := callOn(ctx, s.sess, debugger.SetBreakpointByURL, debugger.SetBreakpointByURLParams{LineNumber: 0, URLRegex: "^chrome-extension://"})
		return err
	}
	type step struct {
		method string
		params any
		res    any
	}
	var tree page.GetFrameTreeResult
	var steps []step
	if !s.t.b.probesOff.Load() {
		// A breakpoint needs the debugger's answer first ("Debugger
		// agent is not enabled" otherwise, for a page that has a document).
		if err := raw.Call(ctx, debugger.Enable.Method, debugger.EnableParams{}, nil); err != nil {
			errs := []error{fmt.Errorf("%s: %w", debugger.Enable.Method, err)}
			if waiting {
				if err := raw.Call(ctx, runtime.RunIfWaitingForDebugger.Method, cdp.Empty{}, nil); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		}
		steps = append(steps, step{debugger.SetBreakpointByURL.Method, debugger.SetBreakpointByURLParams{LineNumber: 0, URLRegex: "^chrome-extension://"}, nil})
	}
	steps = append(steps,
		step{page.Enable.Method, page.EnableParams{}, nil},
		// A page can have committed its first document before Chrome
		// attached it (tabs.create of an extension page).
		step{page.GetFrameTree.Method, cdp.Empty{}, &tree},
		step{inspector.Enable.Method, cdp.Empty{}, nil},
		step{target.SetAutoAttach.Method, target.SetAutoAttachParams{
			AutoAttach: true, WaitForDebuggerOnStart: true, Flatten: new(true),
			Filter: target.Filter{{Type: "iframe"}, {Exclude: true}},
		}, nil})
	var errs []error
	var waits []func(context.Context, any) error
	for _, st := range steps {
		wait, err := raw.Send(st.method, st.params)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		waits = append(waits, func(ctx context.Context, _ any) error {
			if err := wait(ctx, st.res); err != nil {
				return fmt.Errorf("%s: %w", st.method, err)
			}
			return nil
		})
	}
	for _, wait := range waits {
		if err := wait(ctx, nil); err != nil {
			errs = append(errs, err)
		}
	}
	// Only once the breakpoint is in: the first script must pause.
	if waiting {
		if err := raw.Call(ctx, runtime.RunIfWaitingForDebugger.Method, cdp.Empty{}, nil); err != nil {
			errs = append(errs, fmt.Errorf("letting the target run: %w", err))
		}
	}
	s.t.addFrames(tree.FrameTree)
	if !waiting || tree.FrameTree != nil && tree.FrameTree.Frame != nil && isDocument(tree.FrameTree.Frame.URL) {
		s.enableRuntime()
	}
	return errors.Join(errs...)
}

// isDocument reports whether a frame's URL is a real document, not the
// initial empty one of a new page.
func isDocument(url string) bool { return url != "" && url != "about:blank" }

// enableRuntime enables the Runtime domain on the session, once, so the
// harness learns the target's execution contexts. It is called when the
// target's first real document has committed (or the target was not held):
// sent while Chrome holds a new page, Runtime.enable makes the initial empty
// document's window the one the page's document reuses, and a
// window.open'd extension page then comes up without chrome.runtime (seen on
// Chrome 156). Pauses that come first wait for it (see handlePause).
func (s *frameSession) enableRuntime() {
	s.runtimeOnce.Do(func() {
		go func() {
			defer close(s.runtimeOn)
			ctx, cancel := context.WithTimeout(s.t.b.ctx, s.t.b.opts.Timeout)
			defer cancel()
			if _, err := callOn(ctx, s.sess, runtime.Enable, cdp.Empty{}); err != nil && !s.t.b.isClosed() && !errors.Is(err, cdppipe.ErrSessionDetached) {
				s.t.b.logf("%s: enabling Runtime on target %s: %v", s.t, s.targetID, err)
			}
		}()
	})
}

// addFrames records the frames of a frame tree that no event reported yet.
func (t *Tab) addFrames(tree *page.FrameTree) {
	if tree == nil || tree.Frame == nil {
		return
	}
	t.mu.Lock()
	if _, ok := t.frames[tree.Frame.ID]; !ok {
		t.frames[tree.Frame.ID] = tree.Frame.URL + tree.Frame.URLFragment
	}
	t.mu.Unlock()
	for _, child := range tree.ChildFrames {
		t.addFrames(child)
	}
	t.b.changed.Notify()
}

// listen runs in the session's event loop (chromedp's or the relay's): it
// must be quick.
func (s *frameSession) listen(ev any) {
	t := s.t
	switch ev := ev.(type) {
	case *runtime.EventExecutionContextCreated:
		t.mu.Lock()
		s.contexts[ev.Context.ID] = ev.Context
		var old *Realm
		if i := slices.IndexFunc(t.parked, func(r *Realm) bool { return r.cdp().uniqueID == ev.Context.UniqueID }); i >= 0 {
			old = t.parked[i]
			t.parked = slices.Delete(t.parked, i, i+1)
			s.probed[ev.Context.ID] = nil // being adopted
		}
		t.mu.Unlock()
		t.b.changed.Notify() // a wait for the page's main world (ProbeWebPage)
		if old != nil {
			go s.adopt(old, ev.Context)
		}
	case *runtime.EventExecutionContextDestroyed:
		t.mu.Lock()
		var r *Realm
		for id, desc := range s.contexts {
			if desc.UniqueID == ev.ExecutionContextUniqueID {
				r = s.probed[id]
				delete(s.contexts, id)
				delete(s.probed, id)
				s.forgetScriptsLocked(id)
			}
		}
		t.mu.Unlock()
		if r != nil {
			r.markGone()
		}
	case *runtime.EventExecutionContextsCleared:
		// The page may be going into the back/forward cache: keep its
		// probed realms to adopt if Chrome restores it.
		s.park()
		s.markAllGone()
	case *debugger.EventScriptParsed:
		t.mu.Lock()
		s.scripts[ev.ScriptID] = ev.ExecutionContextID
		t.mu.Unlock()
	case *debugger.EventPaused:
		select {
		case s.pauses <- ev:
		default:
			t.b.logf("%s: too many pauses queued; dropping one", t)
		}
	case *runtime.EventBindingCalled:
		if ev.Name != t.b.bindingName {
			return
		}
		t.mu.Lock()
		r := s.probed[ev.ExecutionContextID]
		t.mu.Unlock()
		if r != nil {
			t.b.record(r, ev.Payload)
		}
	case *runtime.EventConsoleAPICalled:
		t.mu.Lock()
		r := s.probed[ev.ExecutionContextID]
		t.mu.Unlock()
		t.b.recordConsole(r, ev)
	case *runtime.EventExceptionThrown:
		t.mu.Lock()
		r := s.probed[ev.ExceptionDetails.ExecutionContextID]
		t.mu.Unlock()
		t.b.recordConsole(r, ev)
	case *inspector.EventTargetCrashed:
		t.mu.Lock()
		if t.crash == nil {
			t.crash = make(chan struct{})
		}
		select {
		case <-t.crash:
		default:
			close(t.crash)
		}
		t.mu.Unlock()
		// The renderer is gone (killed, out of memory, Page.crash), and
		// the realms in it with it.
		s.markAllGone()
	case *page.EventBackForwardCacheNotUsed:
		var reasons []string
		for _, r := range ev.NotRestoredExplanations {
			reasons = append(reasons, string(r.Reason))
		}
		t.b.logf("%s: the page did not use the back/forward cache: %s", t, strings.Join(reasons, ", "))
	case *page.EventFrameDetached:
		if ev.Reason == page.FrameDetachedReasonSwap {
			return // it goes on in another process, under another session
		}
		t.mu.Lock()
		delete(t.frames, ev.FrameID)
		t.mu.Unlock()
		t.b.changed.Notify()
	case *page.EventFrameStoppedLoading:
		if string(ev.FrameID) == string(s.targetID) {
			s.enableRuntime() // a page that stays on about:blank
		}
		// An extension page with no script never pauses; give it its
		// probe once it loaded, whoever opened it.
		go func() {
			ctx, cancel := context.WithTimeout(t.b.ctx, t.b.opts.Timeout)
			defer cancel()
			t.probeQuietExtensionPages(ctx)
		}()
	case *page.EventFrameNavigated:
		if string(ev.Frame.ID) == string(s.targetID) {
			s.enableRuntime() // the target's own first document
		}
		t.mu.Lock()
		t.frames[ev.Frame.ID] = ev.Frame.URL + ev.Frame.URLFragment
		t.mu.Unlock()
		t.b.changed.Notify()
	}
}

// park keeps the session's probed realms on the tab, to adopt if Chrome
// restores their document from the back/forward cache.
func (s *frameSession) park() {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range s.probed {
		if r != nil && r.cdp().uniqueID != "" {
			t.parked = append(t.parked, r)
		}
	}
	if n := len(t.parked) - maxParked; n > 0 {
		t.parked = slices.Delete(t.parked, 0, n)
	}
}

// maxParked bounds Tab.parked; Chrome keeps a handful of pages per
// tab in the back/forward cache.
const maxParked = 32

// adopt makes a new realm for a context that Chrome restored from the
// back/forward cache. The page's JavaScript, the probe in it included, lived
// on frozen, so the probe is not installed again: the new realm finds the
// probe's control object again (DevTools handles do not survive the cache),
// and the binding reports as before.
func (s *frameSession) adopt(old *Realm, desc *runtime.ExecutionContextDescription) {
	ctx, cancel := context.WithTimeout(s.t.b.ctx, s.t.b.opts.Timeout)
	defer cancel()
	r, err := s.realmFor(desc)
	if err == nil {
		// Same document: Chrome reports the frame's navigation back to it
		// only after the contexts.
		r.Kind, r.ExtensionID, r.URL = old.Kind, old.ExtensionID, old.URL
		r.cdp().api, err = s.t.b.findProbe(ctx, s.sess, desc.ID, desc.UniqueID)
	}
	s.finishInstall(desc.ID, r, err)
	if err == nil {
		// The events made since the restore, the page's pageshow
		// listeners' first of all, were held for the binding.
		if _, err := r.callProbe(ctx, "release"); err != nil && !r.Gone() {
			s.t.b.logf("%s: sending the events held since the restore: %v", r, err)
		}
	}
}

// markAllGone marks the realms of every session of the tab gone.
func (t *Tab) markAllGone() {
	t.mu.Lock()
	sessions := slices.Clone(t.sessions)
	t.mu.Unlock()
	for _, s := range sessions {
		s.markAllGone()
	}
}

func (s *frameSession) markAllGone() {
	t := s.t
	t.mu.Lock()
	var gone []*Realm
	for id, r := range s.probed {
		if r != nil {
			gone = append(gone, r)
		}
		delete(s.probed, id)
	}
	clear(s.contexts)
	clear(s.scripts) // a new renderer process numbers contexts and scripts anew
	t.mu.Unlock()
	for _, r := range gone {
		r.markGone()
	}
}

// ended records that Chrome ended the session (its iframe or page is gone).
func (s *frameSession) ended() {
	select {
	case <-s.done:
		return
	default:
		close(s.done)
	}
	t := s.t
	if s != t.main {
		// A cross-process iframe's session ends when its page goes into
		// the back/forward cache; a new one comes with the restore.
		s.park()
	}
	s.markAllGone()
	if s == t.main {
		t.targetGone()
		return
	}
	t.mu.Lock()
	t.sessions = slices.DeleteFunc(t.sessions, func(x *frameSession) bool { return x == s })
	t.mu.Unlock()
}

func (s *frameSession) forgetScriptsLocked(id runtime.ExecutionContextID) {
	for sc, c := range s.scripts {
		if c == id {
			delete(s.scripts, sc)
		}
	}
}

// handlePauses installs the probe at each pause in an extension script whose
// context has none yet, and resumes. It always resumes.
func (s *frameSession) handlePauses() {
	for {
		var p *debugger.EventPaused
		select {
		case p = <-s.pauses:
		case <-s.done:
			return
		case <-s.t.b.ctx.Done():
			return
		}
		s.handlePause(p)
	}
}

func (s *frameSession) handlePause(p *debugger.EventPaused) {
	t := s.t
	ctx, cancel := context.WithTimeout(t.b.ctx, t.b.opts.Timeout)
	defer cancel()
	defer callOn(ctx, s.sess, debugger.Resume, debugger.ResumeParams{})
	if len(p.CallFrames) == 0 || t.b.probesOff.Load() {
		return
	}
	frame := p.CallFrames[0]
	// The contexts come with Runtime.enable, which can follow the first
	// pause (see setUp).
	select {
	case <-s.runtimeOn:
	case <-ctx.Done():
		return
	}
	t.mu.Lock()
	ctxID, ok := s.scripts[frame.Location.ScriptID]
	desc := s.contexts[ctxID]
	_, probed := s.probed[ctxID]
	if ok && desc != nil && !probed {
		s.probed[ctxID] = nil // being installed
	}
	t.mu.Unlock()
	if !ok || desc == nil || probed {
		return
	}
	if webMainWorld(desc) {
		// An extension's script in a web page's own world (a content
		// script with "world": "MAIN"): it has no extension APIs, and the
		// page's world gets a probe only when asked (ProbeWebPage).
		t.mu.Lock()
		delete(s.probed, ctxID)
		t.mu.Unlock()
		return
	}
	r, err := s.realmFor(desc)
	if err == nil {
		var userScript bool
		r.cdp().api, err = t.b.installProbeOnFrame(ctx, s.sess, desc.ID, frame.CallFrameID, &userScript)
		if userScript && r.Kind == trace.ContentScriptRealm {
			// A USER_SCRIPT world looks like a content script's to
			// DevTools (isolated, the extension's origin); the probe
			// tells them apart.
			r.Kind = trace.UserScriptRealm
		}
	}
	s.finishInstall(desc.ID, r, err)
}

// probeQuietExtensionPages installs the probe into the main world of
// extension pages that ran no script, so Go can still drive ports there.
func (t *Tab) probeQuietExtensionPages(ctx context.Context) {
	if t.b.probesOff.Load() {
		return
	}
	type job struct {
		s    *frameSession
		desc *runtime.ExecutionContextDescription
	}
	var todo []job
	t.mu.Lock()
	sessions := slices.Clone(t.sessions)
	t.mu.Unlock()
	for _, s := range sessions {
		select {
		case <-s.runtimeOn: // its contexts are known
		case <-ctx.Done():
			return
		}
	}
	t.mu.Lock()
	for _, s := range t.sessions {
		for id, desc := range s.contexts {
			if _, probed := s.probed[id]; probed || !strings.HasPrefix(desc.Origin, "chrome-extension://") {
				continue
			}
			var aux auxData
			if json.Unmarshal(desc.AuxData, &aux) != nil || aux.Type != "default" {
				continue
			}
			hasScript := false
			for _, c := range s.scripts {
				hasScript = hasScript || c == id
			}
			if !hasScript {
				s.probed[id] = nil
				todo = append(todo, job{s, desc})
			}
		}
	}
	t.mu.Unlock()
	for _, j := range todo {
		r, err := j.s.realmFor(j.desc)
		if err == nil {
			r.cdp().api, err = t.b.installProbeInContext(ctx, j.s.sess, j.desc.ID, j.desc.UniqueID)
		}
		j.s.finishInstall(j.desc.ID, r, err)
	}
}

func (s *frameSession) finishInstall(id runtime.ExecutionContextID, r *Realm, err error) {
	t := s.t
	t.mu.Lock()
	if err != nil {
		delete(s.probed, id)
		closed := t.closed
		t.mu.Unlock()
		if !closed && !t.b.isClosed() {
			t.b.logf("%s: installing the probe in context %d: %v", t, id, err)
		}
		return
	}
	_, ok := s.probed[id]
	if ok {
		s.probed[id] = r
	}
	t.mu.Unlock()
	if ok { // else the context went away meanwhile
		t.b.addRealm(r) // b.mu, after t.mu: see the lock order at Browser
	}
}

// webMainWorld reports whether a context is a web page's own world, not an
// extension's page or an isolated world.
func webMainWorld(desc *runtime.ExecutionContextDescription) bool {
	var aux auxData
	if json.Unmarshal(desc.AuxData, &aux) != nil {
		return false
	}
	return aux.Type != "isolated" && !strings.HasPrefix(desc.Origin, "chrome-extension://")
}

// realmFor describes the realm of an extension context of this session.
func (s *frameSession) realmFor(desc *runtime.ExecutionContextDescription) (*Realm, error) {
	var aux auxData
	if err := json.Unmarshal(desc.AuxData, &aux); err != nil {
		return nil, fmt.Errorf("reading auxData of context %d: %w", desc.ID, err)
	}
	kind := trace.PageRealm
	if aux.Type == "isolated" {
		kind = trace.ContentScriptRealm
	}
	t := s.t
	r := newRealm(t.b, kind, extensionIDOf(desc.Origin+"/"))
	r.Tab = t
	r.FrameID = aux.FrameID
	r.conn = &cdpRealm{sess: s.sess, uniqueID: desc.UniqueID}
	r.URL = t.frameURL(aux.FrameID)
	return r, nil
}

// Frame is a frame of a tab, as CDP names it.
type Frame struct {
	// ID is the CDP frame ID, for InFrame.
	ID string
	// URL is the frame's URL.
	URL string
}

// Frames returns the frames of the tab that have navigated, the main frame
// first, iframes in other processes included.
func (t *Tab) Frames() []Frame {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []Frame{}
	for id, url := range t.frames {
		f := Frame{ID: string(id), URL: url}
		if string(id) == string(t.TargetID) {
			out = append([]Frame{f}, out...)
		} else {
			out = append(out, f)
		}
	}
	return out
}

// frameURL returns the URL of a frame of the tab, or "".
func (t *Tab) frameURL(id cdp.FrameID) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.frames[id]
}

// ErrNotInFirefox is wrapped by the errors of the calls that the Firefox
// engine does not have yet.
var ErrNotInFirefox = errors.New("not available in Firefox yet")

// notInFirefox is the error of a Chrome-only call on a tab of Firefox.
func (t *Tab) notInFirefox(what string) error {
	if t.ff == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", t, what, ErrNotInFirefox)
}
