package harness

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/portprobe/portprobe/trace"
)

// AllowUserScripts turns the extension's "Allow User Scripts" toggle on (or
// off), as a user does on chrome://extensions. Chrome 156 offers
// chrome.userScripts to an extension with the "userScripts" permission only
// when the toggle is on: developer mode no longer counts, and no flag or
// CDP command sets it. The harness opens chrome://extensions in a hidden page
// of its own and calls chrome.developerPrivate there, as the page's toggle
// does, then waits until the extension's running worker sees the change.
// Documents loaded afterwards get the user scripts; a running worker keeps a
// chrome.userScripts whose methods throw once the toggle is off.
func (e *Extension) AllowUserScripts(ctx context.Context, allow bool) error {
	ctx, cancel := e.b.bound(ctx)
	defer cancel()
	doing := fmt.Sprintf("setting Allow User Scripts of %s to %v", e, allow)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", doing, context.Cause(ctx))
	}
	if err := e.b.lost(); err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	res, err := e.b.makeInternalPage(ctx, "chrome://extensions")
	if err != nil {
		return fmt.Errorf("%s: opening chrome://extensions: %w", doing, err)
	}
	pctx, pcancel := chromedp.NewContext(e.b.ctx, chromedp.WithTargetID(res.TargetID))
	defer func() {
		// Closing the page also ends the session.
		cctx, ccancel := context.WithTimeout(context.Background(), e.b.opts.Timeout)
		defer ccancel()
		callBrowser(cctx, e.b, target.CloseTarget, target.CloseTargetParams{TargetID: res.TargetID})
		pcancel()
	}()
	if err := runBounded(ctx, e.b.opts.Timeout, pcancel, func() error { return chromedp.Do(pctx) }); err != nil {
		return fmt.Errorf("%s: attaching chrome://extensions: %w", doing, err)
	}
	// The page's bindings come with its document: wait for its load, then
	// call what the toggle calls.
	if _, err := callIn(ctx, pctx, runtime.Evaluate, runtime.EvaluateParams{
		Expression:   `document.readyState === "complete" || new Promise((resolve) => addEventListener("load", () => resolve(true), {once: true}))`,
		AwaitPromise: new(true), ReturnByValue: new(true),
	}); err != nil {
		return fmt.Errorf("%s: waiting for chrome://extensions to load: %w", doing, err)
	}
	expr := fmt.Sprintf(`(async () => {
  if (typeof chrome === "undefined" || !chrome.developerPrivate) return "chrome://extensions has no chrome.developerPrivate";
  await chrome.developerPrivate.updateExtensionConfiguration({extensionId: %s, userScriptsAccess: %v});
  const info = await chrome.developerPrivate.getExtensionInfo(%s);
  return info.userScriptsAccess && info.userScriptsAccess.isActive === %v ? "done" : "not applied: " + JSON.stringify(info.userScriptsAccess);
})()`, jsString(e.ID), allow, jsString(e.ID), allow)
	r, err := callIn(ctx, pctx, runtime.Evaluate, runtime.EvaluateParams{Expression: expr, AwaitPromise: new(true), ReturnByValue: new(true)})
	if err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("%s: chrome://extensions said: %s", doing, exceptionText(r.ExceptionDetails))
	}
	if r.Result == nil || string(r.Result.Value) != `"done"` {
		var got string
		if r.Result != nil {
			got = string(r.Result.Value)
		}
		return fmt.Errorf("%s: %s", doing, got)
	}
	return e.waitUserScriptsIn(ctx, allow, doing)
}

// waitUserScriptsIn waits until the extension's running worker, if it has
// one, agrees: the browser tells the extension's processes a moment after
// chrome://extensions reports the change. Each try waits for the answer of
// the one before.
func (e *Extension) waitUserScriptsIn(ctx context.Context, allow bool, doing string) error {
	var w *Realm
	for _, r := range e.b.Realms() {
		if r.Kind == trace.WorkerRealm && r.ExtensionID == e.ID && !r.Gone() {
			w = r
		}
	}
	if w == nil {
		return nil // a worker that starts later sees the new setting
	}
	want := "false"
	if allow {
		want = "true"
	}
	for {
		v, err := w.Eval(ctx, `(async () => { try { await chrome.userScripts.getScripts(); return true; } catch (e) { return false; } })()`)
		if err != nil {
			if w.Gone() {
				return nil
			}
			return fmt.Errorf("%s: waiting for %s to see it: %w", doing, w, err)
		}
		if string(v) == want {
			return nil
		}
	}
}
