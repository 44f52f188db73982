package harness

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/portprobe/portprobe/locate"
)

// launchMDN launches Chrome with the MDN example, opens a tab on the page
// server and waits for the content script's realm. The caller closes b (in
// its own defer, so that a panic in the test still closes it).
func launchMDN(t *testing.T, opts Options) (*Browser, *Realm) {
	t.Helper()
	ctx := context.Background()
	opts.Extensions = append(opts.Extensions, "../fixtures/extensions/mdn-example")
	b, err := Launch(ctx, withTestChrome(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := b.OpenTab(ctx, b.Pages().URL("/"))
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	ext, _ := b.Extension("mdn-example")
	cs, err := ext.ContentScript(ctx, tab)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	return b, cs
}

// chromeProcess is the browser's main process, for tests that end it.
func (b *Browser) chromeProcess() *os.Process {
	return chromedp.FromContext(b.ctx).Browser.Process()
}

// writeFiles writes files (name → content) into dir.
func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// withTestChrome gives opts the Chrome that PORTPROBE_CHROME names, when it
// is set and opts names none: a CI leg sets it, and the core's tests then run
// the leg's browser (Launch itself reads no environment variable).
func withTestChrome(tb testing.TB, opts Options) Options {
	tb.Helper()
	if opts.ChromePath != "" || os.Getenv(EnvChrome) == "" {
		return opts
	}
	path, err := locate.ChromeFromEnv()
	if err != nil {
		tb.Fatal(err)
	}
	opts.ChromePath = path
	return opts
}
