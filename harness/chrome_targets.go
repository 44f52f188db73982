package harness

import (
	"context"
	"errors"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/portprobe/portprobe/internal/cdppipe"
)

// pageTypes are the target types the harness follows as tabs: every
// document an extension can run in that is not a worker. Chrome reports
// toolbar popups, offscreen documents and side panels as pages too.
var pageTypes = map[string]bool{"page": true, "other": true, "background_page": true}

// claim is the relay's question, asked in its read loop: does the harness
// take the session Chrome attached? It takes the first session of every page
// (Chrome's auto-attach, with the page held before its first line) and the
// sessions of iframes in other processes that its pages' sessions
// auto-attach. A page's later sessions (chromedp's own attach) and every
// other target stay chromedp's.
func (b *Browser) claim(parent *cdppipe.Session, ev *target.EventAttachedToTarget, sess *cdppipe.Session) func(any) {
	info := ev.TargetInfo
	if parent == nil {
		if !pageTypes[info.Type] {
			return nil
		}
		b.mu.Lock()
		if b.closed || b.pageTabs[info.TargetID] != nil {
			b.mu.Unlock()
			return nil
		}
		t := newTab(b, info.TargetID)
		t.OpenerID = info.OpenerID
		t.internal.Store(b.internalTargets[info.TargetID] || !b.attachStarted.Load())
		t.pending = b.makingPage
		b.nextTab++
		t.n = b.nextTab
		b.pageTabs[info.TargetID] = t
		b.tabs = append(b.tabs, t)
		b.changed.Notify()
		b.mu.Unlock()
		return b.follow(t, sess, info.TargetID, ev.WaitingForDebugger)
	}
	b.mu.Lock()
	var t *Tab
	for root := parent; root != nil && t == nil; root = root.Parent() {
		if tab := b.pageTabs[root.TargetID()]; tab != nil && tab.main.sess == root {
			t = tab
		}
	}
	b.mu.Unlock()
	if t == nil || info.Type != "iframe" {
		return nil
	}
	return b.follow(t, sess, info.TargetID, ev.WaitingForDebugger)
}

// follow makes a claimed session one of tab t's, sets up its probing in the
// background, and returns its event handler.
func (b *Browser) follow(t *Tab, sess *cdppipe.Session, id target.ID, waiting bool) func(any) {
	s := t.newFrameSession(sess, id)
	go b.setUpSession(s, waiting)
	go func() {
		<-sess.Detached()
		s.ended()
	}()
	return s.listen
}

// setUpSession sets up the probing of a session Chrome attached, and lets
// its target run.
func (b *Browser) setUpSession(s *frameSession, waiting bool) {
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	if err := s.setUp(ctx, waiting); err != nil && !b.isClosed() && !errors.Is(err, cdppipe.ErrSessionDetached) {
		b.logf("%s: setting up the probing of target %s: %v", s.t, s.targetID, err)
	}
}

// markInternal records that a page target is the harness's own.
func (b *Browser) markInternal(id target.ID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.internalTargets[id] = true
	if t := b.pageTabs[id]; t != nil {
		t.internal.Store(true)
	}
}

// callOn runs one command on a session (a raw session of the relay, or a
// chromedp target) and names the command when ctx ended it.
//
// A ctx already ended sends nothing: a call that fails must not have acted
// (chromedp can send a command whose context is done, and so would the relay).
func callOn[P, R any](ctx context.Context, s cdp.Session, cmd cdp.Command[P, R], params P) (R, error) {
	if err := ctx.Err(); err != nil {
		var zero R
		return zero, fmt.Errorf("%s: not sent: %w", cmd.Method, context.Cause(ctx))
	}
	res, err := cdp.Call(ctx, s, cmd, params)
	return res, callErr(ctx, cmd.Method, err)
}

// makeInternalPage makes a hidden page of the harness's own at url, which
// neither extensions (tabs.query) nor Tabs see.
func (b *Browser) makeInternalPage(ctx context.Context, url string) (target.CreateTargetResult, error) {
	b.tabMu.Lock()
	defer b.tabMu.Unlock()
	b.beginOwnPage()
	defer b.endOwnPage(nil, false)
	res, err := callBrowser(ctx, b, target.CreateTarget, target.CreateTargetParams{URL: url, Hidden: new(true), Background: new(true)})
	if err == nil {
		b.markInternal(res.TargetID)
	}
	return res, err
}
