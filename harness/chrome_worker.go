package harness

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/debugger"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/portprobe/portprobe/trace"
)

// workerSession is the harness's session with one service worker target.
type workerSession struct {
	b        *Browser
	targetID target.ID
	extID    string
	ctx      context.Context // chromedp context attached to the worker
	cancel   context.CancelFunc
	url      string
	paused   chan *debugger.EventPaused
	// failed is closed when the worker's script threw before its first
	// line (it did not compile); failOnce guards it.
	failed   chan struct{}
	failOnce sync.Once
	realm    atomic.Pointer[Realm] // set before the worker runs its first line

	// restartMu guards cancelRestart, which ends the probing of the
	// previous instance when another one starts.
	restartMu     sync.Mutex
	cancelRestart context.CancelFunc

	// instrumentMu makes instrument run one at a time; it guards bp, the
	// instrumentation breakpoint while instrument runs, or one that a
	// cut-short instrument left.
	instrumentMu sync.Mutex
	bp           debugger.BreakpointID
}

// workerStatus follows a service worker version's running status from the
// ServiceWorker domain: a stopping or stopped worker's realm is gone.
func (b *Browser) workerStatus(v *serviceworker.Version) {
	if v.TargetID == "" {
		return
	}
	if v.RunningStatus != serviceworker.VersionRunningStatusStopping && v.RunningStatus != serviceworker.VersionRunningStatusStopped {
		return
	}
	b.mu.Lock()
	ws := b.workerSessions[v.TargetID]
	b.mu.Unlock()
	if ws == nil {
		return
	}
	if r := ws.realm.Load(); r != nil {
		r.markGone()
	}
}

// restarted probes a new instance of the worker. Chrome keeps the worker's
// target and our session across a stop; when a new instance starts, it
// attaches the session to it (Inspector.targetReloadedAfterCrash) and holds
// it before it runs (waitForDebuggerOnStart still holds). Commands sent
// earlier, at the ServiceWorker domain's "starting", can reach the instance
// that is going away and leave the new one waiting forever. An instance can
// also be replaced while starting; each new one cancels the probing of the
// one before.
func (ws *workerSession) restarted() {
	b := ws.b
	if b.probesOff.Load() {
		ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
		defer cancel()
		callIn(ctx, ws.ctx, runtime.RunIfWaitingForDebugger, cdp.Empty{})
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	ws.restartMu.Lock()
	if ws.cancelRestart != nil {
		ws.cancelRestart()
	}
	ws.cancelRestart = cancel
	ws.restartMu.Unlock()
	if r := ws.realm.Load(); r != nil {
		r.markGone()
	}
	go func() {
		defer cancel()
		if err := ws.instrument(ctx, true, ws.url); err != nil && ctx.Err() == nil && !b.isClosed() {
			b.logf("installing the probe in the restarted service worker %s: %v", ws.url, err)
		}
	}()
}

// watchWorkers follows the service workers that Chrome auto-attaches (see
// pauseWorkers): each new one gets the harness's own session and its probe.
func (b *Browser) watchWorkers() error {
	// Our own Target.attachToTarget also reports attachedToTarget; only the
	// first report of a worker, Chrome's auto-attach, starts a session.
	if err := chromedp.ListenBrowser(b.ctx, func(ev any) {
		switch ev := ev.(type) {
		case *target.EventAttachedToTarget:
			if ev.TargetInfo.Type != "service_worker" {
				return
			}
			b.mu.Lock()
			_, seen := b.workers[ev.TargetInfo.TargetID]
			if !seen {
				b.workers[ev.TargetInfo.TargetID] = ev.SessionID
			}
			b.mu.Unlock()
			if !seen {
				go b.attachWorker(ev)
			}
		case *target.EventTargetDestroyed:
			b.mu.Lock()
			ws := b.workerSessions[ev.TargetID]
			b.mu.Unlock()
			if ws != nil {
				if r := ws.realm.Load(); r != nil {
					r.markGone()
				}
			}
		case *target.EventDetachedFromTarget:
			// When Chrome's own session with a worker ends (the worker
			// stopped), the next start is a new worker to instrument.
			b.mu.Lock()
			for id, session := range b.workers {
				if session == ev.SessionID {
					delete(b.workers, id)
				}
			}
			b.mu.Unlock()
		}
	}); err != nil {
		return fmt.Errorf("watching service workers: %w", err)
	}
	return nil
}

// pauseWorkers makes Chrome hold every new service worker and page before it
// runs (auto-attach with waitForDebuggerOnStart), so the harness can install
// the probe first. The relay takes the pages' sessions (see Browser.claim)
// and lets each page go once its probing is set up; watchWorkers takes the
// workers. Without the relay (Windows) only workers are held: nothing could
// let a page go, and a window.open would wait for ever.
func (b *Browser) pauseWorkers(ctx context.Context) error {
	defer b.attachStarted.Store(true)
	filter := target.Filter{}
	if !b.opts.IdleWorkers {
		// Chrome's auto-attached session would keep every worker alive.
		filter = append(filter, struct {
			Exclude bool   `json:"exclude"`
			Type    string `json:"type,omitempty,omitzero"`
		}{Type: "service_worker"})
	}
	if b.relay.Active() {
		for typ := range pageTypes {
			filter = append(filter, struct {
				Exclude bool   `json:"exclude"`
				Type    string `json:"type,omitempty,omitzero"`
			}{Type: typ})
		}
	}
	if len(filter) == 0 {
		return nil
	}
	filter = append(filter, struct {
		Exclude bool   `json:"exclude"`
		Type    string `json:"type,omitempty,omitzero"`
	}{Exclude: true})
	_, err := callBrowser(ctx, b, target.SetAutoAttach, target.SetAutoAttachParams{
		AutoAttach:             true,
		WaitForDebuggerOnStart: true,
		Flatten:                new(true),
		Filter:                 filter,
	})
	if err != nil {
		return fmt.Errorf("watching service workers and pages: Target.setAutoAttach: %w", err)
	}
	return nil
}

// extensionIDOf returns the extension ID of a chrome-extension:// URL, or "".
func extensionIDOf(url string) string {
	rest, ok := strings.CutPrefix(url, "chrome-extension://")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// attachWorker opens the harness's own session with a service worker that
// Chrome paused at start, installs the probe right before the worker's first
// line, and lets it run. The auto-attached session stays as Chrome made it;
// chromedp does not route it, and Runtime.runIfWaitingForDebugger from our
// session releases the worker.
func (b *Browser) attachWorker(ev *target.EventAttachedToTarget) {
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	info := ev.TargetInfo
	ws := &workerSession{b: b, targetID: info.TargetID, url: info.URL, extID: extensionIDOf(info.URL), paused: make(chan *debugger.EventPaused, 8), failed: make(chan struct{})}
	// WithDetachOnCancel: ending our session must not close the worker.
	wctx, wcancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel(),
		chromedp.WithListener(ws.listen))
	ws.ctx, ws.cancel = wctx, wcancel
	if err := runBounded(ctx, b.opts.Timeout, wcancel, func() error { return chromedp.Do(wctx) }); err != nil {
		if !b.isClosed() {
			b.logf("attaching to service worker %s: %v", info.URL, err)
		}
		return
	}
	b.mu.Lock()
	b.workerSessions[info.TargetID] = ws
	delete(b.workerFailed, ws.extID) // a new worker: its own verdict
	b.mu.Unlock()
	if ws.extID == "" || b.probesOff.Load() {
		// Not an extension's worker, or probes are off: let it run untouched.
		callIn(ctx, wctx, runtime.RunIfWaitingForDebugger, cdp.Empty{})
		return
	}
	if err := ws.instrument(ctx, ev.WaitingForDebugger, info.URL); err != nil && !b.isClosed() {
		b.logf("installing the probe in the service worker %s: %v", info.URL, err)
	}
	if detached, err := chromedp.Detached(wctx); err == nil {
		go func() {
			select {
			case <-detached:
			case <-wctx.Done(): // workerGone ended the session
			case <-b.ctx.Done():
			}
			if r := ws.realm.Load(); r != nil {
				r.markGone()
			}
			// The worker's target is gone (its extension uninstalled or
			// disabled): so are our session and its chromedp context, or a
			// long-lived browser keeps one of each per extension it loaded.
			b.mu.Lock()
			if b.workerSessions[ws.targetID] == ws {
				delete(b.workerSessions, ws.targetID)
			}
			b.mu.Unlock()
			ws.cancel()
		}()
	}
}

// instrument installs the probe. A waiting worker is run up to a pause before
// its first script, where the extension APIs exist and no code of its own has
// run; a running worker (attached late) gets the probe at once.
func (ws *workerSession) instrument(ctx context.Context, waiting bool, url string) error {
	ws.instrumentMu.Lock()
	defer ws.instrumentMu.Unlock()
	b := ws.b
	realm := newRealm(b, trace.WorkerRealm, ws.extID)
	realm.URL = url
	realm.conn = &cdpRealm{sess: chromedp.FromContext(ws.ctx).Target}
	if !waiting {
		api, err := b.installProbeInContext(ctx, chromedp.FromContext(ws.ctx).Target, 0, "")
		if err != nil {
			return err
		}
		realm.cdp().api = api
		ws.realm.Store(realm)
		b.addRealm(realm)
		return nil
	}
	// A pause of an instance that went away is stale, and so is its
	// breakpoint: Chrome carries the session's debugger state over to the
	// next instance, and a probing cut short never removed it.
	for len(ws.paused) > 0 {
		<-ws.paused
	}
	if ws.bp != "" {
		callIn(ctx, ws.ctx, debugger.RemoveBreakpoint, debugger.RemoveBreakpointParams{BreakpointID: ws.bp})
		ws.bp = ""
	}
	var bp debugger.BreakpointID
	steps := []func() error{
		func() error { _, err := callIn(ctx, ws.ctx, debugger.Enable, debugger.EnableParams{}); return err },
		func() error {
			res, err := callIn(ctx, ws.ctx, debugger.SetInstrumentationBreakpoint, debugger.SetInstrumentationBreakpointParams{
				Instrumentation: debugger.SetInstrumentationBreakpointInstrumentationBeforeScriptExecution})
			bp, ws.bp = res.BreakpointID, res.BreakpointID
			return err
		},
		func() error { _, err := callIn(ctx, ws.ctx, runtime.RunIfWaitingForDebugger, cdp.Empty{}); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			callIn(ctx, ws.ctx, runtime.RunIfWaitingForDebugger, cdp.Empty{})
			return err
		}
	}
	select {
	case <-ws.paused:
	case <-ws.failed:
		return fmt.Errorf("the worker did not start: %w", ws.b.workerFailure(ws.extID))
	case <-ctx.Done():
		return fmt.Errorf("waiting for the worker to reach its first script: %w", context.Cause(ctx))
	}
	// Whatever happens now, the worker must run on.
	defer func() {
		if _, err := callIn(ctx, ws.ctx, debugger.RemoveBreakpoint, debugger.RemoveBreakpointParams{BreakpointID: bp}); err == nil {
			ws.bp = ""
		}
		callIn(ctx, ws.ctx, debugger.Resume, debugger.ResumeParams{})
		callIn(ctx, ws.ctx, debugger.Disable, cdp.Empty{})
	}()
	api, err := b.installProbeInContext(ctx, chromedp.FromContext(ws.ctx).Target, 0, "")
	if err != nil {
		return err
	}
	realm.cdp().api = api
	ws.realm.Store(realm)
	b.addRealm(realm)
	return nil
}

// listen runs in chromedp's loop for the worker's session: it must be quick.
func (ws *workerSession) listen(ev any) {
	switch ev := ev.(type) {
	case *debugger.EventPaused:
		select {
		case ws.paused <- ev:
		default:
		}
	case *inspector.EventTargetCrashed:
		// A stopped worker "crashes" for its DevTools session.
		if r := ws.realm.Load(); r != nil {
			r.markGone()
		}
	case *inspector.EventTargetReloadedAfterCrash:
		ws.restarted()
	case *runtime.EventBindingCalled:
		if r := ws.realm.Load(); r != nil && ev.Name == ws.b.bindingName {
			ws.b.record(r, ev.Payload)
		}
	case *runtime.EventExceptionThrown:
		r := ws.realm.Load()
		if d := ev.ExceptionDetails; r == nil && ws.extID != "" && d.Exception != nil && d.Exception.ClassName == "SyntaxError" && d.URL == ws.url {
			// The worker's script did not compile, so the worker never
			// reached its first line (nor the probe). Other errors
			// before the probe (a worker of an extension being removed
			// runs without its APIs) are not the new worker's.
			ws.failedToStart(d)
		}
		ws.b.recordConsole(r, ev)
	case *runtime.EventConsoleAPICalled:
		ws.b.recordConsole(ws.realm.Load(), ev)
	}
}

func (b *Browser) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// failedToStart records Chrome's error for a worker script that did not
// compile, so that waits for the worker fail at once with it.
func (ws *workerSession) failedToStart(d *runtime.ExceptionDetails) {
	err := fmt.Errorf("Chrome could not run %s:%d:%d: %s", d.URL, d.LineNumber+1, d.ColumnNumber+1, exceptionText(d))
	b := ws.b
	b.mu.Lock()
	b.workerFailed[ws.extID] = err
	b.changed.Notify()
	b.mu.Unlock()
	ws.failOnce.Do(func() { close(ws.failed) })
	b.logf("the service worker of extension %s did not start: %v", ws.extID, err)
}

// workerFailure returns why the extension's worker could not start, or nil.
func (b *Browser) workerFailure(extID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.workerFailed[extID]
}
