package harness

import (
	"testing"

	"github.com/portprobe/portprobe/trace"
)

// A user script's messages reach onUserScriptMessage and onUserScriptConnect
// once the extension is allowed user scripts; the trace has both ends.
func TestUserScriptsAllowedAndTraced(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	ctx := t.Context()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"manifest.json": `{"manifest_version":3,"name":"us","version":"1","permissions":["userScripts"],"host_permissions":["http://127.0.0.1/*"],"background":{"service_worker":"sw.js"}}`,
		"sw.js": `chrome.runtime.onUserScriptMessage.addListener((m, s, respond) => { respond({seen: m}); });
chrome.runtime.onUserScriptConnect.addListener((p) => { p.onMessage.addListener((m) => p.postMessage({echo: m})); });`,
		"us.js": `chrome.runtime.sendMessage("from the user script").then((r) => { const p = chrome.runtime.connect({name: "us"}); p.postMessage(r); });`,
	})
	ext, err := b.LoadExtension(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ext.Worker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := w.Eval(ctx, `typeof chrome.userScripts`); err != nil || string(v) != `"undefined"` {
		t.Fatalf("before AllowUserScripts: typeof chrome.userScripts = %s, %v; want undefined", v, err)
	}
	if err := ext.AllowUserScripts(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Eval(ctx, `chrome.userScripts.configureWorld({messaging: true}).then(() => chrome.userScripts.register([{id: "a", matches: ["http://127.0.0.1/*"], js: [{file: "us.js"}]}]))`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.OpenTab(ctx, b.Pages().URL("/")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.OnUserScriptMessage().In(w).WithMessage("from the user script")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.Message().In(w).WithMessage(map[string]any{"seen": "from the user script"})); err != nil {
		t.Error(err)
	}
	t.Logf("trace:\n%s", b.Trace())
}
