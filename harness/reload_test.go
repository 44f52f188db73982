package harness

import (
	"context"
	"testing"
)

// Loading the same folder (so the same ID) right after uninstalling it once
// left the new worker unprobed: Chrome aborted its start while the old one
// was still stopping. LoadExtension now waits for the old worker to stop.
func TestLoadAgainRightAfterUninstall(t *testing.T) {
	b := benchLaunch(t, Options{})
	dir := benchExtension(t, "again")
	ctx := context.Background()
	for round := range 4 {
		e, err := b.LoadExtension(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Worker(ctx); err != nil {
			t.Fatalf("round %d: %v\nworker status: %v", round, err, e.WorkerHistory())
		}
		if err := e.Uninstall(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
