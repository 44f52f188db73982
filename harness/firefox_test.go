package harness_test

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/locate"
	"github.com/portprobe/portprobe/matchers"
	"github.com/portprobe/portprobe/trace"
)

// launchFirefox launches Firefox with extensions, or skips when there is no
// Firefox (scripts/setup.sh installs it).
func launchFirefox(t *testing.T, exts ...string) *harness.Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Firefox")
	}
	if _, err := locate.Firefox(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	b, err := harness.Launch(ctx, harness.Options{Browser: harness.Firefox, Extensions: exts, Logf: t.Logf, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// MDN's runtime.connect() example, unmodified, in Firefox: the content
// script and the background page are probed before their first line, and
// the exchange is traced as in Chrome.
func TestFirefoxMDNExample(t *testing.T) {
	b := launchFirefox(t, "../fixtures/extensions/mdn-example")
	ctx := t.Context()
	if b.Engine() != harness.Firefox {
		t.Fatalf("engine %s", b.Engine())
	}
	ext, bg := backgroundOf(t, b, "mdn-example")
	tab, err := b.OpenTab(ctx, b.Pages().URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ext.ContentScript(ctx, tab)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.Message().In(cs).WithField("greeting", "hi there content script!")); err != nil {
		t.Fatal(err)
	}
	// The page's click and the toolbar button's, as in the MDN page.
	if err := tab.Click(ctx, "body"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.Message().In(bg).WithField("greeting", "they clicked the page!")); err != nil {
		t.Fatal(err)
	}
	if err := ext.ClickAction(ctx, tab); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.Message().In(cs).WithField("greeting", "they clicked the button!")); err != nil {
		t.Fatal(err)
	}
	g := gomega.NewWithT(t)
	// Each realm's events reach Go on its own watcher: the background's
	// post can come after the content script's message it caused, and the
	// trace puts it back in its place by time.
	// Only cause and effect are ordered: the background runs in another
	// process, so its onConnect can come before the content script's next
	// statement (its post) has run; it did on a loaded CI machine.
	for _, chain := range [][]*trace.Query{{
		trace.Connect().In(cs).Named("port-from-cs"),
		trace.OnConnect().In(bg).Named("port-from-cs").WithSender("url", b.Pages().URL("/")),
		trace.Post().In(bg).WithField("greeting", "hi there content script!"),
		trace.Message().In(cs).WithField("greeting", "hi there content script!"),
	}, {
		trace.Post().In(cs).WithField("greeting", "hello from content script"),
		trace.Message().In(bg).WithField("greeting", "hello from content script"),
	}, {
		trace.Post().In(cs).WithField("greeting", "they clicked the page!"),
		trace.Message().In(bg).WithField("greeting", "they clicked the page!"),
		trace.Post().In(bg).WithField("greeting", "they clicked the button!"),
		trace.Message().In(cs).WithField("greeting", "they clicked the button!"),
	}} {
		g.Eventually(b.Trace()).WithTimeout(10 * time.Second).Should(matchers.HaveEventsInOrder(chain...))
	}
	g.Consistently(func() int { return b.Trace().Count(trace.AnyEvent()) }).WithTimeout(300*time.Millisecond).Should(gomega.Equal(10), "the exchange, and nothing else")
	// Go evaluates in the realms, with Chrome's semantics for values and
	// exceptions.
	v, err := bg.Eval(ctx, "Promise.resolve({a: [1, 'b']})")
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(v).To(gomega.MatchJSON(`{"a": [1, "b"]}`))
	_, err = cs.Eval(ctx, "(() => { throw new RangeError('r') })()")
	g.Expect(err).To(gomega.MatchError(gomega.ContainSubstring("RangeError: r")))
}

// Close leaves no Firefox process and no profile folder behind.
func TestFirefoxCloseLeavesNothing(t *testing.T) {
	b := launchFirefox(t)
	profile := b.ProfileDir()
	if _, err := os.Stat(profile); err != nil {
		t.Fatalf("profile folder: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(profile); !os.IsNotExist(err) {
		t.Errorf("the profile folder %s is still there (%v)", profile, err)
	}
	if pids := harness.ProfileUsers(profile); len(pids) > 0 {
		t.Errorf("processes still use the profile: %v", pids)
	}
}

// Sync returns once the events that realms sent before it are in the trace,
// although Firefox answers evaluations apart from the console messages that
// carry the events.
func TestFirefoxSyncWaitsForTheEvents(t *testing.T) {
	b := launchFirefox(t, "../fixtures/extensions/mdn-example")
	ctx := t.Context()
	_, bg := backgroundOf(t, b, "mdn-example")
	for i := range 20 {
		name := "sync-" + string(rune('a'+i))
		if _, err := bg.Eval(ctx, `void chrome.runtime.connect({name: "`+name+`"})`); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := b.Trace().Find(trace.Connect().In(bg).Named(name)); !ok {
			t.Fatalf("round %d: after Sync, the trace lacks the connect:\n%s", i, b.Trace().WaitText())
		}
	}
}

// A failed test's artifacts hold a PNG of each of Firefox's tabs, as of
// Chrome's.
func TestFirefoxArtifactsHaveScreenshots(t *testing.T) {
	b := launchFirefox(t)
	ctx := t.Context()
	b.Pages().Handle("/red", `<!doctype html><body style="background: rgb(255, 0, 0)">red</body>`)
	tab, err := b.OpenTab(ctx, b.Pages().URL("/red"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.OpenTab(ctx, b.Pages().URL("/")); err != nil { // the red one is in the background now
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths, err := b.WriteArtifacts(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var shot string
	for _, p := range paths {
		if filepath.Base(p) == tab.String()+".png" {
			shot = p
		}
	}
	if shot == "" {
		t.Fatalf("no screenshot of %s among %v", tab, paths)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	r, g, bl, _ := img.At(img.Bounds().Dx()/2, img.Bounds().Dy()/2).RGBA()
	if r>>8 != 255 || g>>8 != 0 || bl>>8 != 0 {
		t.Errorf("the middle of %s is rgb(%d, %d, %d), want the page's red", shot, r>>8, g>>8, bl>>8)
	}
}

// An extension page opened in a tab again and again is probed each time,
// and its tab goes on: Firefox tells of a pause again after each
// evaluation in it, and the harness once probed and resumed the page once
// per telling, which left it stuck after a few rounds. Then one run in
// three ended in the tab descriptor's navigateTo, which Firefox now and then
// never answers although the page loaded (Tab.Navigate now waits for the
// document's own dom-complete), and a tab that came back to the extensions'
// process got every packet once more per visit (such a tab is now closed
// rather than recycled).
func TestFirefoxExtensionPageInATabAgainAndAgain(t *testing.T) {
	dir := writeExtension(t, map[string]string{
		"manifest.json": `{"manifest_version": 3, "name": "pg", "version": "1", "browser_specific_settings": {"gecko": {"id": "pg@portprobe.test"}}, "background": {"scripts": ["bg.js"]}}`,
		"bg.js":         "self.x = 1;\nchrome.runtime.onConnect.addListener(() => {});\n",
		"page.html":     `<!doctype html><script src="page.js"></script>`,
		"page.js":       "self.y = 1;\nchrome.runtime.connect({name: 'p'});\n",
	})
	b := launchFirefox(t, dir)
	ctx := t.Context()
	ext, _ := b.Extension("pg")
	for i := range 15 {
		tab, r, err := ext.OpenPage(ctx, "page.html")
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if _, err := r.Eval(ctx, "1"); err != nil {
			t.Fatalf("round %d eval: %v", i, err)
		}
		if err := tab.Navigate(ctx, b.Pages().URL("/")); err != nil {
			t.Fatalf("round %d nav: %v", i, err)
		}
		if _, err := b.Trace().Wait(ctx, trace.Connect().In(r).Named("p")); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := tab.Recycle(ctx); err != nil {
			t.Fatalf("round %d recycle: %v", i, err)
		}
	}
}

// The realms' own console output is in the trace's console, each line with
// the realm that wrote it, as in Chrome: a content script's and its page's
// share a window, and the file that logged tells them apart.
func TestFirefoxConsoleOfTheRealms(t *testing.T) {
	dir := writeExtension(t, map[string]string{
		"manifest.json": `{"manifest_version": 3, "name": "logs", "version": "1", "browser_specific_settings": {"gecko": {"id": "logs@portprobe.test"}},
			"background": {"scripts": ["bg.js"]}, "content_scripts": [{"matches": ["http://127.0.0.1/*"], "js": ["cs.js"]}]}`,
		"bg.js": "self.x = 1;\nconsole.log('from the background', 42);\n",
		"cs.js": "self.x = 1;\nconsole.warn('from the content script');\n",
	})
	b := launchFirefox(t, dir)
	ctx := t.Context()
	ext, bg := backgroundOf(t, b, "logs")
	b.Pages().Handle("/logs", `<!doctype html><script>console.log("from the page")</script>`)
	tab, err := b.OpenTab(ctx, b.Pages().URL("/logs"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ext.ContentScript(ctx, tab)
	if err != nil {
		t.Fatal(err)
	}
	// Each realm's top-level code ran before its marker, which comes on
	// the same channel as its console output.
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, c := range b.Trace().Console() {
		if c.Realm == nil {
			t.Fatalf("a console entry without its realm: %v", c)
		}
		if strings.Contains(c.Text, "from the page") {
			t.Errorf("the page's own output is not a realm's: %v", c)
		}
		have[c.Realm.String()+" "+c.Level+" "+c.Text] = true
	}
	for _, w := range []string{bg.String() + " log from the background 42", cs.String() + " warning from the content script"} {
		if !have[w] {
			t.Errorf("the console lacks %q; it has %v", w, b.Trace().Console())
		}
	}
}

// writeExtension writes an extension's files into a new temporary folder
// and returns the folder.
func writeExtension(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// backgroundOf returns the loaded extension with the name and its probed
// background page.
func backgroundOf(t *testing.T, b *harness.Browser, name string) (*harness.Extension, *harness.Realm) {
	t.Helper()
	ext, err := b.Extension(name)
	if err != nil {
		t.Fatal(err)
	}
	bg, err := ext.Worker(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ext, bg
}
