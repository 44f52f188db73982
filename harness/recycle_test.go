package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/portprobe/portprobe/internal/wake"
)

// A recycled tab goes back to the pool at about:blank, and the next OpenTab
// takes it and returns once the page it asked for has committed, round after
// round: the path of every spec of a suite. A wait of the navigation that
// ended on late events of the page before would return before the page
// committed (as it did in a trial of recycling by location.replace).
func TestRecycleThenOpenTab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	ctx := t.Context()
	b.Pages().Handle("/plain", `<!doctype html><title>plain</title>`)
	mainURL := func(tab *Tab) string {
		tab.mu.Lock()
		defer tab.mu.Unlock()
		return tab.frames[cdp.FrameID(tab.TargetID)]
	}
	want := b.Pages().URL("/plain")
	var last *Tab
	for round := range 10 {
		tab, err := b.OpenTab(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if last != nil && tab != last {
			t.Errorf("round %d: OpenTab opened %s, not the recycled %s", round, tab, last)
		}
		if url := mainURL(tab); url != want {
			t.Errorf("round %d: OpenTab returned with the main frame at %q, want %s", round, url, want)
		}
		if title, err := tab.Eval(ctx, "document.title"); err != nil || !strings.Contains(string(title), "plain") {
			t.Errorf("round %d: the page's title: %s, %v", round, title, err)
		}
		if err := tab.Recycle(ctx); err != nil {
			t.Fatal(err)
		}
		if url := mainURL(tab); url != "about:blank" {
			t.Errorf("round %d: after Recycle the main frame is at %q, want about:blank", round, url)
		}
		last = tab
	}
}

// The pages the harness makes for itself never show in Tabs, not even while
// Chrome is attaching them: the tab Launch opens ahead (until the pool takes
// it) and the control page. probetest's cleaning closes every tab of Tabs
// that a test left; it closed both while they were being made, and every
// later uninstall then waited 30 s for a ServiceWorker domain that was gone.
func TestTabsHideThePagesTheHarnessMakes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	// Every page Chrome attaches notifies b.changed (claim): Tabs is
	// checked at each, until the control page is up, and once more then.
	e, err := b.LoadExtension(ctx, benchExtension(t, "tabs"))
	if err != nil {
		t.Fatal(err)
	}
	listed := func() error {
		if tabs := b.Tabs(); len(tabs) > 0 {
			return fmt.Errorf("Tabs lists %v before any OpenTab", tabs)
		}
		return nil
	}
	_, err = wake.Until(ctx, &b.changed, b.control, func() (struct{}, bool, error) {
		return struct{}{}, false, listed()
	})
	if !errors.Is(err, wake.ErrDone) {
		t.Fatal(err)
	}
	if err := listed(); err != nil {
		t.Fatal(err)
	}
	if b.controlErr != nil {
		t.Fatal(b.controlErr)
	}
	if _, err := e.Worker(ctx); err != nil {
		t.Fatal(err)
	}
	tab, err := b.OpenTab(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if tabs := b.Tabs(); len(tabs) != 1 || tabs[0] != tab {
		t.Errorf("after one OpenTab, Tabs = %v, want [%s]", tabs, tab)
	}
	if err := e.Uninstall(ctx); err != nil {
		t.Fatal(err)
	}
}

// Once the control page is gone, what waits on the ServiceWorker domain
// fails at once and says so, rather than wait out its deadline for reports
// that cannot come.
func TestControlPageGone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	e, err := b.LoadExtension(ctx, benchExtension(t, "gone"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Worker(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.serviceWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	id := chromedp.FromContext(b.controlCtx).Target.TargetID
	if _, err := callBrowser(ctx, b, target.CloseTarget, target.CloseTargetParams{TargetID: id}); err != nil {
		t.Fatal(err)
	}
	<-b.sw.gone
	if err := e.Uninstall(ctx); !errors.Is(err, errControlGone) {
		t.Errorf("Uninstall after the control page closed: %v, want %v", err, errControlGone)
	}
	if _, err := e.WaitWorkerStatus(ctx, WorkerStopped); !errors.Is(err, errControlGone) {
		t.Errorf("WaitWorkerStatus after the control page closed: %v, want %v", err, errControlGone)
	}
}

// Recycle empties a tab whatever its page does against it: a page that
// cancels its own navigations, breaks addEventListener or navigates again on
// pagehide still ends at about:blank, and the tab goes back to the pool.
func TestRecycleAHostilePage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	pages := map[string]string{
		"/cancels":  `<script>navigation.addEventListener("navigate", (e) => e.preventDefault());</script>`,
		"/breaks":   `<script>EventTarget.prototype.addEventListener = () => {};</script>`,
		"/throws":   `<script>EventTarget.prototype.addEventListener = () => { throw new Error("no"); };</script>`,
		"/unloads":  `<script>addEventListener("pagehide", () => { location.href = "/cancels"; });</script>`,
		"/ordinary": `<p>ordinary</p>`,
	}
	for path, html := range pages {
		b.Pages().Handle(path, html)
	}
	for path := range pages {
		tab, err := b.OpenTab(ctx, b.Pages().URL(path))
		if err != nil {
			t.Fatal(err)
		}
		if err := tab.Recycle(ctx); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		tab.mu.Lock()
		url := tab.frames[cdp.FrameID(tab.TargetID)]
		tab.mu.Unlock()
		if url != "about:blank" {
			t.Errorf("%s: after Recycle the main frame is at %q, want about:blank", path, url)
		}
		if got, err := tab.Eval(ctx, "location.href"); err != nil || string(got) != `"about:blank"` {
			t.Errorf("%s: after Recycle the page says it is at %s (%v)", path, got, err)
		}
	}
}
