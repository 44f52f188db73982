package harness

import (
	"context"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestHeadfulWithoutADisplaySuggestsXvfb(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the display check is for Linux")
	}
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("PATH", t.TempDir()) // no Xvfb either
	_, err := Launch(t.Context(), Options{Headful: true, ChromePath: "/nonexistent/chrome"})
	if err == nil || !strings.Contains(err.Error(), "no display") || !strings.Contains(err.Error(), "xvfb-run") || !strings.Contains(err.Error(), "install Xvfb") {
		t.Fatalf("Launch headful without a display: got %v, want an error that says so and suggests Xvfb and xvfb-run", err)
	}
}

// Without a display, a visible Chrome gets a virtual one of its own when
// Xvfb is installed (scripts/setup.sh installs it), and Close stops it.
func TestHeadfulWithoutADisplayStartsXvfb(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Xvfb is for Linux")
	}
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Skip("Xvfb is not installed (scripts/setup.sh installs it)")
	}
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	b, err := Launch(t.Context(), Options{Headful: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	x := b.display
	if x == nil {
		t.Fatal("no virtual display")
	}
	tab, err := b.OpenTab(t.Context(), b.Pages().URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := tab.Eval(t.Context(), "document.visibilityState"); err != nil || string(v) != `"visible"` {
		t.Errorf("visibilityState = %s, %v; want visible", v, err)
	}
	b.Close()
	select {
	case <-x.done:
	default:
		t.Error("Xvfb still runs after Close")
	}
}

func TestOptionsFromEnvRefusesABadSlowMo(t *testing.T) {
	t.Setenv(EnvSlowMo, "slowly")
	_, err := OptionsFromEnv(Options{})
	if err == nil || !strings.Contains(err.Error(), "PORTPROBE_SLOWMO") {
		t.Fatalf("OptionsFromEnv with PORTPROBE_SLOWMO=slowly: got %v, want an error naming the variable", err)
	}
}

// The environment changes what OptionsFromEnv returns and nothing else:
// Options{Headful: false} stays headless under PORTPROBE_HEADFUL=1.
func TestEnvironmentChangesNothingUnlessAsked(t *testing.T) {
	t.Setenv(EnvHeadful, "1")
	t.Setenv(EnvSlowMo, "1h")
	t.Setenv(EnvChrome, "/nonexistent/from-env")
	b, err := Launch(t.Context(), Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.opts.Headful || b.opts.SlowMo != 0 || b.ChromePath() == "/nonexistent/from-env" {
		t.Errorf("Launch took the environment: headful %v, slowMo %v, path %s", b.opts.Headful, b.opts.SlowMo, b.ChromePath())
	}
	t.Setenv(EnvChrome, b.ChromePath())
	t.Setenv(EnvTimeout, "42s")
	opts, err := OptionsFromEnv(Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !opts.Headful || opts.SlowMo != time.Hour || opts.Timeout != 42*time.Second || opts.ChromePath != b.ChromePath() {
		t.Errorf("OptionsFromEnv = %+v; want headful, slowMo 1h, timeout 42s and the path", opts)
	}
}

// SlowMo pauses once per action, not once more for each action that the
// action makes: a context that paused says so, and a nested bound does not
// pause again (with an hour's SlowMo it would not return).
func TestSlowMoPausesOncePerAction(t *testing.T) {
	b := &Browser{opts: Options{SlowMo: time.Hour, Timeout: time.Second}}
	outer, cancel := context.WithCancel(t.Context())
	cancel() // the outer pause ends at once
	ctx, cancel := b.bound(outer)
	defer cancel()
	if ctx.Value(slowedKey{}) == nil {
		t.Fatal("bound's context does not say it paused")
	}
	done := make(chan struct{})
	go func() {
		_, cancel := b.bound(context.WithValue(t.Context(), slowedKey{}, true))
		cancel()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a nested action paused again")
	}
}
