package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/locate"
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
	ext, err := b.Extension("mdn-example")
	if err != nil {
		t.Fatal(err)
	}
	bg, err := ext.Worker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := b.OpenTab(ctx, b.Pages().URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ext.ContentScript(ctx, tab)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []*trace.Query{
		trace.Connect().In(cs).Named("port-from-cs"),
		trace.OnConnect().In(bg).Named("port-from-cs"),
		trace.Message().In(bg).WithField("greeting", "hello from content script"),
		trace.Message().In(cs).WithField("greeting", "hi there content script!"),
	} {
		if _, err := b.Trace().Wait(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Log(b.Trace())
}
