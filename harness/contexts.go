package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/portprobe/portprobe/internal/cdppipe"
	"github.com/portprobe/portprobe/internal/wake"
	"github.com/portprobe/portprobe/trace"
)

// Every document an extension runs in is a Tab of the browser, whether the
// harness opened it or not: the toolbar popup, a tab or window the extension
// or a web page opened, an offscreen document, the side panel. The calls
// here wait for one, each with the harness's deadline and an error that
// lists what exists.

// urlMatches reports whether url is pattern, or starts with pattern's text
// before a final "*".
func urlMatches(pattern, url string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(url, prefix)
	}
	return url == pattern
}

// mainFrameID returns the frame ID of the tab's main frame: its target's ID.
func mainFrameID(t *Tab) cdp.FrameID { return cdp.FrameID(t.TargetID) }

// URL returns the URL of the tab's main frame, or "" before it navigated.
func (t *Tab) URL() string { return t.frameURL(mainFrameID(t)) }

// ChromeID returns the tab's ID in the extension APIs (tabs.Tab.id), for
// tabs.connect and tabs.sendMessage from Go. A page in no tab (a toolbar
// popup, an offscreen document, a side panel) has none, and says so. The
// harness asks its helper extension (chrome.debugger.getTargets, which maps
// DevTools targets to tab IDs without attaching).
func (t *Tab) ChromeID(ctx context.Context) (int, error) {
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	if t.b.ff != nil {
		return t.b.ff.tabID(ctx, t)
	}
	m, err := t.b.manager(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: reading its tab ID: %w", t, err)
	}
	id, err := EvalAs[int](ctx, m, `chrome.debugger.getTargets().then((targets) => {
		const t = targets.find((x) => x.id === `+jsString(string(t.TargetID))+`);
		return t === undefined ? -2 : (t.tabId ?? -1);
	})`)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s: reading its tab ID: %w", t, err)
	case id == -2:
		return 0, fmt.Errorf("%s: reading its tab ID: Chrome lists no such target (closed?)", t)
	case id < 0:
		return 0, fmt.Errorf("%s: reading its tab ID: the page %s is in no tab (a popup, an offscreen document or a side panel has none)", t, t.URL())
	}
	return id, nil
}

// WaitTab waits for an open tab whose main frame shows url (exactly, or a
// URL that starts with url's text before a final "*") and returns it: a tab
// or window that an extension or a web page opened, a popup, an offscreen
// document, a side panel. The tabs the harness opened count too.
func (b *Browser) WaitTab(ctx context.Context, url string) (*Tab, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	t, err := wake.Until(ctx, &b.changed, b.ended, func() (*Tab, bool, error) {
		b.mu.Lock()
		tabs := slices.Clone(b.tabs)
		b.mu.Unlock()
		for _, t := range tabs {
			if !t.internal.Load() && !t.Closed() && urlMatches(url, t.URL()) {
				return t, true, nil
			}
		}
		return nil, false, nil
	})
	switch {
	case err == nil:
		return t, nil
	case err == wake.ErrDone:
		return nil, &trace.WaitError{What: "a tab showing " + url, Cause: b.endCause(), Detail: b.describeTabs()}
	}
	return nil, &trace.WaitError{What: "a tab showing " + url, Cause: err, Detail: b.describeTabs(), Trace: b.Trace().WaitText()}
}

func (b *Browser) describeTabs() string {
	b.mu.Lock()
	tabs := slices.Clone(b.tabs)
	b.mu.Unlock()
	var s strings.Builder
	s.WriteString("tabs seen:")
	n := 0
	for _, t := range tabs {
		if t.internal.Load() {
			continue
		}
		state := "open"
		if t.Closed() {
			state = "closed"
		}
		fmt.Fprintf(&s, "\n  %s %q (%s)", t, t.URL(), state)
		n++
	}
	if n == 0 {
		s.WriteString(" none")
	}
	return s.String()
}

// Page waits for the extension's page at path (such as "popup.html") in the
// main frame of any tab and returns its realm: the toolbar popup, an
// offscreen document, the side panel, a tab or window the extension opened.
// The query and fragment of the page's URL are ignored. For the page in an
// iframe, use PageIn with InFrame.
func (e *Extension) Page(ctx context.Context, path string) (*Realm, error) {
	want := e.URL(path)
	return e.b.waitRealm(ctx, fmt.Sprintf("the page %s of %s in the main frame of a tab", path, e), func(r *Realm) bool {
		return r.Kind == trace.PageRealm && r.ExtensionID == e.ID && r.Tab != nil &&
			string(r.FrameID) == string(r.Tab.TargetID) && stripQuery(r.URL) == want
	})
}

// PageIn waits for an extension page of e in tab (its main frame, or the
// frame InFrame names) and returns its realm.
func (e *Extension) PageIn(ctx context.Context, tab *Tab, opts ...FrameOption) (*Realm, error) {
	f := frameFilter{frame: string(tab.TargetID)}
	for _, o := range opts {
		o(&f)
	}
	return e.b.waitRealm(ctx, fmt.Sprintf("a page of %s in %s frame %s", e, tab, f.frame), func(r *Realm) bool {
		return r.Kind == trace.PageRealm && r.ExtensionID == e.ID && r.Tab == tab && string(r.FrameID) == f.frame
	})
}

// Popup waits for the extension's toolbar popup (its manifest's
// action.default_popup), as ClickAction opens it, and returns its realm.
func (e *Extension) Popup(ctx context.Context) (*Realm, error) {
	var action struct {
		DefaultPopup string `json:"default_popup"`
	}
	if len(e.Manifest.Action) > 0 {
		json.Unmarshal(e.Manifest.Action, &action)
	}
	if action.DefaultPopup == "" {
		return nil, fmt.Errorf("the popup of %s: its manifest has no action.default_popup (for a popup set with action.setPopup, use Page with its path)", e)
	}
	return e.Page(ctx, action.DefaultPopup)
}

// SidePanel waits for the extension's side panel (its manifest's
// side_panel.default_path) and returns its realm. Chrome opens a side panel
// on a user gesture only: ClickAction when the extension set
// sidePanel.setPanelBehavior({openPanelOnActionClick: true}), or a click on
// the extension's own page (Tab.Click, Tab.ClickIn) that calls
// sidePanel.open. It opens in headless Chrome too.
func (e *Extension) SidePanel(ctx context.Context) (*Realm, error) {
	panel, _ := e.Manifest.Raw["side_panel"].(map[string]any)
	path, _ := panel["default_path"].(string)
	if path == "" {
		return nil, fmt.Errorf("the side panel of %s: its manifest has no side_panel.default_path (for a panel set with sidePanel.setOptions, use Page with its path)", e)
	}
	return e.Page(ctx, path)
}

// DevToolsPage waits for the extension's devtools_page (its manifest's
// devtools_page) in the DevTools of tab and returns its realm. DevTools opens
// only in a visible Chrome: launch with Options{DevTools: true}, which opens
// DevTools for every tab; on a machine without a display the harness starts
// a virtual one (Xvfb). The page runs in an iframe of the DevTools window,
// whose Tab is not tab.
func (e *Extension) DevToolsPage(ctx context.Context, tab *Tab) (*Realm, error) {
	path, _ := e.Manifest.Raw["devtools_page"].(string)
	if path == "" {
		return nil, fmt.Errorf("the devtools page of %s: its manifest has no devtools_page", e)
	}
	if !e.b.opts.DevTools {
		return nil, fmt.Errorf("the devtools page of %s: DevTools is not open; launch with Options{DevTools: true} (a visible Chrome)", e)
	}
	ctx, cancel := e.b.bound(ctx)
	defer cancel()
	tabID, err := tab.ChromeID(ctx)
	if err != nil {
		return nil, fmt.Errorf("the devtools page of %s for %s: %w", e, tab, err)
	}
	want := e.URL(path)
	inspects := map[*Realm]int{}
	r, err := wake.Until(ctx, &e.b.changed, e.b.ended, func() (*Realm, bool, error) {
		for _, r := range e.b.Realms() {
			if r.Kind != trace.PageRealm || r.ExtensionID != e.ID || stripQuery(r.URL) != want {
				continue
			}
			if _, asked := inspects[r]; !asked { // a round trip, with no lock held
				inspects[r], _ = EvalAs[int](ctx, r, "chrome.devtools.inspectedWindow.tabId")
			}
			if inspects[r] == tabID {
				return r, true, nil
			}
		}
		return nil, false, nil
	})
	switch {
	case err == nil:
		return r, nil
	case err == wake.ErrDone:
		return nil, fmt.Errorf("the devtools page %s of %s: %w", path, e, e.b.endCause())
	}
	return nil, &trace.WaitError{What: fmt.Sprintf("the devtools page %s of %s in the DevTools of %s", path, e, tab), Cause: err, Detail: e.b.describeRealms(), Trace: e.b.Trace().WaitText()}
}

// stripQuery returns url without its query and fragment.
func stripQuery(url string) string {
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		return url[:i]
	}
	return url
}

// Frame waits for a frame of the tab whose URL is url (or starts with url's
// text before a final "*") and returns it, for InFrame and ClickIn. Frames
// in other processes count.
func (t *Tab) Frame(ctx context.Context, url string) (Frame, error) {
	if err := t.notInFirefox("finding a frame"); err != nil {
		return Frame{}, err
	}
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	f, err := wake.Until(ctx, &t.b.changed, t.b.ended, func() (Frame, bool, error) {
		for _, f := range t.Frames() {
			if urlMatches(url, f.URL) {
				return f, true, nil
			}
		}
		select {
		case <-t.gone: // targetGone notifies after closing it
			return Frame{}, false, errTabClosed
		default:
			return Frame{}, false, nil
		}
	})
	switch {
	case err == nil:
		return f, nil
	case err == wake.ErrDone:
		return Frame{}, fmt.Errorf("%s: waiting for a frame showing %s: %w", t, url, t.b.endCause())
	case err == errTabClosed:
		return Frame{}, fmt.Errorf("%s: waiting for a frame showing %s: the tab closed", t, url)
	}
	return Frame{}, &trace.WaitError{What: fmt.Sprintf("a frame of %s showing %s", t, url), Cause: err, Detail: t.describeFrames(), Trace: t.b.Trace().WaitText()}
}

// errTabClosed ends Tab.Frame's wait when the tab closes.
var errTabClosed = errors.New("the tab closed")

func (t *Tab) describeFrames() string {
	var s strings.Builder
	s.WriteString("frames seen:")
	frames := t.Frames()
	for _, f := range frames {
		fmt.Fprintf(&s, "\n  %s %q", f.ID, f.URL)
	}
	if len(frames) == 0 {
		s.WriteString(" none")
	}
	return s.String()
}

// ClickIn clicks the first element that matches the CSS selector in one
// frame of the tab (any process), as a user would: once the frame's document
// has loaded (its own load listeners ran), and with a user gesture, so APIs
// that need one (sidePanel.open, permissions.request) accept it. An element
// that does not exist fails at once. A click that closes its page (a popup
// that opens a tab) has run: it returns nil.
func (t *Tab) ClickIn(ctx context.Context, frame Frame, selector string) error {
	if err := t.notInFirefox("clicking in a frame"); err != nil {
		return err
	}
	ctx, cancel := t.b.bound(ctx)
	defer cancel()
	s, desc := t.mainWorld(frame.ID)
	if desc == nil {
		return fmt.Errorf("%s: clicking %q in frame %s: the frame has no document (%s)", t, selector, frame.URL, t.describeFrames())
	}
	loaded, err := callOn(ctx, s.sess, runtime.Evaluate, runtime.EvaluateParams{
		Expression: `document.readyState === "complete" ||
			new Promise((resolve) => addEventListener("load", () => setTimeout(resolve), {once: true}))`,
		UniqueContextID: desc.UniqueID,
		AwaitPromise:    new(true),
	})
	if err == nil && loaded.ExceptionDetails != nil {
		err = errors.New(exceptionText(loaded.ExceptionDetails))
	}
	if err != nil {
		return fmt.Errorf("%s: clicking %q in frame %s: waiting for the document to load: %w", t, selector, frame.URL, t.callErr(ctx, err))
	}
	// The gesture holds for the synchronous part of an evaluation only: the
	// click runs in one.
	res, err := callOn(ctx, s.sess, runtime.Evaluate, runtime.EvaluateParams{
		Expression:      "(() => { const el = document.querySelector(" + jsString(selector) + "); if (!el) return false; el.click(); return true; })()",
		UniqueContextID: desc.UniqueID,
		UserGesture:     new(true),
		ReturnByValue:   new(true),
	})
	if errors.Is(err, cdppipe.ErrSessionDetached) {
		return nil // the click closed the page before Chrome answered
	}
	if err != nil {
		return fmt.Errorf("%s: clicking %q in frame %s: %w", t, selector, frame.URL, t.callErr(ctx, err))
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("%s: clicking %q in frame %s: %s", t, selector, frame.URL, exceptionText(res.ExceptionDetails))
	}
	if res.Result == nil || string(res.Result.Value) != "true" {
		return fmt.Errorf("%s: clicking %q in frame %s: no element matches", t, selector, frame.URL)
	}
	return nil
}

// mainWorld returns the session and the main-world context of a frame of the
// tab, or nil.
func (t *Tab) mainWorld(frameID string) (*frameSession, *runtime.ExecutionContextDescription) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.sessions {
		for _, d := range s.contexts {
			var aux auxData
			if json.Unmarshal(d.AuxData, &aux) == nil && aux.IsDefault && string(aux.FrameID) == frameID {
				return s, d
			}
		}
	}
	return nil, nil
}
