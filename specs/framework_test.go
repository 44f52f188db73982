package specs_test

import (
	"encoding/json"
	"errors"

	"github.com/portprobe/portprobe/matchers"
	"github.com/portprobe/portprobe/probetest"
	"github.com/portprobe/portprobe/trace"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/portprobe/portprobe/harness"
)

// ext is an extension that a spec writes into a temporary folder with
// Build(GinkgoTB()).
type ext = probetest.Extension

// blank is an extension with every kind of realm and no messaging code of its
// own: a service worker, a content script on the local page server, and an
// extension page. Specs give the realms behavior through the probe
// (ListenConnect, Connect) or Eval. Each script has one statement, because the
// probe goes in when a script pauses at its first statement.
func blank(name string) ext {
	return ext{
		Name: name,
		Manifest: map[string]any{
			"background": map[string]any{"service_worker": "worker.js", "scripts": []string{"worker.js"}}, // Firefox runs scripts as its background page
			"content_scripts": []any{map[string]any{
				"matches": []string{"http://127.0.0.1/*"},
				"js":      []string{"cs.js"},
			}},
		},
		Files: map[string]string{
			// Firefox pauses a script only at a statement with an effect:
			// it never stops at `void 'x';`, so the realm would get no probe.
			"worker.js": "self.portprobeFixture = 'worker';\n",
			"cs.js":     "self.portprobeFixture = 'content script';\n",
			"page.html": "<!doctype html><title>page</title><script src=\"page.js\"></script>\n",
			"page.js":   "self.portprobeFixture = 'page';\n",
		},
	}
}

// world is a browser with realms ready for a spec: the blank extension's
// worker, a tab on the local page and the content script in it.
type world struct {
	b      *harness.Browser
	ext    *harness.Extension
	worker *harness.Realm
	tab    *harness.Tab
	cs     *harness.Realm
}

// openWorld loads e (and the other extensions, loaded first) in the shared
// browser and opens a tab on the local page server with e's content script.
func openWorld(ctx SpecContext, e ext, others ...probetest.Built) world {
	GinkgoHelper()
	return openWorldIn(ctx, false, e, others...)
}

// openWorldAlone is openWorld in a browser of the spec's own, for behaviors
// that depend on the browser's history.
func openWorldAlone(ctx SpecContext, e ext, others ...probetest.Built) world {
	GinkgoHelper()
	return openWorldIn(ctx, true, e, others...)
}

func openWorldIn(ctx SpecContext, alone bool, e ext, others ...probetest.Built) world {
	GinkgoHelper()
	dirs := []string{}
	for _, o := range others {
		dirs = append(dirs, o.Dir)
	}
	main := e.Build(GinkgoTB())
	var b *harness.Browser
	if alone {
		b = launchAlone(ctx, append(dirs, main.Dir)...)
	} else {
		b = launch(ctx, append(dirs, main.Dir)...)
	}
	w := world{b: b}
	w.ext = must(b.Extension(main.IDIn(b)))
	w.worker = must(w.ext.Worker(ctx))
	w.tab = must(b.OpenTab(ctx, b.Pages().URL("/")))
	w.cs = must(w.ext.ContentScript(ctx, w.tab))
	return w
}

// thrownText returns the "Name: message" text of the exception that Go-driven
// code threw in a realm, failing the spec when err is not a *JSError.
func thrownText(err error) string {
	GinkgoHelper()
	var js *harness.JSError
	Expect(errors.As(err, &js)).To(BeTrue(), "want an exception thrown in the realm, got %v", err)
	return js.Text
}

// eventOf waits until the trace has an event that q matches and returns the
// first such event.
func eventOf(b *harness.Browser, q *trace.Query) trace.Event {
	GinkgoHelper()
	Eventually(b.Trace()).Should(matchers.HaveEvent(q))
	e, _ := b.Trace().Find(q)
	return e
}

// senderOf waits for the first event that q matches and returns its
// port.sender decoded from JSON (numbers are float64).
func senderOf(b *harness.Browser, q *trace.Query) map[string]any {
	GinkgoHelper()
	e := eventOf(b, q)
	var s map[string]any
	Expect(json.Unmarshal(e.Sender, &s)).To(Succeed(), "the sender of %s", e)
	return s
}

// receivedPort waits for the onConnect event that q names and returns the
// port the receiving realm got, so Go can drive it.
func receivedPort(ctx SpecContext, b *harness.Browser, q *trace.Query) *harness.Port {
	GinkgoHelper()
	return harness.PortOf(must(b.Trace().Wait(ctx, q)))
}

// countOf returns a function that counts the trace's events that q matches,
// for Eventually and Consistently.
func countOf(b *harness.Browser, q *trace.Query) func() int {
	return func() int { return b.Trace().Count(q) }
}

// closedWith narrows an onDisconnect query to a port that closed for
// reason, as each engine says it: Chrome sets runtime.lastError in the
// listener; Firefox sets the port's error and leaves runtime.lastError
// unset (specs that use it are labelled firefox-differs).
func closedWith(b *harness.Browser, q *trace.Query, reason string) *trace.Query {
	if b.Engine() == harness.Firefox {
		return q.WithoutLastError().WithError(reason)
	}
	return q.WithLastError(reason)
}
