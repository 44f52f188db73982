package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portprobe/portprobe/trace"
)

// The benchmarks start Chrome; go test -bench=. -run=^$ ./harness runs them.
// scripts/bench.sh runs them with the side-by-side comparison to Puppeteer.

// benchExtension writes an extension for the benchmarks into a new folder:
// a worker that echoes each message, and counts the messages of a "bench"
// port until "end"; a content script on the page server; and page.html,
// whose bench(n) posts n messages to the worker and resolves with the
// milliseconds until the worker's "done".
func benchExtension(tb testing.TB, name string) string {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{
		"manifest.json": fmt.Sprintf(`{"manifest_version": 3, "name": %q, "version": "1.0",
  "background": {"service_worker": "worker.js"},
  "content_scripts": [{"matches": ["http://127.0.0.1/*"], "js": ["cs.js"]}]}`, name),
		"worker.js": `chrome.runtime.onConnect.addListener((port) => {
  let n = 0;
  port.onMessage.addListener((m) => {
    if (port.name !== "bench") { port.postMessage({ echo: m }); return; }
    if (m === "end") { port.postMessage({ done: n }); return; }
    n++;
  });
});
`,
		"cs.js":     "void 'content script';\n",
		"page.html": `<!doctype html><title>bench</title><script src="page.js"></script>`,
		"page.js": `globalThis.bench = (n) => new Promise((resolve) => {
  const port = chrome.runtime.connect({ name: "bench" });
  const t0 = performance.now();
  port.onMessage.addListener((m) => { if (m.done === n) { resolve(performance.now() - t0); port.disconnect(); } });
  for (let i = 0; i < n; i++) port.postMessage({ i, text: "message " + i });
  port.postMessage("end");
});
`,
	}
	writeFiles(tb, dir, files)
	return dir
}

func benchLaunch(tb testing.TB, opts Options) *Browser {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts Chrome")
	}
	opts.Logf = func(string, ...any) {}
	b, err := Launch(context.Background(), withTestChrome(tb, opts))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// BenchmarkLaunch: from nothing to a browser ready for extensions
// ("returns"), and to its first tab ("first-tab"): Launch returns while the
// first tab still opens in the background, and OpenTab waits for it.
func BenchmarkLaunch(b *testing.B) {
	if testing.Short() {
		b.Skip("starts Chrome")
	}
	for _, firstTab := range []bool{false, true} {
		name := "returns"
		if firstTab {
			name = "first-tab"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				ctx := context.Background()
				br, err := Launch(ctx, Options{Logf: func(string, ...any) {}})
				if err != nil {
					b.Fatal(err)
				}
				if firstTab {
					if _, err := br.OpenTab(ctx, ""); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				br.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkLoadExtensions: loading extensions until each one's worker is
// probed, in a running browser.
func BenchmarkLoadExtensions(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			br := benchLaunch(b, Options{})
			ctx := context.Background()
			round := 0
			for b.Loop() {
				// Fresh folders, so fresh IDs, each round, as the suite
				// loads them (loading an uninstalled ID again waits for its
				// old worker to stop).
				b.StopTimer()
				var dirs []string
				for i := range n {
					dirs = append(dirs, benchExtension(b, fmt.Sprintf("bench-%d-%d", round, i)))
				}
				round++
				b.StartTimer()
				var loaded []*Extension
				for _, dir := range dirs {
					e, err := br.LoadExtension(ctx, dir)
					if err != nil {
						b.Fatal(err)
					}
					loaded = append(loaded, e)
				}
				for _, e := range loaded {
					if _, err := e.Worker(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				for _, e := range loaded {
					if err := e.Uninstall(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRoundTrip: Go posts on a content script's port, the worker echoes,
// and the echo reaches the trace: the latency a spec sees. It reports the
// median and the 99th percentile.
func BenchmarkRoundTrip(b *testing.B) {
	br := benchLaunch(b, Options{Extensions: []string{benchExtension(b, "bench-round-trip")}})
	ctx := context.Background()
	ext := br.Extensions()[0]
	tab, err := br.OpenTab(ctx, br.Pages().URL("/"))
	if err != nil {
		b.Fatal(err)
	}
	cs, err := ext.ContentScript(ctx, tab)
	if err != nil {
		b.Fatal(err)
	}
	port, err := cs.Connect(ctx, map[string]any{"name": "echo"})
	if err != nil {
		b.Fatal(err)
	}
	echoed := make(chan struct{}, 1)
	stop := br.Trace().Watch(func(e trace.Event) {
		if e.Kind == trace.KindMessage && e.Realm == cs {
			echoed <- struct{}{}
		}
	})
	defer stop()
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := port.Post(ctx, "ping"); err != nil {
			b.Fatal(err)
		}
		select {
		case <-echoed:
		case <-time.After(10 * time.Second):
			b.Fatalf("no echo in 10 s; trace:\n%s", br.Trace())
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "median-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkThroughput: an extension page posts 1000 messages to the worker
// and waits for its count, with the probes in both (every message traced)
// and without any probe. ns/op is the time of one round of 1000 messages;
// ns/msg is the page's own time of one message, from its first post to the
// worker's count. chrome-cpu-ns/msg is the CPU time that the browser's
// processes spent per message (all of them: the page, the worker, the
// browser process that carries the messages and the DevTools traffic), and
// go-cpu-ns/msg the harness's own (decoding the probes' events, the trace),
// both from the first round until every message of the last one is in the
// trace (Linux only).
func BenchmarkThroughput(b *testing.B) {
	const n = 1000
	for _, probes := range []bool{false, true} {
		name := "without-probes"
		if probes {
			name = "with-probes"
		}
		b.Run(name, func(b *testing.B) {
			br := benchLaunch(b, Options{})
			br.probesOff.Store(!probes)
			ctx := context.Background()
			ext, err := br.LoadExtension(ctx, benchExtension(b, "bench-throughput"))
			if err != nil {
				b.Fatal(err)
			}
			tab, err := br.OpenTab(ctx, ext.URL("page.html"))
			if err != nil {
				b.Fatal(err)
			}
			// Each round's messages as the trace gets them: n+1 to the
			// worker and the count back to the page.
			var traced atomic.Int64
			arrived := make(chan struct{}, 1)
			stop := br.Trace().Watch(func(e trace.Event) {
				if e.Kind == trace.KindMessage {
					traced.Add(1)
					select {
					case arrived <- struct{}{}:
					default:
					}
				}
			})
			defer stop()
			// One warm-up run starts the worker and compiles the code.
			if _, err := tab.Eval(ctx, fmt.Sprintf("bench(%d)", n)); err != nil {
				b.Fatal(err)
			}
			cpu := markCPU(br)
			var total float64
			runs := 0
			for b.Loop() {
				raw, err := tab.Eval(ctx, fmt.Sprintf("bench(%d)", n))
				if err != nil {
					b.Fatal(err)
				}
				var ms float64
				if err := json.Unmarshal(raw, &ms); err != nil {
					b.Fatal(err)
				}
				total += ms
				runs++
			}
			if probes {
				// The worker's last batch may come after the page's
				// answer: the CPU counts until it is in the trace.
				want := int64(runs+1) * (n + 2)
				deadline := time.After(30 * time.Second)
				for traced.Load() < want {
					select {
					case <-arrived:
					case <-deadline:
						b.Fatalf("the trace has %d of the %d messages of %d rounds after 30 s", traced.Load(), want, runs+1)
					}
				}
			}
			msgs := float64(runs * n)
			b.ReportMetric(total*1e6/msgs, "ns/msg")
			cpu.report(b, br, msgs, time.Nanosecond, "ns/msg")
			if probes && br.Trace().Len() < n {
				b.Fatalf("with probes the trace has only %d events", br.Trace().Len())
			}
			if !probes && br.Trace().Len() != 0 {
				b.Fatalf("without probes the trace has %d events", br.Trace().Len())
			}
		})
	}
}

// BenchmarkWindowOpen times a popup that a web page opens with window.open,
// from the click to the content script in it probed: Chrome
// holds the new page until the harness has set up its probing, so this is
// what the hold costs a page, on top of Chrome's own work.
func BenchmarkWindowOpen(b *testing.B) {
	br := benchLaunch(b, Options{Extensions: []string{benchExtension(b, "bench-window-open")}})
	ctx := context.Background()
	ext := br.Extensions()[0]
	br.Pages().Handle("/opener", `<button onclick="window.open('/popup?' + Date.now() + Math.random())" style="width: 100vw; height: 100vh">open</button>`)
	tab, err := br.OpenTab(ctx, br.Pages().URL("/opener"))
	if err != nil {
		b.Fatal(err)
	}
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := tab.Click(ctx, "button"); err != nil {
			b.Fatal(err)
		}
		// The popups before this one are closed.
		popup, err := br.WaitTab(ctx, br.Pages().URL("/popup?*"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ext.ContentScript(ctx, popup); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		b.StopTimer()
		if err := popup.Close(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "median-µs")
}

// BenchmarkSpecCycle: what one isolated spec costs the shared browser of a
// suite, as probetest gives it: load a fresh extension, probe its worker, open
// a tab on the page server, wait for its content script's port message to
// reach the worker, then clean up (recycle the tab, uninstall the
// extension). Besides ns/op it reports the CPU time of Chrome's processes and
// of Go per cycle, and Chrome's by process type: the suite's speed is bound
// by CPU on two cores.
//
//	go test -run '^$' -bench SpecCycle -count 5 ./harness
func BenchmarkSpecCycle(b *testing.B) {
	br := benchLaunch(b, Options{})
	ctx := context.Background()
	cpu := markCPU(br)
	round := 0
	for b.Loop() {
		b.StopTimer()
		dir := benchExtension(b, fmt.Sprintf("cycle-%d", round))
		round++
		tr := br.ResetTrace(nil)
		b.StartTimer()
		e, err := br.LoadExtension(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		worker, err := e.Worker(ctx)
		if err != nil {
			b.Fatal(err)
		}
		tab, err := br.OpenTab(ctx, br.Pages().URL(fmt.Sprintf("/cycle-%d", round)))
		if err != nil {
			b.Fatal(err)
		}
		cs, err := e.ContentScript(ctx, tab)
		if err != nil {
			b.Fatal(err)
		}
		port, err := cs.Connect(ctx, map[string]any{"name": "cycle"})
		if err != nil {
			b.Fatal(err)
		}
		if err := port.Post(ctx, round); err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Wait(ctx, trace.Message().In(worker).Named("cycle")); err != nil {
			b.Fatal(err)
		}
		if err := tab.Recycle(ctx); err != nil {
			b.Fatal(err)
		}
		if err := e.Uninstall(ctx); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b, br, float64(round), time.Millisecond, "ms/op")
}

// cpuMark is the CPU time that Chrome's processes (by type) and this process
// had used when a benchmark's timed part began.
type cpuMark struct {
	chrome   map[string]time.Duration
	chromeOK bool
	own      time.Duration
}

func markCPU(br *Browser) cpuMark {
	by, ok := br.browserCPUByType()
	return cpuMark{chrome: by, chromeOK: ok, own: ownCPU()}
}

// report reports the CPU time used since the mark per item, n items, in
// unit ("ns/msg": per, time.Nanosecond): Chrome's by process type, Chrome's
// in all, and Go's. Both are measured on Linux only (from /proc).
func (m cpuMark) report(b *testing.B, br *Browser, n float64, per time.Duration, unit string) {
	if n == 0 {
		return
	}
	if by, ok := br.browserCPUByType(); ok && m.chromeOK {
		var sum time.Duration
		for _, kind := range []string{"browser", "renderer", "gpu-process", "utility", "zygote", "gone"} {
			d := by[kind] - m.chrome[kind]
			sum += d
			if d > 0 {
				b.ReportMetric(float64(d)/float64(per)/n, kind+"-cpu-"+unit)
			}
		}
		b.ReportMetric(float64(sum)/float64(per)/n, "chrome-cpu-"+unit)
		b.ReportMetric(float64(ownCPU()-m.own)/float64(per)/n, "go-cpu-"+unit)
	}
}
