package harness

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/serviceworker"
)

func TestWorkerHistoryKeepsOnlyChanges(t *testing.T) {
	s := &swState{last: map[string]WorkerStatus{}, history: map[string][]WorkerChange{}}
	t0 := time.Unix(100, 0)
	report := func(version string, status serviceworker.VersionRunningStatus, script string, sec int) {
		s.recordWorkerStatus(&serviceworker.Version{VersionID: version, RunningStatus: status, ScriptURL: script}, t0.Add(time.Duration(sec)*time.Second))
	}
	const ext = "chrome-extension://abcdefghijklmnopabcdefghijklmnop/worker.js"
	report("1", serviceworker.VersionRunningStatusStopped, ext, 0)
	report("1", serviceworker.VersionRunningStatusStarting, ext, 1)
	report("1", serviceworker.VersionRunningStatusRunning, ext, 2)
	report("1", serviceworker.VersionRunningStatusRunning, ext, 3) // another field changed
	report("1", serviceworker.VersionRunningStatusStopping, ext, 32)
	report("1", serviceworker.VersionRunningStatusStopped, ext, 32)
	report("2", serviceworker.VersionRunningStatusStarting, ext, 40) // a reload's new version
	report("9", serviceworker.VersionRunningStatusRunning, "https://example.com/sw.js", 5)

	got := s.history["abcdefghijklmnopabcdefghijklmnop"]
	want := []WorkerStatus{WorkerStopped, WorkerStarting, WorkerRunning, WorkerStopping, WorkerStopped, WorkerStarting}
	if len(got) != len(want) {
		t.Fatalf("history = %v, want statuses %v", got, want)
	}
	for i, c := range got {
		if c.Status != want[i] {
			t.Errorf("change %d = %v, want %s", i, c, want[i])
		}
	}
	if got[2].At != t0.Add(2*time.Second) {
		t.Errorf("running at %v, want the first report's time %v", got[2].At, t0.Add(2*time.Second))
	}
	if got[5].Version != "2" {
		t.Errorf("last change from version %q, want 2", got[5].Version)
	}
	if len(s.history) != 1 {
		t.Errorf("history has %d extensions, want only the extension's (a web page's worker is not one): %v", len(s.history), s.history)
	}
}
