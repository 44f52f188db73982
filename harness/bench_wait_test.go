package harness

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/portprobe/portprobe/trace"
)

// waitBenchExtension writes an extension whose page.html has bench(n): it
// posts n messages on a "bench" port to the worker, which counts them and
// answers {done: n} at "end" (the shape of benchExtension's).
func waitBenchExtension(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{
		"manifest.json": `{"manifest_version": 3, "name": "bench-wait", "version": "1.0",
  "background": {"service_worker": "worker.js"}}`,
		"worker.js": `chrome.runtime.onConnect.addListener((port) => {
  let n = 0;
  port.onMessage.addListener((m) => {
    if (m === "end") { port.postMessage({ done: n }); return; }
    n++;
  });
});
`,
		"page.html": `<!doctype html><title>bench</title><script src="page.js"></script>`,
		"page.js": `globalThis.bench = (n) => new Promise((resolve) => {
  const port = chrome.runtime.connect({ name: "bench" });
  port.onMessage.addListener((m) => { if (m.done === n) { resolve(n); port.disconnect(); } });
  for (let i = 0; i < n; i++) port.postMessage({ i, text: "message " + i });
  port.postMessage("end");
});
`,
	}
	writeFiles(tb, dir, files)
	return dir
}

// BenchmarkWaitPending: 100k messages through one port, from the page's
// first post until the trace has the worker's answer to the last, with no
// Wait, with a Wait for that answer pending all along ("end"), and with a
// Wait for an event that never comes ("never"). Each batch of the probes
// wakes a pending Wait; with the trace's Finder it looks only at the batch,
// so ns/msg should not depend on it (the target: within 1.2×). It also
// reports the Go heap the trace holds per event.
func BenchmarkWaitPending(b *testing.B) {
	const n = 100_000
	for _, wait := range []string{"none", "end", "never"} {
		b.Run(wait, func(b *testing.B) {
			br := benchLaunch(b, Options{Timeout: 10 * time.Minute})
			ctx := context.Background()
			ext, err := br.LoadExtension(ctx, waitBenchExtension(b))
			if err != nil {
				b.Fatal(err)
			}
			tab, err := br.OpenTab(ctx, ext.URL("page.html"))
			if err != nil {
				b.Fatal(err)
			}
			// A warm-up run starts the worker and compiles the code.
			if _, err := tab.Eval(ctx, "bench(1000)"); err != nil {
				b.Fatal(err)
			}
			end := trace.Message().Where("answers bench(n)", func(e trace.Event) bool { return strings.Contains(string(e.Message), fmt.Sprintf(`"done":%d`, n)) })
			var heapPerEvent, goCPU float64
			for b.Loop() {
				b.StopTimer()
				tr := br.ResetTrace(nil)
				arrived := make(chan struct{}, 1)
				stop := tr.Watch(func(e trace.Event) {
					if e.Kind == trace.KindMessage && e.Realm != nil && e.Realm.Describe().Kind == trace.PageRealm && end.Match(e) {
						arrived <- struct{}{}
					}
				})
				wctx, cancel := context.WithCancel(ctx)
				waited := make(chan error, 1)
				switch wait {
				case "end":
					go func() { _, err := tr.Wait(wctx, end); waited <- err }()
				case "never":
					go func() { _, err := tr.Wait(wctx, trace.Exception().Named("never")); waited <- err }()
				}
				cpu0 := goCPUSeconds()
				b.StartTimer()
				if _, err := tab.Eval(ctx, fmt.Sprintf("bench(%d)", n)); err != nil {
					b.Fatal(err)
				}
				select {
				case <-arrived:
				case <-time.After(5 * time.Minute):
					b.Fatalf("the worker's answer to bench(%d) reached no trace in 5 min", n)
				}
				err := <-waitedOrNil(wait == "end", waited)
				b.StopTimer()
				goCPU += goCPUSeconds() - cpu0
				if err != nil {
					b.Fatal(err)
				}
				stop()
				cancel()
				if wait == "never" {
					if err := <-waited; !errors.Is(err, context.Canceled) {
						b.Fatalf("the Wait for nothing ended with %v, want context.Canceled", err)
					}
				}
				// The heap the trace holds, per event: with it, and after
				// the next reset.
				var with, without runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&with)
				events := tr.Len()
				br.ResetTrace(nil)
				runtime.KeepAlive(tr)
				tr = nil
				runtime.GC()
				runtime.ReadMemStats(&without)
				heapPerEvent = float64(int64(with.HeapAlloc)-int64(without.HeapAlloc)) / float64(events)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
			b.ReportMetric(heapPerEvent, "heap-B/event")
			b.ReportMetric(goCPU*1e9/float64(b.N*n), "go-cpu-ns/msg")
		})
	}
}

// goCPUSeconds is the CPU time this process's Go code has used so far
// (the runtime's estimate, GC included): the harness's share of a flood,
// which Chrome's share and the machine's load do not blur.
func goCPUSeconds() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/idle:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64() - s[1].Value.Float64()
}

// waitedOrNil returns waited when the benchmark waits for it in the timed
// part, and a channel with nil otherwise.
func waitedOrNil(timed bool, waited chan error) <-chan error {
	if timed {
		return waited
	}
	none := make(chan error, 1)
	none <- nil
	return none
}

// TestTraceLimitsOption: Options.TraceLimits makes the browser's traces,
// and a bad one fails Launch at once.
func TestTraceLimitsOption(t *testing.T) {
	_, err := Launch(context.Background(), Options{TraceLimits: trace.Limits{MaxEvents: -1}})
	if err == nil || !strings.Contains(err.Error(), "Options.TraceLimits") {
		t.Fatalf("Launch with MaxEvents -1: err %v, want one naming Options.TraceLimits", err)
	}
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	limits := trace.Limits{MaxEvents: 4, MaxMessage: 64}
	opts := Options{TraceLimits: limits, Extensions: []string{waitBenchExtension(t)}, Logf: func(string, ...any) {}}
	br, err := Launch(context.Background(), withTestChrome(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	if got := br.Trace().Limits(); got != limits {
		t.Errorf("Trace().Limits() = %+v, want %+v", got, limits)
	}
	ctx := context.Background()
	tab, err := br.OpenTab(ctx, br.Extensions()[0].URL("page.html"))
	if err != nil {
		t.Fatal(err)
	}
	tr := br.ResetTrace(nil)
	if got := tr.Limits(); got != limits {
		t.Errorf("ResetTrace's Limits() = %+v, want %+v", got, limits)
	}
	// 20 posts and their messages, then the answer: the trace keeps 4 (a
	// pending Wait sees the dropped ones: package trace tests that).
	if _, err := tab.Eval(ctx, "bench(20)"); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Wait(ctx, trace.OnDisconnect()); err != nil {
		t.Fatal(err)
	}
	if n, d := tr.Len(), tr.Dropped(); n != 4 || d < 40 {
		t.Errorf("the trace keeps %d events and dropped %d; want 4, and the 40 or more before them", n, d)
	}
}
