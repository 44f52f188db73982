package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/portprobe/portprobe/internal/wake"
	"github.com/portprobe/portprobe/trace"
)

// The faults the harness injects: each is one call, and afterwards the realms
// of what went away are Gone while new ones (a restarted worker, a reloaded
// page) are found and probed again on their own.

// swState follows the ServiceWorker domain of the control page (see
// openControl), which sees the extensions' workers too.
type swState struct {
	mu       sync.Mutex
	versions map[string]*serviceworker.Version // by version ID
	regs     map[serviceworker.RegistrationID]string
	changed  wake.Signal // notified at each update
	// gone closes when the control page's session ends (the page closed or
	// its renderer crashed): the domain reports nothing more. Set before
	// Browser.control closes; nil (never closes) until then.
	gone <-chan struct{}

	last    map[string]WorkerStatus   // by version ID
	history map[string][]WorkerChange // by extension ID
}

func newSWState() swState {
	return swState{
		versions: map[string]*serviceworker.Version{},
		regs:     map[serviceworker.RegistrationID]string{},
		last:     map[string]WorkerStatus{},
		history:  map[string][]WorkerChange{},
	}
}

// serviceWorkers returns the ServiceWorker domain's view, once the control
// page that carries the domain is ready (see openControl).
func (b *Browser) serviceWorkers(ctx context.Context) (*swState, error) {
	if b.ff != nil {
		return nil, errNoWorkerStatus
	}
	b.startControl()
	select {
	case <-b.control:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the control page that reports service workers: %w", context.Cause(ctx))
	}
	if b.controlErr != nil {
		return nil, b.controlErr
	}
	select {
	case <-b.sw.gone:
		return nil, b.controlGone()
	default:
	}
	return &b.sw, nil
}

// untilSW waits until check, on the ServiceWorker domain's view s, holds
// (see wake.Until). It fails at once when the control page that carries the
// domain is gone: nothing would be reported any more.
func untilSW[T any](ctx context.Context, b *Browser, s *swState, check func() (T, bool, error)) (T, error) {
	v, err := wake.Until(ctx, &s.changed, s.gone, check)
	if errors.Is(err, wake.ErrDone) {
		err = b.controlGone()
	}
	return v, err
}

// controlGone is the error of a wait on the ServiceWorker domain once the
// control page is gone: the browser's end, or the page's own.
func (b *Browser) controlGone() error {
	if err := b.lost(); err != nil {
		return err
	}
	return errControlGone
}

// errControlGone: the control page closed or crashed while the browser runs.
var errControlGone = errors.New("the control page that carries the ServiceWorker domain is gone (closed, or its renderer crashed): nothing reports service workers any more in this browser")

// startControl opens the control page in the background, once.
func (b *Browser) startControl() {
	if b.ff != nil {
		return
	}
	b.controlOnce.Do(func() { go b.openControl() })
}

// errNoWorkerStatus is the error of asking Firefox for what only Chrome's
// ServiceWorker domain reports.
var errNoWorkerStatus = errors.New("Firefox reports no service worker status: an extension's background there is an event page, not a service worker (Extension.StopWorker terminates it)")

// openControl opens a page of the harness's own, the control page, and
// enables the ServiceWorker domain there: Chrome has that domain on pages
// only, not on the browser. A page costs about 100 ms of Chrome's time (a
// renderer, a session and its domains), so it opens when the first
// extension loads, in the background (see startControl), and closes
// b.control when done.
//
// The page is a hidden target: it is in no window, so extensions do not see
// it (tabs.query) and it takes no window's focus. Chrome makes a hidden
// target only once a page has a DevTools session ("only when remote
// debugging is enabled"), so it waits for the first tab; a Chrome that still
// refuses gets an ordinary tab, and the harness says so.
//
// A hidden target still comes with a target of type "tab", and OpenTab finds
// a tab's tab target as the one that appeared while it made the page: the
// control page is made under the same lock. A tab given the hidden page's
// tab target would click actions there; that may be what crashed Chrome
// 156 once in a soak (never reproduced).
func (b *Browser) openControl() {
	defer close(b.control)
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	select {
	case <-b.prewarmed:
	case <-ctx.Done():
		b.controlErr = fmt.Errorf("opening the control page that reports service workers: %w", context.Cause(ctx))
		return
	}
	b.tabMu.Lock()
	defer b.tabMu.Unlock()
	b.beginOwnPage()
	defer b.endOwnPage(nil, false)
	var opts []chromedp.ContextOption
	res, err := callBrowser(ctx, b, target.CreateTarget, target.CreateTargetParams{
		URL: "about:blank", Hidden: new(true), Background: new(true),
	})
	if err == nil {
		b.markInternal(res.TargetID)
		opts = append(opts, chromedp.WithTargetID(res.TargetID))
	} else if !b.isClosed() {
		b.logf("the control page that reports service workers is an ordinary tab, which extensions see: Chrome made no hidden target: %v", err)
	}
	cctx, ccancel := chromedp.NewContext(b.ctx, opts...) // ends with the browser
	if err := runBounded(ctx, b.opts.Timeout, ccancel, func() error { return chromedp.Do(cctx) }); err != nil {
		b.controlErr = fmt.Errorf("attaching the control page that reports service workers: %w", err)
		return
	}
	// An ordinary tab, made by chromedp, is the harness's own too: a test's
	// cleaning must not close it.
	b.markInternal(chromedp.FromContext(cctx).Target.TargetID)
	gone, err := chromedp.Detached(cctx)
	if err != nil {
		b.controlErr = fmt.Errorf("attaching the control page that reports service workers: %w", err)
		return
	}
	b.sw.gone = gone
	b.controlCtx = cctx
	s := &b.sw
	if err := chromedp.Listen(cctx, func(ev any) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch ev := ev.(type) {
		case *serviceworker.EventWorkerVersionUpdated:
			now := time.Now()
			for _, v := range ev.Versions {
				s.versions[v.VersionID] = v
				s.recordWorkerStatus(v, now)
				b.workerStatus(v)
			}
		case *serviceworker.EventWorkerRegistrationUpdated:
			for _, r := range ev.Registrations {
				s.regs[r.RegistrationID] = r.ScopeURL
			}
		default:
			return
		}
		s.changed.Notify()
	}); err != nil {
		b.controlErr = fmt.Errorf("enabling the ServiceWorker domain: %w", err)
		return
	}
	if _, err := callIn(ctx, cctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		b.controlErr = fmt.Errorf("enabling the ServiceWorker domain: %w", err)
	}
}

// StopWorker stops the extension's service worker, as Chrome does when it is
// idle (ServiceWorker.stopWorker). Its realm is gone afterwards; the next
// event that wakes the worker (a connect, a message) starts a new realm, and
// the harness probes it before its first line like the first one.
func (e *Extension) StopWorker(ctx context.Context) error {
	b := e.b
	ctx, cancel := b.bound(ctx)
	defer cancel()
	var old *Realm
	if !b.opts.IdleWorkers {
		var err error
		if old, err = e.Worker(ctx); err != nil {
			return fmt.Errorf("stopping the worker of %s: %w", e, err)
		}
	}
	if old != nil {
		// Its events so far reach the trace before it goes.
		old.flush(ctx)
	}
	if err := b.eng.stopBackground(ctx, e.ID); err != nil {
		return fmt.Errorf("stopping the worker of %s: %w", e, err)
	}
	if old == nil {
		_, err := e.WaitWorkerStatus(ctx, WorkerStopped)
		return err
	}
	select {
	case <-old.Done():
		return nil
	case <-ctx.Done():
		return &trace.WaitError{What: "the old realm " + old.String() + " to go away after ServiceWorker.stopWorker", Cause: context.Cause(ctx), Detail: b.describeRealms(), Trace: b.Trace().WaitText()}
	}
}

// Crash crashes the tab's renderer process (Page.crash), as an out-of-memory
// kill or a bug would. The tab's realms are gone afterwards.
func (t *Tab) Crash(ctx context.Context) error {
	if err := t.notInFirefox("crashing its renderer"); err != nil {
		return err
	}
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	t.mu.Lock()
	var realms []*Realm
	for _, s := range t.sessions {
		for _, r := range s.probed {
			if r != nil {
				realms = append(realms, r)
			}
		}
	}
	t.mu.Unlock()
	for _, r := range realms {
		r.flush(ctx)
	}
	// Page.crash never answers: the renderer dies while handling it. Send it,
	// then wait for the contexts to go.
	go callOn(ctx, t.main.sess, page.Crash, cdp.Empty{})
	select {
	case <-t.crashed():
	case <-ctx.Done():
		return &trace.WaitError{What: t.String() + " to crash after Page.crash", Cause: context.Cause(ctx), Detail: t.b.describeRealms(), Trace: t.b.Trace().WaitText()}
	}
	t.markAllGone()
	return nil
}

// crashed returns a channel closed when the tab's renderer crashes.
func (t *Tab) crashed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.crash == nil {
		t.crash = make(chan struct{})
	}
	return t.crash
}

// Back goes one step back in the tab's history and waits for the page to
// show. A page restored from the back/forward cache keeps its JavaScript
// state: the harness adopts each of its probed realms as a new Realm (the old
// one stayed Gone while the page was cached), so ContentScript finds it again
// and its probe reports as before.
func (t *Tab) Back(ctx context.Context) error { return t.history(ctx, -1) }

// Forward goes one step forward in the tab's history.
func (t *Tab) Forward(ctx context.Context) error { return t.history(ctx, +1) }

func (t *Tab) history(ctx context.Context, delta int) error {
	if err := t.notInFirefox("going through its history"); err != nil {
		return err
	}
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	h, err := callOn(ctx, t.main.sess, page.GetNavigationHistory, cdp.Empty{})
	if err != nil {
		return fmt.Errorf("%s: reading the history: %w", t, t.callErr(ctx, err))
	}
	i := int(h.CurrentIndex) + delta
	if i < 0 || i >= len(h.Entries) {
		return fmt.Errorf("%s: no history entry %+d from %d of %d", t, delta, h.CurrentIndex, len(h.Entries))
	}
	cctx, ccancel, err := t.boundTo(ctx)
	if err != nil {
		return err
	}
	defer ccancel()
	// Wait for the frame to navigate (a restore from bfcache fires no load).
	_, err = chromedp.Run(cctx, chromedp.WaitEvent(page.FrameNavigated, func(ev page.EventFrameNavigated) bool {
		return ev.Frame.ParentID == ""
	}, chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tt, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[i].ID})
		return err
	})))
	if err != nil {
		return fmt.Errorf("%s: going to history entry %s: %w", t, h.Entries[i].URL, t.callErr(ctx, err))
	}
	return nil
}

// SetHash changes the fragment of the tab's URL (location.hash), a
// same-document navigation, and waits for Chrome to report it. The document,
// its realms and their ports stay.
func (t *Tab) SetHash(ctx context.Context, hash string) error {
	return t.sameDocument(ctx, "location.hash = "+jsString(hash))
}

// PushState adds a history entry for url in the same document
// (history.pushState), as single-page apps route, and waits for Chrome to
// report the navigation. The document, its realms and their ports stay.
func (t *Tab) PushState(ctx context.Context, url string) error {
	return t.sameDocument(ctx, "history.pushState(null, '', "+jsString(url)+")")
}

// sameDocument runs a script in the page's main world that navigates within
// the document, and waits for Page.navigatedWithinDocument of the main frame.
func (t *Tab) sameDocument(ctx context.Context, script string) error {
	if err := t.notInFirefox("navigating within the document"); err != nil {
		return err
	}
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	cctx, ccancel, err := t.boundTo(ctx)
	if err != nil {
		return err
	}
	defer ccancel()
	main := cdp.FrameID(t.TargetID) // a tab's main frame has the tab's target ID
	_, err = chromedp.Run(cctx, chromedp.WaitEvent(page.NavigatedWithinDocument, func(ev page.EventNavigatedWithinDocument) bool {
		return ev.FrameID == main
	}, chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		res, err := cdp.Call(ctx, tt, runtime.Evaluate, runtime.EvaluateParams{Expression: script})
		if err == nil && res.ExceptionDetails != nil {
			err = errors.New(exceptionText(res.ExceptionDetails))
		}
		return err
	})))
	if err != nil {
		return fmt.Errorf("%s: navigating within the document (%s): %w", t, script, t.callErr(ctx, err))
	}
	return nil
}

// Reload reloads the extension from its folder, as the Reload button of
// chrome://extensions does. Its worker restarts as a new realm; its content
// scripts in open tabs stay, orphaned, and pages of it close.
func (e *Extension) Reload(ctx context.Context) error {
	ctx, cancel := e.b.bound(ctx)
	defer cancel()
	if e.b.extensionByID(e.ID) != e {
		return fmt.Errorf("reloading %s: it is not loaded (uninstalled, or replaced); load it with LoadExtension", e)
	}
	id, err := e.b.eng.loadUnpacked(ctx, e.Dir)
	if err != nil {
		return fmt.Errorf("reloading %s: %w", e, err)
	}
	if id != e.ID {
		return fmt.Errorf("reloading %s: %s gave it a new ID %s", e, e.b.eng.name(), id)
	}
	return nil
}

// Uninstall removes the extension (Extensions.uninstall). Its worker's realm
// is gone; its content scripts in open tabs stay, orphaned. Load it again
// with Browser.LoadExtension.
func (e *Extension) Uninstall(ctx context.Context) error {
	defer e.b.clock.since(spentUninstall, time.Now())
	ctx, cancel := e.b.bound(ctx)
	defer cancel()
	if err := e.b.eng.uninstall(ctx, e.ID); err != nil {
		return fmt.Errorf("uninstalling %s: %w", e, err)
	}
	e.workerGone()
	e.b.mu.Lock()
	e.b.extensions = slices.DeleteFunc(e.b.extensions, func(x *Extension) bool { return x == e })
	// Its realms are gone with it: a long-lived browser (a suite's) forgets
	// them rather than keep every spec's.
	e.b.realms = slices.DeleteFunc(e.b.realms, func(r *Realm) bool { return r.ExtensionID == e.ID && r.Gone() })
	e.b.changed.Notify()
	e.b.mu.Unlock()
	return nil
}

// workerGone marks the extension's background realms gone (Chrome's worker,
// Firefox's background page): after an uninstall or a disable the browser
// ends them, but reports it late or not at all.
func (e *Extension) workerGone() {
	e.b.mu.Lock()
	var gone []*Realm
	for _, r := range e.b.realms {
		if (r.Kind == trace.WorkerRealm || r.Kind == trace.BackgroundPageRealm) && r.ExtensionID == e.ID {
			gone = append(gone, r)
		}
	}
	// Chrome reports no end of the worker's target to the harness's
	// session: the session and its chromedp context end here, or a
	// long-lived browser keeps one of each per extension it loaded.
	var sessions []*workerSession
	for id, ws := range e.b.workerSessions {
		if ws.extID == e.ID {
			sessions = append(sessions, ws)
			delete(e.b.workerSessions, id)
		}
	}
	e.b.mu.Unlock()
	for _, r := range gone {
		r.markGone()
	}
	for _, ws := range sessions {
		go ws.cancel() // it detaches: a browser round trip
	}
}

// Disable turns the extension off as a user would on chrome://extensions,
// through chrome.management.setEnabled in a helper extension that the harness
// loads on first use. Enable turns it back on.
func (e *Extension) Disable(ctx context.Context) error { return e.setEnabled(ctx, false) }

// Enable turns a disabled extension back on; its worker starts again as a
// new realm.
func (e *Extension) Enable(ctx context.Context) error { return e.setEnabled(ctx, true) }

func (e *Extension) setEnabled(ctx context.Context, on bool) error {
	ctx, cancel := e.b.bound(ctx)
	defer cancel()
	if err := e.b.eng.setEnabled(ctx, e.ID, on); err != nil {
		return fmt.Errorf("setting %s enabled=%v: %w", e, on, err)
	}
	if !on {
		e.workerGone()
	}
	return nil
}

// managerManifest is the helper extension that disables and enables others.
const managerManifest = `{
  "manifest_version": 3,
  "name": "portprobe-manager",
  "version": "1.0",
  "description": "Loaded by portprobe to disable and enable extensions under test, and to read tab IDs.",
  "permissions": ["management", "debugger"],
  "background": {"service_worker": "worker.js"}
}`

// manager returns the worker realm of the helper extension, loading it first.
func (b *Browser) manager(ctx context.Context) (*Realm, error) {
	b.managerMu.Lock()
	defer b.managerMu.Unlock()
	if b.managerExt == nil {
		// In the profile, which Close removes (and the next Launch, when
		// this process dies first).
		dir, err := os.MkdirTemp(b.profileDir, "portprobe-manager-")
		if err != nil {
			return nil, fmt.Errorf("writing the manager extension: %w", err)
		}
		files := map[string]string{"manifest.json": managerManifest, "worker.js": "void 'portprobe-manager';\n"}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				return nil, fmt.Errorf("writing the manager extension: %w", err)
			}
		}
		ext, err := b.LoadExtension(ctx, dir)
		if err != nil {
			return nil, err
		}
		// The helper is the harness's, not the user's: keep it out of
		// Extensions().
		b.mu.Lock()
		b.extensions = slices.DeleteFunc(b.extensions, func(x *Extension) bool { return x == ext })
		b.helperID = ext.ID
		b.mu.Unlock()
		b.managerExt = ext
	}
	return b.managerExt.Worker(ctx)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
