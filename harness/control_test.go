package harness

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/portprobe/portprobe/trace"
)

// TestExtensionsSeeOnlyTheTestsTabs checks that the harness's own control
// page, which carries the ServiceWorker domain, is invisible to the
// extension under test: chrome.tabs.query lists the tabs the test opened and
// nothing else, before and after the control page opens.
func TestExtensionsSeeOnlyTheTestsTabs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b, _ := launchMDN(t, Options{Logf: t.Logf})
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ext, _ := b.Extension("mdn-example")
	worker, err := ext.Worker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tabs := func() []string {
		t.Helper()
		raw, err := worker.Eval(ctx, "chrome.tabs.query({}).then((tabs) => tabs.map((t) => t.url || t.pendingUrl || '(no url)'))")
		if err != nil {
			t.Fatal(err)
		}
		var urls []string
		if err := json.Unmarshal(raw, &urls); err != nil {
			t.Fatalf("tabs.query gave %s: %v", raw, err)
		}
		return urls
	}
	before := tabs()
	// A visible Chrome keeps the window it starts with, and its blank tab.
	if !b.opts.Headful && len(before) != len(b.Tabs()) {
		t.Fatalf("before the control page, the extension sees tabs %q; the test opened %d", before, len(b.Tabs()))
	}
	// WaitWorkerStatus needs the ServiceWorker domain: the control page opens.
	if _, err := ext.WaitWorkerStatus(ctx, WorkerRunning); err != nil {
		t.Fatal(err)
	}
	if got := tabs(); len(got) != len(before) {
		t.Errorf("with the control page open, the extension sees tabs %q; before it, %q", got, before)
	}
}

// TestControlPageAndTabsOpenTogether opens the control page while tabs open.
// The control page comes with a tab target of its own, and a tab that took
// it for its own clicked the action in the hidden page, which crashed Chrome
// 156; each tab must get its own tab target, and each click must reach the
// worker.
func TestControlPageAndTabsOpenTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Launch(ctx, withTestChrome(t, Options{Logf: t.Logf, Extensions: []string{"../fixtures/extensions/mdn-example"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ext, _ := b.Extension("mdn-example")
	worker, err := ext.Worker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	control := make(chan error, 1)
	go func() {
		_, err := ext.WaitWorkerStatus(ctx, WorkerRunning)
		control <- err
	}()
	var tabs []*Tab
	seen := map[string]bool{}
	for range 4 {
		tab, err := b.OpenTab(ctx, b.Pages().URL("/"))
		if err != nil {
			t.Fatal(err)
		}
		if tab.tabTargetID == "" || seen[string(tab.tabTargetID)] {
			t.Fatalf("%s has tab target %q; tabs so far: %v", tab, tab.tabTargetID, seen)
		}
		seen[string(tab.tabTargetID)] = true
		tabs = append(tabs, tab)
	}
	if err := <-control; err != nil {
		t.Fatal(err)
	}
	clicks := map[time.Time]bool{} // the worker's posts seen so far
	for i, tab := range tabs {
		if _, err := ext.ContentScript(ctx, tab); err != nil {
			t.Fatal(err)
		}
		if err := ext.ClickAction(ctx, tab); err != nil {
			t.Fatal(err)
		}
		q := trace.Post().In(worker).WithField("greeting", "they clicked the button!").
			Where("not seen before", func(e trace.Event) bool { return !clicks[e.At] })
		e, err := b.Trace().Wait(ctx, q)
		if err != nil {
			t.Fatalf("click %d in %s: %v", i+1, tab, err)
		}
		clicks[e.At] = true
	}
}
