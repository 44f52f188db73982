package specs_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
)

// topLevelEcho is a worker that registers its listener at top level, as MV3
// requires for a worker that must wake for a connection.
const topLevelEcho = `chrome.runtime.onConnect.addListener((port) => {
  port.onMessage.addListener((m) => port.postMessage({ echo: m }));
});
`

var _ = Describe("ports when contexts die", Label("lifecycle"), func() {
	It("disconnects the worker's ports without lastError when the worker is stopped, and a new connect wakes it", Label("RL-03", "RC-10"), func(ctx SpecContext) {
		w := openWorld(ctx, blank("lifecycle-stop").withFile("worker.js", topLevelEcho))
		port := must(w.cs.Connect(ctx, map[string]any{"name": "before-stop"}))
		Eventually(w.b.Trace()).Should(HaveEvent(OnConnect().In(w.worker).Named("before-stop")))

		Expect(w.ext.StopWorker(ctx)).To(Succeed())
		Expect(w.worker.Gone()).To(BeTrue())
		Eventually(w.b.Trace()).Should(HaveEvent(OnDisconnect().OnPort(port).WithoutLastError()))

		again := must(w.cs.Connect(ctx, map[string]any{"name": "after-stop"}))
		Expect(again.Post(ctx, "wake")).To(Succeed())
		restarted := must(w.ext.Worker(ctx))
		Expect(restarted).NotTo(BeIdenticalTo(w.worker))
		Eventually(w.b.Trace()).Should(HaveEventsInOrder(
			OnConnect().In(restarted).Named("after-stop"),
			Received().In(restarted).WithMessage("wake"),
			Received().OnPort(again).WithMessage(map[string]any{"echo": "wake"}),
		))
	})
})
