package probetest

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portprobe/portprobe/harness"
)

// Config sets up a Suite. The zero value is a suite of headless browsers
// with the harness's defaults, shaped by the environment (see the package
// documentation).
type Config struct {
	// Options are the launch options of the suite's browsers, before
	// harness.OptionsFromEnv. Extensions in it load in every browser and
	// stay for every test.
	Options harness.Options
	// Artifacts is the folder under which a failed test's artifacts go,
	// one folder per test. Empty means PORTPROBE_ARTIFACTS, or "artifacts"
	// in the test's working directory.
	Artifacts string
	// PauseOnFailure keeps a failed test's browser open until Enter is
	// pressed on the terminal, so a person can look at it (with
	// PORTPROBE_HEADFUL=1). PORTPROBE_PAUSE_ON_FAILURE=1 sets it too. It
	// does nothing when the CI variable is set or there is no terminal.
	PauseOnFailure bool
	// FreshBrowsers gives every test a browser of its own instead of the
	// shared one (slower, for chasing a leak between tests).
	// PORTPROBE_FRESH_BROWSER=1 sets it too.
	FreshBrowsers bool
}

// Suite owns the browser that the tests of one process share, and knows
// how to give each test a browser. It is safe for concurrent use, but the
// shared browser isolates tests that run one after the other (Ginkgo runs
// a process's specs one at a time; with go test, do not share it between
// parallel tests). Close ends it.
type Suite struct {
	cfg Config

	// mu guards the fields below. It is held across the launch of the
	// shared browser, so that one process launches one.
	mu      sync.Mutex
	opts    *harness.Options // cfg.Options with the environment, once read
	optsErr error
	shared  *harness.Browser
	closed  bool
}

// New returns a suite. It launches nothing: the first Browser does.
func New(cfg Config) *Suite {
	return &Suite{cfg: cfg}
}

// String names the suite briefly, for failure messages.
func (s *Suite) String() string { return "probetest.Suite" }

// GomegaString keeps Gomega's failure messages short.
func (s *Suite) GomegaString() string { return s.String() }

// Options returns the suite's launch options: Config.Options with the
// environment applied. A test that launches a browser of its own starts from
// them. It fails t when the environment has a value it cannot read.
func (s *Suite) Options(t testing.TB) harness.Options {
	t.Helper()
	opts, err := s.options()
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

func (s *Suite) options() (harness.Options, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.optionsLocked()
}

func (s *Suite) optionsLocked() (harness.Options, error) {
	if s.opts == nil && s.optsErr == nil {
		opts, err := harness.OptionsFromEnv(s.cfg.Options)
		if err != nil {
			s.optsErr = fmt.Errorf("probetest: reading the environment: %w", err)
		} else {
			s.opts = &opts
		}
	}
	if s.optsErr != nil {
		return harness.Options{}, s.optsErr
	}
	opts := *s.opts
	opts.Extensions = slices.Clone(opts.Extensions)
	return opts, nil
}

// Browser gives t a browser with the extensions in dirs loaded.
//
// The browser is the suite's shared one: a launch costs about a second, a
// load a few milliseconds. t is isolated from the tests before it: its
// trace starts empty and takes only the events of the extensions it loads
// (and of web pages), and when t ends its tabs are emptied (kept for the next
// test's OpenTab) and its extensions uninstalled, which ends their workers
// and storage. A test that closes the shared browser, or after which it
// cannot be cleaned, leaves the next test a new one. When t fails, its
// artifacts are written first (see WhenFailed).
//
// ctx bounds the loads (a Ginkgo spec passes its SpecContext). With
// Config.FreshBrowsers, Browser is Launch.
func (s *Suite) Browser(ctx context.Context, t testing.TB, dirs ...string) *harness.Browser {
	t.Helper()
	if s.fresh() {
		opts := s.Options(t)
		opts.Extensions = append(opts.Extensions, dirs...)
		return s.Launch(ctx, t, opts)
	}
	b, err := s.sharedBrowser()
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]bool{}
	for _, e := range b.Extensions() {
		before[e.ID] = true
	}
	tabsBefore := b.Tabs()
	start, spent := time.Now(), b.TimeSpent()
	t.Cleanup(func() {
		s.isolate(t, b, before, tabsBefore)
		reportTime(t, SpecTime{Total: time.Since(start), TimeSpent: b.TimeSpent().Sub(spent)})
	})
	s.WhenFailed(t, b)
	b.ResetTrace(func(r *harness.Realm) bool {
		if r.ExtensionID == "" {
			return true // a web page of this test's tabs
		}
		return !before[r.ExtensionID] && r.Extension() != nil
	})
	for _, dir := range dirs {
		if _, err := b.LoadExtension(ctx, dir); err != nil {
			t.Fatalf("probetest: %v", err)
		}
	}
	return b
}

// cleanupTimeout bounds the cleaning of the shared browser after a test.
const cleanupTimeout = 30 * time.Second

// isolate empties what a test left in the shared browser: its tabs and its
// extensions. When that fails, or the browser ended, the suite drops the
// browser and the next test gets a new one; an extension that does not
// uninstall also fails t, since the harness should have managed it.
func (s *Suite) isolate(t testing.TB, b *harness.Browser, before map[string]bool, tabsBefore []*harness.Tab) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	var failed error
	if err := b.Err(); err != nil {
		failed = err
	}
	for _, tab := range b.Tabs() {
		if failed == nil && !slices.Contains(tabsBefore, tab) {
			// Recycle closes a tab it cannot empty; the error is the
			// browser's end, seen below.
			tab.Recycle(ctx)
		}
	}
	for _, e := range b.Extensions() {
		if failed == nil && !before[e.ID] {
			if err := e.Uninstall(ctx); err != nil && b.Err() == nil {
				failed = fmt.Errorf("uninstalling %s: %w", e, err)
				t.Errorf("probetest: %v (the next test gets a new browser)", failed)
			}
		}
	}
	if failed == nil {
		failed = b.Err()
	}
	if failed == nil {
		return
	}
	s.mu.Lock()
	if s.shared == b {
		s.shared = nil
	}
	s.mu.Unlock()
	b.Close()
}

// sharedBrowser returns the shared browser, launching it when there is none
// (the first test, or the one after a test that broke it).
func (s *Suite) sharedBrowser() (*harness.Browser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("probetest: the suite is closed")
	}
	if s.shared != nil && s.shared.Err() == nil {
		return s.shared, nil
	}
	if s.shared != nil {
		s.shared.Close()
		s.shared = nil
	}
	opts, err := s.optionsLocked()
	if err != nil {
		return nil, err
	}
	// The shared browser outlives the test that launched it: its context
	// bounds only the launch.
	ctx, cancel := context.WithTimeout(context.Background(), 2*cmp.Or(opts.Timeout, harness.DefaultTimeout)+30*time.Second)
	defer cancel()
	b, err := harness.Launch(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("probetest: launching the shared browser: %w", err)
	}
	s.shared = b
	return b, nil
}

// Launch gives t a browser of its own with opts as given (start from
// Options), closed when t ends, after its artifacts are written when t
// failed. A test that needs other flags, or a launch that fails, uses it.
func (s *Suite) Launch(ctx context.Context, t testing.TB, opts harness.Options) *harness.Browser {
	t.Helper()
	b, err := harness.Launch(ctx, opts)
	if err != nil {
		t.Fatalf("probetest: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	s.WhenFailed(t, b)
	return b
}

// Close ends the shared browser; later calls of Browser fail.
func (s *Suite) Close() error {
	s.mu.Lock()
	b := s.shared
	s.shared, s.closed = nil, true
	s.mu.Unlock()
	if b == nil {
		return nil
	}
	return b.Close()
}

func (s *Suite) fresh() bool {
	return s.cfg.FreshBrowsers || envOn("PORTPROBE_FRESH_BROWSER")
}

// envOn reports whether the environment variable is set to something other
// than "", "0" or "false".
func envOn(name string) bool {
	v := os.Getenv(name)
	return v != "" && v != "0" && v != "false"
}
