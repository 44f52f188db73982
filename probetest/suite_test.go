package probetest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/trace"
)

// fakeTB is a test whose failure and cleanups the test controls: the
// cleanups run when end is called.
type fakeTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	failed   bool
	cleanups []func()
	logs     []string
}

func newFakeTB(t *testing.T, name string) *fakeTB { return &fakeTB{TB: t, name: name} }

func (f *fakeTB) Name() string { return f.name }
func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}
func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	f.failed = true
	f.mu.Unlock()
	f.TB.Logf("(fake test failed) "+format, args...)
}
func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, format)
	f.TB.Logf(format, args...)
}
func (f *fakeTB) fail() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
}

// end runs the cleanups, last registered first, as testing does.
func (f *fakeTB) end() {
	f.mu.Lock()
	c := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for _, fn := range slices.Backward(c) {
		fn()
	}
}

func quiet() harness.Options { return harness.Options{Logf: func(string, ...any) {}} }

func mdn(t *testing.T) string {
	dir, err := filepath.Abs("../fixtures/extensions/mdn-example")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// What one test leaves in the shared browser, the next does not see: its
// events, its extensions, its tabs (recycled, so the next OpenTab is fast).
func TestBrowserIsolatesTests(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	s := New(Config{Options: quiet()})
	defer s.Close()
	ctx := t.Context()

	first := newFakeTB(t, "first")
	b := s.Browser(ctx, first, mdn(t))
	ext, err := b.Extension("mdn-example")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := b.OpenTab(ctx, b.Pages().URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ext.ContentScript(ctx, tab); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.OnConnect().Named("port-from-cs")); err != nil {
		t.Fatal(err)
	}
	first.end()

	second := newFakeTB(t, "second")
	b2 := s.Browser(ctx, second)
	defer second.end()
	if b2 != b {
		t.Fatal("the second test got another browser; want the shared one")
	}
	if n := b2.Trace().Len(); n != 0 {
		t.Errorf("the second test's trace has %d events of the first:\n%s", n, b2.Trace())
	}
	if exts := b2.Extensions(); len(exts) != 0 {
		t.Errorf("the first test's extensions are still loaded: %v", exts)
	}
	if tabs := b2.Tabs(); len(tabs) != 0 {
		t.Errorf("the first test's tabs are still in use: %v", tabs)
	}
	if first.Failed() {
		t.Errorf("the cleanup failed the first test: %v", first.logs)
	}
}

// Tests that end at once, while the new shared browser still opens its first
// tab and its control page, leave both alone: the cleaning of such a test
// once closed them, and then every later uninstall waited 30 s for the
// ServiceWorker domain of the closed control page (CI timed out).
func TestQuickTestsInANewBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	s := New(Config{Options: quiet()})
	defer s.Close()
	ctx := t.Context()
	var b *harness.Browser
	missing := filepath.Join(t.TempDir(), "missing")
	for i := range 20 {
		// Each asks Chrome once, as the specs of bad folders do.
		quick := newFakeTB(t, fmt.Sprintf("quick %d", i))
		b = s.Browser(ctx, quick)
		if _, err := b.LoadExtension(ctx, missing); err == nil {
			t.Fatalf("loading %s succeeded", missing)
		}
		quick.end()
		if quick.Failed() {
			t.Fatalf("the cleanup failed quick test %d: %v", i, quick.logs)
		}
	}
	next := newFakeTB(t, "next")
	b2 := s.Browser(ctx, next, mdn(t))
	if b2 != b {
		t.Fatal("a quick test's cleaning dropped the shared browser")
	}
	ext, err := b2.Extension("mdn-example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ext.Worker(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.OpenTab(ctx, b2.Pages().URL("/")); err != nil {
		t.Fatal(err)
	}
	next.end()
	if next.Failed() {
		t.Errorf("the cleanup (uninstall) failed: %v", next.logs)
	}
}

// A test that closes the shared browser breaks nothing: the next test gets
// a new one.
func TestBrowserAfterATestClosedIt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	s := New(Config{Options: quiet()})
	defer s.Close()
	first := newFakeTB(t, "closes the browser")
	b := s.Browser(t.Context(), first)
	b.Close()
	first.end()
	if first.Failed() {
		t.Errorf("the cleanup failed the test that closed the browser: %v", first.logs)
	}

	second := newFakeTB(t, "next")
	defer second.end()
	b2 := s.Browser(t.Context(), second)
	if b2 == b || b2.Err() != nil {
		t.Fatalf("the next test got the closed browser (err %v)", b2.Err())
	}
}

// A failed test leaves its artifacts in a folder named after it, before its
// tabs are emptied; a passing one leaves none.
func TestFailedTestLeavesArtifacts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	root := t.TempDir()
	s := New(Config{Options: quiet(), Artifacts: root})
	defer s.Close()
	ctx := t.Context()

	passed := newFakeTB(t, "TestPasses")
	s.Browser(ctx, passed, mdn(t))
	passed.end()
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("a passing test left artifacts: %v", entries)
	}

	failed := newFakeTB(t, "TestFails/with a tab")
	b := s.Browser(ctx, failed, mdn(t))
	if _, err := b.OpenTab(ctx, b.Pages().URL("/")); err != nil {
		t.Fatal(err)
	}
	failed.fail()
	failed.end()
	dir := filepath.Join(root, "testfails-with-a-tab")
	for _, name := range []string{"trace.json", "trace.html", "console.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("artifact %s: %v", name, err)
		}
	}
	if shots, _ := filepath.Glob(filepath.Join(dir, "tab*.png")); len(shots) == 0 {
		t.Errorf("no screenshot of the test's tab in %s", dir)
	}
	if !slices.ContainsFunc(failed.logs, func(l string) bool { return strings.Contains(l, "artifacts") }) {
		t.Errorf("the failed test's log does not name its artifacts: %q", failed.logs)
	}
}

// The environment shapes the suite's options, and a bad value fails the test
// that asks, naming the variable.
func TestOptionsReadTheEnvironment(t *testing.T) {
	t.Setenv(harness.EnvHeadful, "1")
	s := New(Config{Options: quiet()})
	if !s.Options(t).Headful {
		t.Error("PORTPROBE_HEADFUL=1 did not make the suite headful")
	}
	t.Setenv(harness.EnvSlowMo, "slowly")
	s = New(Config{})
	if _, err := s.options(); err == nil || !strings.Contains(err.Error(), "PORTPROBE_SLOWMO") {
		t.Errorf("options with PORTPROBE_SLOWMO=slowly: %v", err)
	}
}

func TestExtensionWrite(t *testing.T) {
	e := Extension{Name: "x", Manifest: map[string]any{"version": "2.0"}}.WithFile("a/b.js", "1;")
	built := e.Build(t)
	data, err := os.ReadFile(filepath.Join(built.Dir, "manifest.json"))
	if err != nil || !strings.Contains(string(data), `"version": "2.0"`) || !strings.Contains(string(data), `"manifest_version": 3`) {
		t.Errorf("manifest.json = %s, %v", data, err)
	}
	if b, err := os.ReadFile(filepath.Join(built.Dir, "a", "b.js")); err != nil || string(b) != "1;" {
		t.Errorf("a/b.js = %q, %v", b, err)
	}
	if len(built.ID) != 32 {
		t.Errorf("ID = %q", built.ID)
	}
	if e.Manifest["background"] != nil || len(e.With("background", 1).Manifest) != 2 || len(e.Manifest) != 1 {
		t.Error("With changed the extension it was called on")
	}
}
