package specs_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"

	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// hostilePage is a web page that tries to reach the probe from the page's own
// world: it calls every function on its global object whose name could be a
// binding with forged events, sabotages the built-ins a probe might use, and
// sends forged events the ways a content script could hear them. It records
// what it tried in window.attempts.
const hostilePage = `<!doctype html><title>hostile</title><body>
<script>
  const forged = JSON.stringify({ k: "connect", p: 99, t: Date.now(), n: "forged", call: "connect" });
  window.attempts = [];
  function tryCalls() {
    for (const name of Object.getOwnPropertyNames(window)) {
      let v;
      try { v = window[name]; } catch (e) { continue; }
      if (typeof v !== "function" || !/^__|portprobe|binding|cdp/i.test(name)) continue;
      try { v(forged); v("[" + forged + "]"); attempts.push("called " + name); } catch (e) { attempts.push(name + " threw"); }
    }
  }
  tryCalls();
  // Forged events where a content script could hear them.
  window.postMessage({ k: "connect", n: "forged" }, "*");
  document.dispatchEvent(new CustomEvent("portprobe", { detail: forged }));
  // Sabotage what a probe in this world would use.
  JSON.stringify = () => forged;
  Array.prototype.join = function () { return forged; };
  Function.prototype.apply = function () { return "forged"; };
  performance.now = () => 0;
  attempts.push("sabotaged built-ins");
  // Late: after the content script ran and the probe went in.
  setTimeout(tryCalls, 0);
</script>`

var _ = Describe("a hostile web page", Label("harness", "security"), func() {
	It("can neither reach the probe nor forge or change trace events", func(ctx SpecContext) {
		b := launch(ctx, fixture("mdn-example"))
		b.Pages().Handle("/hostile", hostilePage)
		ext := must(b.Extension("mdn-example"))
		worker := must(ext.Worker(ctx))
		tab := must(b.OpenTab(ctx, b.Pages().URL("/hostile")))
		cs := must(ext.ContentScript(ctx, tab))

		// The MDN exchange is traced as in a friendly page, in the
		// content script's world, with true times.
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			Connect().In(cs).Named("port-from-cs"),
			OnConnect().In(worker).Named("port-from-cs"),
			Message().In(cs).WithField("greeting", "hi there content script!"),
		))
		// And after the sabotage, a port driven from Go is traced too.
		port := must(cs.Connect(ctx, map[string]any{"name": "after-sabotage"}))
		Expect(port.Post(ctx, greeting("still true"))).To(Succeed())
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			Post().OnPort(port).WithField("greeting", "still true"),
			Message().In(worker).WithField("greeting", "still true"),
		))

		Expect(b.Trace()).NotTo(HaveEvent(Connect().Named("forged")))
		for _, e := range b.Trace().Events() {
			Expect(e.Realm.Describe().Kind).NotTo(Equal(WebPageRealm), "no event comes from the page's own world: %s", e)
			Expect(e.Port).NotTo(Equal(99), "forged handle: %s", e)
			Expect(e.At.Year()).To(BeNumerically(">", 2000), "the time of %s is the realm's true clock", e)
		}

		var attempts string
		if b.Engine() == Firefox {
			// Harness bug (Firefox): Tab.Eval serializes the value with
			// the page's own JSON.stringify, which this page replaced, so
			// it returns the page's forgery. The content script reads
			// the page's record through its X-ray waiver instead, with
			// its own built-ins.
			attempts = string(must(cs.Eval(ctx, `(() => { const a = window.wrappedJSObject.attempts, out = []; for (let i = 0; i < a.length; i++) out.push(String(a[i])); return out; })()`)))
		} else {
			attempts = string(must(tab.Eval(ctx, `attempts`)))
		}
		Expect(attempts).To(ContainSubstring("sabotaged built-ins"), "the page's script ran")
		Expect(attempts).NotTo(ContainSubstring("called"), "the page found no function that could be a binding")
	})
})
