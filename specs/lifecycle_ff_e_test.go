package specs_test

import (
	"encoding/json"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/trace"
)

// ffBack goes back in a Firefox tab's history from the page itself and
// waits until the tab shows url again: the harness's Tab.Back drives
// Chrome's history (Page.navigateToHistoryEntry), which Firefox has not.
//
// Harness bug (Firefox): once a page is back from the back/forward cache,
// its content script's probe events no longer reach the trace (its port
// still works: the worker's side is traced), and the events it sent before
// the cache are in the trace twice. Specs check the content script's side
// through its own records (Eval) instead.
func ffBack(ctx SpecContext, tab *Tab, url string) {
	GinkgoHelper()
	must(tab.Eval(ctx, `(history.back(), true)`))
	Eventually(func(ctx SpecContext) (string, error) {
		v, err := tab.Eval(ctx, `location.href`)
		return string(v), err
	}).WithContext(ctx).Should(Equal(jsonString(url)))
}

// ffCannotCrash skips a spec that crashes a tab's renderer, on Firefox.
func ffCannotCrash() {
	if options().Browser == Firefox {
		Skip("Firefox: harness cannot yet crash a tab's content process: Tab.Crash sends Chrome's Page.crash, and the Firefox engine has no equivalent wired")
	}
}

// ffContentScriptAt waits for a live content-script realm of w's extension
// in w's tab at url.
func ffContentScriptAt(w world, url string) *Realm {
	GinkgoHelper()
	var found *Realm
	Eventually(func() bool {
		for _, r := range w.b.Realms() {
			if r.Kind == trace.ContentScriptRealm && r.Tab == w.tab && r.ExtensionID == w.ext.ID && r.URL == url && !r.Gone() {
				found = r
				return true
			}
		}
		return false
	}).Should(BeTrue(), "a content script at %s", url)
	return found
}

// ffWithBackgroundScripts copies the extension in dir to a new folder
// whose manifest also lists its background service worker as
// background.scripts, which Firefox runs as its background page.
func ffWithBackgroundScripts(dir string) string {
	GinkgoHelper()
	out := GinkgoT().TempDir()
	entries := must(os.ReadDir(dir))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data := must(os.ReadFile(filepath.Join(dir, e.Name())))
		if e.Name() == "manifest.json" {
			var m map[string]any
			Expect(json.Unmarshal(data, &m)).To(Succeed())
			bg := m["background"].(map[string]any)
			bg["scripts"] = []any{bg["service_worker"]}
			data = must(json.Marshal(m))
		}
		Expect(os.WriteFile(filepath.Join(out, e.Name()), data, 0o644)).To(Succeed())
	}
	return out
}
