package harness

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Chrome dying in the middle of a run (killed, out of memory) must give
// every later call a clear error at once, not a wait until the deadline.
func TestChromeDyingGivesAClearError(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	ctx := context.Background()
	b, cs := launchMDN(t, Options{Logf: t.Logf, Timeout: 20 * time.Second})
	defer b.Close()
	tab := cs.Tab
	if err := b.chromeProcess().Kill(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Realm.Eval":    func() error { _, err := cs.Eval(ctx, "1"); return err },
		"Tab.Navigate":  func() error { return tab.Navigate(ctx, b.Pages().URL("/next")) },
		"OpenTab":       func() error { _, err := b.OpenTab(ctx, ""); return err },
		"LoadExtension": func() error { _, err := b.LoadExtension(ctx, "../fixtures/extensions/mdn-example"); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		took := time.Since(start)
		if err == nil {
			t.Errorf("%s after Chrome died: no error", name)
			continue
		}
		t.Logf("%s: %v (%v)", name, err, took)
		if !strings.Contains(err.Error(), "browser process exited") {
			t.Errorf("%s after Chrome died: %v; want an error that says the browser exited", name, err)
		}
		if took > 5*time.Second {
			t.Errorf("%s after Chrome died took %v (the deadline is 20 s): it should fail at once", name, took)
		}
	}
}
