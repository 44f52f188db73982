package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/debugger"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Tab is a browser tab that the harness opened. The harness installs a probe
// into every extension context of the tab (content-script worlds, extension
// pages) before that context runs its first script: the tab's session pauses
// at line 0 of every chrome-extension:// script.
type Tab struct {
	// TargetID is the CDP target of the tab's page (its main frame).
	TargetID target.ID

	b      *Browser
	n      int
	ctx    context.Context // chromedp context of the page
	cancel context.CancelFunc
	// tabTargetID is the CDP target of type "tab" that holds the page, which
	// Extensions.triggerAction wants.
	tabTargetID target.ID

	pauses chan *debugger.EventPaused

	mu       sync.Mutex
	closed   bool
	contexts map[runtime.ExecutionContextID]*runtime.ExecutionContextDescription
	scripts  map[cdp.ScriptID]runtime.ExecutionContextID
	probed   map[runtime.ExecutionContextID]*Realm // nil value: being installed
	frames   map[cdp.FrameID]string                // URL of each frame
	crash    chan struct{}                         // closed when the renderer crashes
	// parked are the realms of the pages the tab left, newest last, at most
	// maxParked: a page may be in the back/forward cache, and Chrome reports
	// the same contexts (same unique IDs) again when it restores it.
	parked []*Realm
}

// String names the tab, such as "tab1".
func (t *Tab) String() string { return fmt.Sprintf("tab%d", t.n) }

// auxData is the part of an execution context's auxData the harness reads.
type auxData struct {
	FrameID   cdp.FrameID `json:"frameId"`
	Type      string      `json:"type"` // "default" or "isolated"
	IsDefault bool        `json:"isDefault"`
}

// OpenTab opens a new tab and, when url is not empty, navigates it there and
// waits for the load event.
func (b *Browser) OpenTab(ctx context.Context, url string) (*Tab, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	t := newTab(b)
	select {
	case <-b.prewarmed:
	case <-ctx.Done():
		return nil, fmt.Errorf("opening a tab: waiting for the tab opened at launch: %w", context.Cause(ctx))
	}
	if pooled := b.takePooledTab(); pooled != nil {
		t = pooled
	} else if err := t.open(ctx); err != nil {
		return nil, fmt.Errorf("opening a tab: %w", err)
	}
	if url != "" {
		if err := t.Navigate(ctx, url); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func newTab(b *Browser) *Tab {
	return &Tab{
		b:        b,
		pauses:   make(chan *debugger.EventPaused, 64),
		contexts: map[runtime.ExecutionContextID]*runtime.ExecutionContextDescription{},
		scripts:  map[cdp.ScriptID]runtime.ExecutionContextID{},
		probed:   map[runtime.ExecutionContextID]*Realm{},
		frames:   map[cdp.FrameID]string{},
	}
}

func (t *Tab) open(ctx context.Context) error {
	b := t.b
	// Chrome gives no link from a page target to its tab target, so the tab
	// target is the one that appears while we create the page. tabMu keeps
	// two creations apart.
	b.tabMu.Lock()
	defer b.tabMu.Unlock()
	before, err := b.tabTargets(ctx)
	if err != nil {
		return err
	}
	t.ctx, t.cancel = chromedp.NewContext(b.ctx, chromedp.WithListener(t.listen))
	if err := runBounded(ctx, b.opts.Timeout, t.ctx, func() error { return chromedp.Do(t.ctx) }); err != nil {
		t.cancel()
		return err
	}
	t.TargetID = chromedp.FromContext(t.ctx).Target.TargetID
	after, err := b.tabTargets(ctx)
	if err != nil {
		t.cancel()
		return err
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
	if len(fresh) == 1 {
		t.tabTargetID = fresh[0]
	}
	go t.handlePauses()
	if _, err := callIn(ctx, t.ctx, debugger.Enable, debugger.EnableParams{}); err != nil {
		t.cancel()
		return err
	}
	if _, err := callIn(ctx, t.ctx, debugger.SetBreakpointByURL, debugger.SetBreakpointByURLParams{
		LineNumber: 0,
		URLRegex:   "^chrome-extension://",
	}); err != nil {
		t.cancel()
		return err
	}
	b.mu.Lock()
	b.nextTab++
	t.n = b.nextTab
	b.tabs = append(b.tabs, t)
	b.mu.Unlock()
	return nil
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

// Navigate loads url in the tab and waits for its load event. Realms of the
// old document are gone afterwards.
func (t *Tab) Navigate(ctx context.Context, url string) error {
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	cctx, ccancel := t.boundTo(ctx)
	defer ccancel()
	if err := chromedp.Do(cctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("%s: navigating to %s: %w", t, url, t.callErr(ctx, err))
	}
	// An extension page with no script never pauses; give it its probe now.
	t.probeQuietExtensionPages(ctx)
	return nil
}

// Click clicks the first element that matches the CSS selector, with real
// mouse events.
func (t *Tab) Click(ctx context.Context, selector string) error {
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	cctx, ccancel := t.boundTo(ctx)
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
	res, err := callIn(ctx, t.ctx, runtime.Evaluate, runtime.EvaluateParams{
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
// taken off the global object at once.
func (t *Tab) ProbeWebPage(ctx context.Context) (*Realm, error) {
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	var desc *runtime.ExecutionContextDescription
	t.mu.Lock()
	for id, d := range t.contexts {
		var aux auxData
		if json.Unmarshal(d.AuxData, &aux) == nil && aux.IsDefault && string(aux.FrameID) == string(t.TargetID) {
			if r, ok := t.probed[id]; ok && r != nil {
				t.mu.Unlock()
				return r, nil
			}
			desc = d
		}
	}
	if desc != nil {
		t.probed[desc.ID] = nil
	}
	t.mu.Unlock()
	if desc == nil {
		return nil, fmt.Errorf("%s: probing the web page: no main world found (is a page loaded?)", t)
	}
	r, err := t.realmFor(desc)
	if err == nil {
		r.Kind = WebPageRealm
		r.ExtensionID = ""
		r.api, err = t.b.installProbeInContext(ctx, t.ctx, desc.ID, desc.UniqueID)
	}
	t.finishInstall(desc.ID, r, err)
	if err != nil {
		return nil, fmt.Errorf("%s: probing the web page: %w", t, err)
	}
	return r, nil
}

// Recycle empties the tab (it navigates to about:blank, so its realms are
// gone) and keeps it for the next OpenTab, which then costs a navigation
// instead of a new tab. A suite that reuses one browser recycles each spec's
// tabs. A tab that cannot be emptied is closed.
func (t *Tab) Recycle(ctx context.Context) error {
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
	t := newTab(b)
	if err := t.open(ctx); err != nil {
		if !b.isClosed() {
			b.logf("opening a tab ahead of time: %v", err)
		}
		return
	}
	b.mu.Lock()
	b.pool = append(b.pool, t)
	b.mu.Unlock()
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
	_, err := callBrowser(ctx, t.b, target.CloseTarget, target.CloseTargetParams{TargetID: t.TargetID})
	t.cancel()
	t.markAllGone()
	if err != nil {
		return fmt.Errorf("closing %s: %w", t, err)
	}
	return nil
}

// boundTo returns a child of the tab's chromedp context that ends with ctx.
func (t *Tab) boundTo(ctx context.Context) (context.Context, context.CancelFunc) {
	return boundTo(ctx, t.ctx)
}

func (t *Tab) callErr(ctx context.Context, err error) error {
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

// listen runs in chromedp's loop for the tab's session: it must be quick.
func (t *Tab) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventExecutionContextCreated:
		t.mu.Lock()
		t.contexts[ev.Context.ID] = ev.Context
		var old *Realm
		if i := slices.IndexFunc(t.parked, func(r *Realm) bool { return r.uniqueID == ev.Context.UniqueID }); i >= 0 {
			old = t.parked[i]
			t.parked = slices.Delete(t.parked, i, i+1)
			t.probed[ev.Context.ID] = nil // being adopted
		}
		t.mu.Unlock()
		if old != nil {
			go t.adopt(old, ev.Context)
		}
	case *runtime.EventExecutionContextDestroyed:
		t.mu.Lock()
		var r *Realm
		for id, desc := range t.contexts {
			if desc.UniqueID == ev.ExecutionContextUniqueID {
				r = t.probed[id]
				delete(t.contexts, id)
				delete(t.probed, id)
				t.forgetScriptsLocked(id)
			}
		}
		t.mu.Unlock()
		if r != nil {
			r.markGone()
		}
	case *runtime.EventExecutionContextsCleared:
		// The page may be going into the back/forward cache: keep its
		// probed realms to adopt if Chrome restores it.
		t.mu.Lock()
		for _, r := range t.probed {
			if r != nil && r.uniqueID != "" {
				t.parked = append(t.parked, r)
			}
		}
		if n := len(t.parked) - maxParked; n > 0 {
			t.parked = slices.Delete(t.parked, 0, n)
		}
		t.mu.Unlock()
		t.markAllGone()
	case *debugger.EventScriptParsed:
		t.mu.Lock()
		t.scripts[ev.ScriptID] = ev.ExecutionContextID
		t.mu.Unlock()
	case *debugger.EventPaused:
		select {
		case t.pauses <- ev:
		default:
			t.b.logf("%s: too many pauses queued; dropping one", t)
		}
	case *runtime.EventBindingCalled:
		if ev.Name != t.b.bindingName {
			return
		}
		t.mu.Lock()
		r := t.probed[ev.ExecutionContextID]
		t.mu.Unlock()
		if r != nil {
			t.b.record(r, ev.Payload)
		}
	case *runtime.EventConsoleAPICalled:
		t.mu.Lock()
		r := t.probed[ev.ExecutionContextID]
		t.mu.Unlock()
		t.b.recordConsole(r, ev)
	case *runtime.EventExceptionThrown:
		t.mu.Lock()
		r := t.probed[ev.ExceptionDetails.ExecutionContextID]
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
	case *page.EventBackForwardCacheNotUsed:
		var reasons []string
		for _, r := range ev.NotRestoredExplanations {
			reasons = append(reasons, string(r.Reason))
		}
		t.b.logf("%s: the page did not use the back/forward cache: %s", t, strings.Join(reasons, ", "))
	case *page.EventFrameDetached:
		t.mu.Lock()
		delete(t.frames, ev.FrameID)
		t.mu.Unlock()
	case *page.EventFrameNavigated:
		t.mu.Lock()
		t.frames[ev.Frame.ID] = ev.Frame.URL + ev.Frame.URLFragment
		t.mu.Unlock()
	}
}

// maxParked bounds Tab.parked; Chrome keeps a handful of pages per tab in
// the back/forward cache.
const maxParked = 32

// adopt makes a new realm for a context that Chrome restored from the
// back/forward cache. The page's JavaScript, the probe in it included, lived
// on frozen, so the probe is not installed again: the new realm finds the
// probe's control object again (DevTools handles do not survive the cache),
// and the binding reports as before.
func (t *Tab) adopt(old *Realm, desc *runtime.ExecutionContextDescription) {
	ctx, cancel := context.WithTimeout(t.ctx, t.b.opts.Timeout)
	defer cancel()
	r, err := t.realmFor(desc)
	if err == nil {
		// Same document: Chrome reports the frame's navigation back to it
		// only after the contexts.
		r.Kind, r.ExtensionID, r.URL = old.Kind, old.ExtensionID, old.URL
		r.api, err = t.b.findProbe(ctx, t.ctx, desc.ID, desc.UniqueID)
	}
	t.finishInstall(desc.ID, r, err)
}

func (t *Tab) markAllGone() {
	t.mu.Lock()
	var gone []*Realm
	for id, r := range t.probed {
		if r != nil {
			gone = append(gone, r)
		}
		delete(t.probed, id)
	}
	clear(t.contexts)
	clear(t.scripts) // a new renderer process numbers contexts and scripts anew
	t.mu.Unlock()
	for _, r := range gone {
		r.markGone()
	}
}

func (t *Tab) forgetScriptsLocked(id runtime.ExecutionContextID) {
	for s, c := range t.scripts {
		if c == id {
			delete(t.scripts, s)
		}
	}
}

// handlePauses installs the probe at each pause in an extension script whose
// context has none yet, and resumes. It always resumes.
func (t *Tab) handlePauses() {
	for {
		var p *debugger.EventPaused
		select {
		case p = <-t.pauses:
		case <-t.ctx.Done():
			return
		}
		t.handlePause(p)
	}
}

func (t *Tab) handlePause(p *debugger.EventPaused) {
	ctx, cancel := context.WithTimeout(t.ctx, t.b.opts.Timeout)
	defer cancel()
	defer callIn(ctx, t.ctx, debugger.Resume, debugger.ResumeParams{})
	if len(p.CallFrames) == 0 || t.b.probesOff.Load() {
		return
	}
	frame := p.CallFrames[0]
	t.mu.Lock()
	ctxID, ok := t.scripts[frame.Location.ScriptID]
	desc := t.contexts[ctxID]
	_, probed := t.probed[ctxID]
	if ok && desc != nil && !probed {
		t.probed[ctxID] = nil // being installed
	}
	t.mu.Unlock()
	if !ok || desc == nil || probed {
		return
	}
	r, err := t.realmFor(desc)
	if err == nil {
		r.api, err = t.b.installProbeOnFrame(ctx, t.ctx, desc.ID, frame.CallFrameID)
	}
	t.finishInstall(desc.ID, r, err)
}

// probeQuietExtensionPages installs the probe into the main world of
// extension pages that ran no script, so Go can still drive ports there.
func (t *Tab) probeQuietExtensionPages(ctx context.Context) {
	var todo []*runtime.ExecutionContextDescription
	t.mu.Lock()
	for id, desc := range t.contexts {
		if _, probed := t.probed[id]; probed || !strings.HasPrefix(desc.Origin, "chrome-extension://") {
			continue
		}
		var aux auxData
		if json.Unmarshal(desc.AuxData, &aux) != nil || aux.Type != "default" {
			continue
		}
		hasScript := false
		for _, c := range t.scripts {
			hasScript = hasScript || c == id
		}
		if !hasScript {
			t.probed[id] = nil
			todo = append(todo, desc)
		}
	}
	t.mu.Unlock()
	for _, desc := range todo {
		r, err := t.realmFor(desc)
		if err == nil {
			r.api, err = t.b.installProbeInContext(ctx, t.ctx, desc.ID, desc.UniqueID)
		}
		t.finishInstall(desc.ID, r, err)
	}
}

func (t *Tab) finishInstall(id runtime.ExecutionContextID, r *Realm, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		delete(t.probed, id)
		if !t.closed && !t.b.isClosed() {
			t.b.logf("%s: installing the probe in context %d: %v", t, id, err)
		}
		return
	}
	if _, ok := t.probed[id]; !ok {
		return // the context went away meanwhile
	}
	t.probed[id] = r
	t.b.addRealm(r)
}

// realmFor describes the realm of an extension context of this tab.
func (t *Tab) realmFor(desc *runtime.ExecutionContextDescription) (*Realm, error) {
	var aux auxData
	if err := json.Unmarshal(desc.AuxData, &aux); err != nil {
		return nil, fmt.Errorf("reading auxData of context %d: %w", desc.ID, err)
	}
	kind := PageRealm
	if aux.Type == "isolated" {
		kind = ContentScriptRealm
	}
	r := newRealm(t.b, kind, extensionIDOf(desc.Origin+"/"))
	r.Tab = t
	r.FrameID = aux.FrameID
	r.cdpCtx = t.ctx
	r.uniqueID = desc.UniqueID
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
// first. Frames of other sites run in other processes and are not listed.
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
