package specs_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/portprobe/portprobe/manifest"
	"github.com/portprobe/portprobe/matchers"
	"github.com/portprobe/portprobe/trace"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/portprobe/portprobe/harness"
)

// ext describes an extension that a spec writes into a temporary folder: a
// variant generated in Go rather than a folder copied by hand.
type ext struct {
	// Name is the manifest's name; it names the realms in traces.
	Name string
	// Manifest holds keys to add to or override in the manifest.
	Manifest map[string]any
	// Files are the extension's files besides manifest.json.
	Files map[string]string
	// Keyed gives the extension a fresh manifest key, so its ID is known
	// before launch (cross-extension specs put it in the other's code).
	Keyed bool
	// Alone asks openWorld for a browser of the spec's own, not the shared
	// one, for behaviors that depend on the browser's history.
	Alone bool
}

// alone returns e with a browser of its own in openWorld.
func (e ext) alone() ext {
	e.Alone = true
	return e
}

// built is an extension written to disk, with the ID Chrome will give it.
type built struct {
	Dir string
	ID  string
}

// build writes e into a new temporary folder.
func (e ext) build() built {
	GinkgoHelper()
	m := map[string]any{
		"manifest_version": 3,
		"name":             e.Name,
		"version":          "1.0",
	}
	for k, v := range e.Manifest {
		m[k] = v
	}
	var id string
	if e.Keyed {
		key, keyID, _, err := manifest.NewKey()
		Expect(err).NotTo(HaveOccurred())
		m["key"], id = key, keyID
	}
	dir := GinkgoT().TempDir()
	data, err := json.MarshalIndent(m, "", "  ")
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644)).To(Succeed())
	for name, content := range e.Files {
		path := filepath.Join(dir, name)
		Expect(os.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
		Expect(os.WriteFile(path, []byte(content), 0o644)).To(Succeed())
	}
	if id == "" {
		id, err = manifest.PredictID(dir)
		Expect(err).NotTo(HaveOccurred())
	}
	return built{Dir: dir, ID: id}
}

// blank is an extension with every kind of realm and no messaging code of its
// own: a service worker, a content script on the local page server, and an
// extension page. Specs give the realms behavior through the probe
// (ListenConnect, Connect) or Eval. Each script has one statement, because the
// probe goes in when a script pauses at its first statement.
func blank(name string) ext {
	return ext{
		Name: name,
		Manifest: map[string]any{
			"background": map[string]any{"service_worker": "worker.js"},
			"content_scripts": []any{map[string]any{
				"matches": []string{"http://127.0.0.1/*"},
				"js":      []string{"cs.js"},
			}},
		},
		Files: map[string]string{
			"worker.js": "void 'worker';\n",
			"cs.js":     "void 'content script';\n",
			"page.html": "<!doctype html><title>page</title><script src=\"page.js\"></script>\n",
			"page.js":   "void 'page';\n",
		},
	}
}

// with returns e with more manifest keys (or files, for names with a dot).
func (e ext) with(key string, value any) ext {
	m := map[string]any{}
	for k, v := range e.Manifest {
		m[k] = v
	}
	m[key] = value
	e.Manifest = m
	return e
}

// withFile returns e with one more file, or a file replaced.
func (e ext) withFile(name, content string) ext {
	f := map[string]string{}
	for k, v := range e.Files {
		f[k] = v
	}
	f[name] = content
	e.Files = f
	return e
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

// openWorld launches e (and the other extensions, loaded first) and opens a
// tab on the local page server with e's content script.
func openWorld(ctx SpecContext, e ext, others ...built) world {
	GinkgoHelper()
	dirs := []string{}
	for _, o := range others {
		dirs = append(dirs, o.Dir)
	}
	main := e.build()
	var b *harness.Browser
	if e.Alone {
		b = launchAlone(ctx, append(dirs, main.Dir)...)
	} else {
		b = launch(ctx, append(dirs, main.Dir)...)
	}
	w := world{b: b}
	w.ext = must(b.Extension(main.ID))
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
