package harness

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
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
