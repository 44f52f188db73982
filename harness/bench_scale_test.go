package harness

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portprobe/portprobe/trace"
)

// The growth benchmarks: what one more port, or one more tab, costs as their
// number grows. Each sub-benchmark reports ns/op and B/op (the whole
// process's Go allocations, the harness's decoding and the trace included)
// and the cost per item (ns/port, ns/tab), which stays flat while the cost
// grows linearly. docs/benchmarks.md has the curves:
//
//	go test -run '^$' -bench 'Ports|Tabs' -count 3 ./harness

// scaleDeadline bounds one round of a growth benchmark: 1000 ports or 50
// tabs take a few seconds on two busy cores, and a round that hangs fails
// with what it waited for instead of hanging the run.
const scaleDeadline = 2 * time.Minute

// scaleExtension writes the extension of the growth benchmarks: a worker
// that echoes every message on every port and listens for each port's
// disconnect; a content script on the page server that connects one port,
// posts one message and listens for the echo; and page.html, whose
// openPorts(n, round) connects n ports at once, posts one message on each,
// waits for every echo and then disconnects them all.
func scaleExtension(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	writeFiles(tb, dir, map[string]string{
		"manifest.json": `{"manifest_version": 3, "name": "bench-scale", "version": "1.0",
  "background": {"service_worker": "worker.js"},
  "content_scripts": [{"matches": ["http://127.0.0.1/*"], "js": ["cs.js"]}]}`,
		"worker.js": `chrome.runtime.onConnect.addListener((port) => {
  port.onMessage.addListener((m) => port.postMessage({ echo: m }));
  port.onDisconnect.addListener(() => {});
});
`,
		"cs.js": `const port = chrome.runtime.connect({ name: "tab" });
port.onMessage.addListener(() => {});
port.postMessage({ hello: location.pathname });
`,
		"page.html": `<!doctype html><title>scale</title><script src="page.js"></script>`,
		"page.js": `globalThis.openPorts = (n, round) => new Promise((resolve) => {
  const ports = [];
  let echoes = 0;
  for (let i = 0; i < n; i++) {
    const port = chrome.runtime.connect({ name: "scale" });
    port.onMessage.addListener(() => {
      if (++echoes < n) return;
      for (const p of ports) p.disconnect();
      resolve(echoes);
    });
    ports.push(port);
  }
  ports.forEach((port, i) => port.postMessage({ round, i }));
});
`,
	})
	return dir
}

// scaleSetUp launches a browser with the scale extension loaded, and returns
// it, the extension and its probed worker.
func scaleSetUp(ctx context.Context, b *testing.B) (*Browser, *Extension, *Realm) {
	b.Helper()
	br := benchLaunch(b, Options{})
	ext, err := br.LoadExtension(ctx, scaleExtension(b))
	if err != nil {
		b.Fatal(err)
	}
	worker, err := ext.Worker(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return br, ext, worker
}

// BenchmarkPorts: an extension page opens N ports to the worker at once,
// posts one message on each, gets each echo and disconnects them all; an op
// ends when the trace has all of it (the page's N echoes and the worker's N
// onDisconnect events; 8 events a port). The trace starts empty each op.
func BenchmarkPorts(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("ports=%d", n), func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), scaleDeadline)
			defer cancel()
			br, ext, worker := scaleSetUp(ctx, b)
			tab, err := br.OpenTab(ctx, ext.URL("page.html"))
			if err != nil {
				b.Fatal(err)
			}
			page, err := ext.Page(ctx, "page.html")
			if err != nil {
				b.Fatal(err)
			}
			// A first round starts the worker's code paths and the page's;
			// its events are all in before the first timed round.
			warm, stop := waitPortEvents(br.Trace(), page, worker, 1)
			if _, err := tab.Eval(ctx, "openPorts(1, -1)"); err != nil {
				b.Fatal(err)
			}
			select {
			case <-warm:
			case <-ctx.Done():
				b.Fatalf("the warm-up round's events never reached the trace:\n%s", br.Trace())
			}
			stop()
			b.ReportAllocs()
			var elapsed time.Duration
			round := 0
			for b.Loop() {
				b.StopTimer()
				tr := br.ResetTrace(nil)
				all, stop := waitPortEvents(tr, page, worker, n)
				round++
				b.StartTimer()
				start := time.Now()
				if _, err := tab.Eval(ctx, fmt.Sprintf("openPorts(%d, %d)", n, round)); err != nil {
					b.Fatal(err)
				}
				select {
				case <-all:
				case <-ctx.Done():
					b.Fatalf("round %d: want %d echoes in %s and %d onDisconnect in %s in the trace; it has %d events:\n%s",
						round, n, page, n, worker, tr.Len(), tr)
				}
				elapsed += time.Since(start)
				b.StopTimer()
				stop()
				// Each port's whole life is in the trace, and only once.
				for _, q := range []*trace.Query{
					trace.Connect().In(page).Named("scale"), trace.OnConnect().In(worker).Named("scale"),
					trace.Post().In(page), trace.Message().In(worker),
					trace.Post().In(worker), trace.Message().In(page),
					trace.Disconnect().In(page), trace.OnDisconnect().In(worker),
				} {
					if got := tr.Count(q); got != n {
						b.Fatalf("round %d: the trace has %d events %s, want %d:\n%s", round, got, q, n, tr)
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(round*n), "ns/port")
		})
	}
}

// waitPortEvents returns a channel closed once tr has the last events of
// n ports, in page n messages and n disconnects, in worker n onDisconnect
// events (a realm's events come in its order, so the others are in), and
// the function that stops watching.
func waitPortEvents(tr *trace.Trace, page, worker *Realm, n int) (<-chan struct{}, func()) {
	all := make(chan struct{})
	var once sync.Once
	messages, disconnects, onDisconnects := 0, 0, 0
	stop := tr.Watch(func(e trace.Event) {
		switch {
		case e.Kind == trace.KindMessage && e.Realm == page:
			messages++
		case e.Kind == trace.KindDisconnect && e.Realm == page:
			disconnects++
		case e.Kind == trace.KindOnDisconnect && e.Realm == worker:
			onDisconnects++
		}
		if messages >= n && disconnects >= n && onDisconnects >= n {
			once.Do(func() { close(all) })
		}
	})
	return all, stop
}

// BenchmarkTabs: N tabs open one after another on the page server, and stay
// open together; in each, the extension's content script connects a port to
// the worker and posts a message, and the worker echoes. An op ends when
// every content script is probed and its echo is in the trace. Closing the
// tabs is not timed.
func BenchmarkTabs(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("tabs=%d", n), func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), scaleDeadline)
			defer cancel()
			br, ext, _ := scaleSetUp(ctx, b)
			b.ReportAllocs()
			var elapsed time.Duration
			round := 0
			for b.Loop() {
				b.StopTimer()
				tr := br.ResetTrace(nil)
				round++
				b.StartTimer()
				start := time.Now()
				tabs := make([]*Tab, 0, n)
				for i := range n {
					tab, err := br.OpenTab(ctx, br.Pages().URL(fmt.Sprintf("/tab-%d-%d", round, i)))
					if err != nil {
						b.Fatal(err)
					}
					tabs = append(tabs, tab)
				}
				for _, tab := range tabs {
					cs, err := ext.ContentScript(ctx, tab)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := tr.Wait(ctx, trace.Message().In(cs).Named("tab")); err != nil {
						b.Fatal(err)
					}
				}
				elapsed += time.Since(start)
				b.StopTimer()
				if got := tr.Count(trace.OnConnect().Named("tab")); got != n {
					b.Fatalf("round %d: the worker saw %d connections from the tabs, want %d:\n%s", round, got, n, tr)
				}
				for _, tab := range tabs {
					if err := tab.Close(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(round*n), "ns/tab")
		})
	}
}
