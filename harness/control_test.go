package harness

import (
	"context"
	"encoding/json"
	"testing"
	"time"
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
	if got := tabs(); len(got) != len(b.Tabs()) {
		t.Fatalf("before the control page, the extension sees tabs %q; the test opened %d", got, len(b.Tabs()))
	}
	// WaitWorkerStatus needs the ServiceWorker domain: the control page opens.
	if _, err := ext.WaitWorkerStatus(ctx, WorkerRunning); err != nil {
		t.Fatal(err)
	}
	if got := tabs(); len(got) != len(b.Tabs()) {
		t.Errorf("with the control page open, the extension sees tabs %q; the test opened %d", got, len(b.Tabs()))
	}
}
