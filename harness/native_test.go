package harness

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/portprobe/portprobe/internal/jsonx"
	"github.com/portprobe/portprobe/trace"
)

// nativeExtension writes an extension allowed to use native messaging.
func nativeExtension(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"manifest.json": `{"manifest_version":3,"name":"native","version":"1","permissions":["nativeMessaging"],"background":{"service_worker":"sw.js"}}`,
		"sw.js":         `void 'worker';`,
	})
	return dir
}

// A host written in Go answers sendNativeMessage and talks on a
// connectNative port; its side is in the trace, and its end gives the port
// Chrome's lastError.
func TestNativeHostInGo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	ctx := t.Context()
	ext, err := b.LoadExtension(ctx, nativeExtension(t))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ext.Worker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.InstallNativeHost(ctx, NativeHost{Name: "com.portprobe.echo"}); err != nil {
		t.Fatal(err)
	}
	resp, err := w.Eval(ctx, `chrome.runtime.sendNativeMessage("com.portprobe.echo", {hello: 1})`)
	if err != nil || !jsonx.Equal(resp, []byte(`{"hello":1}`)) {
		t.Fatalf("sendNativeMessage: %s, %v", resp, err)
	}
	if _, err := b.Trace().Wait(ctx, trace.OnConnect().Where("in the host", func(e trace.Event) bool { return e.Realm.Describe().Kind == trace.NativeHostRealm }).WithSender("origin", "chrome-extension://"+ext.ID+"/")); err != nil {
		t.Error(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.Post().WithMessage(map[string]any{"hello": 1}).Where("by the host", func(e trace.Event) bool { return e.Realm.Describe().Kind == trace.NativeHostRealm })); err != nil {
		t.Error(err)
	}

	// A host that answers once on a port, then exits.
	stop := make(chan struct{})
	if err := b.InstallNativeHost(ctx, NativeHost{Name: "com.portprobe.once", Serve: func(ctx context.Context, c *NativeConn) error {
		m, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if err := c.Write(map[string]any{"got": json.RawMessage(m)}); err != nil {
			return err
		}
		<-stop
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Eval(ctx, `globalThis.np = chrome.runtime.connectNative("com.portprobe.once"); np.postMessage("ping"); 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.Message().In(w).WithMessage(map[string]any{"got": "ping"})); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if _, err := b.Trace().Wait(ctx, trace.OnDisconnect().In(w).WithLastError("Native host has exited.")); err != nil {
		t.Error(err)
	}

	// No such host.
	_, err = w.Eval(ctx, `chrome.runtime.sendNativeMessage("com.portprobe.none", {})`)
	var jerr *JSError
	if !errors.As(err, &jerr) || !strings.Contains(jerr.Text, "Specified native messaging host not found.") {
		t.Errorf("a missing host: %v", err)
	}
	t.Logf("trace:\n%s", b.Trace())
}

// Bad input to InstallNativeHost fails at once, naming the cause.
func TestInstallNativeHostRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	ctx := t.Context()
	if _, err := b.LoadExtension(ctx, nativeExtension(t)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Bad Name", "com..x", ".x", ""} {
		if err := b.InstallNativeHost(ctx, NativeHost{Name: name}); err == nil || !strings.Contains(err.Error(), "Chrome accepts only") {
			t.Errorf("name %q: %v", name, err)
		}
	}
	b.Close()
	if err := b.InstallNativeHost(ctx, NativeHost{Name: "com.portprobe.late"}); !errors.Is(err, ErrBrowserClosed) {
		t.Errorf("after Close: %v, want ErrBrowserClosed", err)
	}
}
