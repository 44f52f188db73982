package specs_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// Chrome stops an extension's service worker about 30 s after its last event.
// A probed worker never idles out (the probe's binding counts as DevTools
// activity), so these specs launch with Options.IdleWorkers: the worker runs
// unprobed, as for a user, and its side is seen through the content script's
// probe and the ServiceWorker domain's status reports. They wait out the
// timeout, so they are labelled slow and left out of `go test ./...`.
var _ = Describe("the service worker's idle timeout", Label("lifecycle", "slow"), func() {
	// idleWorld launches a browser of the spec's own with unprobed workers,
	// the blank extension with an echoing worker, and a tab with its content
	// script.
	idleWorld := func(ctx SpecContext, name string) (w world) {
		GinkgoHelper()
		if suite.Options(GinkgoTB()).Browser == Firefox {
			// Firefox's MV3 background is an event page, which idles out
			// after its extensions.background.idle.timeout; the harness
			// has no unprobed background and no status reports for it yet
			// (Options.IdleWorkers and WorkerHistory are Chrome's).
			Skip("Firefox: the harness cannot yet follow an event page's idle timeout (no Options.IdleWorkers, no worker status)")
		}
		main := blank(name).WithFile("worker.js", topLevelEcho).Build(GinkgoTB())
		opts := options(main.Dir)
		opts.IdleWorkers = true
		w.b = launchWith(ctx, opts)
		w.ext = must(w.b.Extension(main.ID))
		must(w.ext.WaitWorkerStatus(ctx, WorkerRunning))
		w.tab = must(w.b.OpenTab(ctx, w.b.Pages().URL("/")))
		w.cs = must(w.ext.ContentScript(ctx, w.tab))
		return w
	}
	// echoed posts message on port and waits for the worker's echo.
	echoed := func(ctx SpecContext, w world, port *Port, message string) {
		GinkgoHelper()
		Expect(port.Post(ctx, message)).To(Succeed())
		Eventually(w.b.Trace()).Should(HaveEvent(Message().OnPort(port).WithMessage(map[string]any{"echo": message})),
			"the worker of %s echoes %q", w.ext, message)
	}
	// stopsWhenIdle waits for Chrome to stop the worker and checks that it
	// was idle for about Chrome's 30 s, counted from lastActivity.
	stopsWhenIdle := func(ctx SpecContext, w world, lastActivity time.Time) {
		GinkgoHelper()
		wctx, cancel := context.WithTimeout(ctx, scaled(75*time.Second))
		defer cancel()
		stopped := must(w.ext.WaitWorkerStatus(wctx, WorkerStopped))
		idle := stopped.At.Sub(lastActivity)
		AddReportEntry("idle before Chrome stopped the worker", idle.Round(100*time.Millisecond).String())
		Expect(idle).To(BeNumerically(">=", 25*time.Second), "the worker stopped before the idle timeout; its status: %v", w.ext.WorkerHistory())
	}

	It("stops the worker about 30 s after its last event although a port to it is open, and the port gets onDisconnect without lastError", Label("RL-01"), SpecTimeout(scaled(3*time.Minute)), func(ctx SpecContext) {
		w := idleWorld(ctx, "idle-open-port")
		port := must(w.cs.Connect(ctx, map[string]any{"name": "idle"}))
		echoed(ctx, w, port, "only once")
		stopsWhenIdle(ctx, w, time.Now())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))

		// A new connect wakes it: the listener was registered at top level.
		again := must(w.cs.Connect(ctx, map[string]any{"name": "wake"}))
		echoed(ctx, w, again, "awake")
		Expect(w.ext.WorkerHistory()[len(w.ext.WorkerHistory())-1].Status).To(Equal(WorkerRunning))
	})

	It("keeps the worker alive while messages flow on a port, past the idle timeout, and stops it once they stop", Label("RL-02"), SpecTimeout(scaled(4*time.Minute)), func(ctx SpecContext) {
		w := idleWorld(ctx, "idle-busy-port")
		port := must(w.cs.Connect(ctx, map[string]any{"name": "busy"}))
		start := time.Now()
		before := len(w.ext.WorkerHistory())
		// One message every 5 s for 45 s: longer than the 30 s timeout, so
		// only the messages can keep the worker running.
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		var last time.Time
		for i := 0; ; i++ {
			echoed(ctx, w, port, fmt.Sprintf("message %d", i))
			last = time.Now()
			if last.Sub(start) >= 45*time.Second {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				Fail("the spec ended while messages were flowing")
			}
		}
		Expect(w.ext.WorkerHistory()[before:]).To(BeEmpty(), "the worker's status changed while messages flowed")
		Expect(w.b.Trace()).NotTo(HaveEvent(OnDisconnect().OnPort(port)))

		// The same worker then idles out: the timer the messages reset was real.
		stopsWhenIdle(ctx, w, last)
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))
	})
})
