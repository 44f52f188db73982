package scenario

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/matchers"
	"github.com/portprobe/portprobe/trace"
)

// Result is the outcome of a scenario that ran.
type Result struct {
	// Passed is true when every step ran and every expectation held.
	Passed bool
	// Failure says what failed, when not Passed: a step's error, or the
	// failure message of the matcher (matchers.HaveEvent,
	// matchers.HaveEventsInOrder) or of the wait (trace.WaitError), each
	// with the trace so far.
	Failure string
	// Browser is the browser's name and version.
	Browser string
	// Events is the whole trace at the end.
	Events []trace.Event
	// Title names the run, for a diagram of Events.
	Title string
}

// Run plays s in a browser that it launches with opts (s.Browser wins over
// opts.Browser) and closes before it returns. s.Timeout, or else
// opts.Timeout, or else harness.DefaultTimeout, bounds each wait step and
// the wait for the expected events. It writes one line per step to progress
// (nil: nowhere). An error means the scenario could not run: a mistake in
// it (an *InputError, such as an extension the browser refuses) or a
// browser that would not start; a step or an expectation that fails is a
// Result that did not pass.
func Run(ctx context.Context, s *Scenario, opts harness.Options, progress io.Writer) (*Result, error) {
	if s.doc == nil {
		return nil, errors.New("running a scenario: it must come from Load or Parse, which check it")
	}
	if s.manifests == nil {
		if err := s.readManifests(); err != nil {
			return nil, err
		}
	}
	if progress == nil {
		progress = io.Discard
	}
	if s.Browser != "" {
		opts.Browser = harness.Engine(s.Browser)
	}
	// The scenario's timeout bounds its waits; the harness's own (loading
	// an extension, opening a tab) keep opts'.
	timeout := cmp.Or(s.Timeout, opts.Timeout, harness.DefaultTimeout)
	b, err := harness.Launch(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", s.File, err)
	}
	defer b.Close()
	for path, html := range s.Pages {
		b.Pages().Handle(path, html)
	}
	r := &runner{s: s, b: b, progress: progress, timeout: timeout, tabs: map[string]*harness.Tab{}, urls: map[*harness.Tab]string{}}
	// An extension the browser refuses is a mistake in the input.
	for i := range s.Extensions {
		ext, err := b.LoadExtension(ctx, s.ExtensionDir(i))
		var refused *harness.ExtensionLoadError
		if errors.As(err, &refused) {
			return nil, &InputError{File: s.File, Line: lineOf(s.doc, "extensions", i), Field: fmt.Sprintf("extensions[%d]", i), Err: err}
		}
		if err != nil {
			return nil, fmt.Errorf("running %s: loading extension %q: %w", s.File, s.Extensions[i], err)
		}
		r.say("%s loaded in %s", ext, b.Version())
		r.exts = append(r.exts, ext)
	}
	res := &Result{Browser: b.Version(), Title: "portprobe check " + s.File}
	res.Failure = r.run(ctx)
	res.Passed = res.Failure == ""
	res.Events = b.Trace().Events()
	return res, nil
}

// runner plays one scenario in one browser.
type runner struct {
	s        *Scenario
	b        *harness.Browser
	progress io.Writer
	timeout  time.Duration
	exts     []*harness.Extension
	tabs     map[string]*harness.Tab
	current  *harness.Tab
	// urls are the addresses the steps loaded in each tab, for reload
	// where the engine does not tell the tab's URL (Firefox).
	urls map[*harness.Tab]string
	// since is when the last step that is not a wait began, and what it
	// was: a wait looks for events from then on.
	since     time.Time
	sinceStep string
}

func (r *runner) say(format string, args ...any) {
	fmt.Fprintf(r.progress, "# "+format+"\n", args...)
}

// run runs the steps and checks the expectations; it returns what failed,
// or "".
func (r *runner) run(ctx context.Context) string {
	for _, ext := range r.exts {
		if err := workerStarted(ctx, ext); err != nil {
			return fmt.Sprintf("starting the background of %s: %v\ntrace so far:\n%s", ext, err, trace.FormatEvents(r.b.Trace().Events()))
		}
	}
	for i := range r.s.Steps {
		st := &r.s.Steps[i]
		if st.action != "wait" {
			// The realms' clocks and Go's agree to a millisecond or two.
			r.since, r.sinceStep = time.Now().Add(-clockSlack), fmt.Sprintf("step %d (%s)", i+1, st.action)
		}
		if err := r.step(ctx, st); err != nil {
			var we *trace.WaitError
			if errors.As(err, &we) {
				return fmt.Sprintf("step %d (line %d, %s): %v", i+1, st.Line, st.action, err)
			}
			return fmt.Sprintf("step %d (line %d, %s): %v\ntrace so far:\n%s", i+1, st.Line, st.action, err, trace.FormatEvents(r.b.Trace().Events()))
		}
	}
	return r.expect(ctx)
}

// clockSlack is how far apart the realms' clocks and Go's may be.
const clockSlack = 2 * time.Millisecond

// workerStarted waits until the extension's service worker has run its
// top-level code, so the listeners it adds there are in place before the
// first page opens (as portprobe trace does).
func workerStarted(ctx context.Context, ext *harness.Extension) error {
	if ext.Manifest.Background == nil || ext.Manifest.Background.ServiceWorker == "" {
		return nil
	}
	w, err := ext.Worker(ctx)
	if err != nil {
		return err
	}
	// An evaluation runs after the worker's top-level code.
	_, err = w.Eval(ctx, "0")
	return err
}

// url returns a step's address: a path of the page server, or as written.
func (r *runner) url(s string) string {
	if strings.HasPrefix(s, "/") {
		return r.b.Pages().URL(s)
	}
	return s
}

// tab returns the tab a step acts on.
func (r *runner) tab(st *Step) (*harness.Tab, error) {
	t := r.current
	if st.Tab != "" {
		t = r.tabs[st.Tab]
	}
	if t == nil || t.Closed() {
		return nil, errors.New("no open tab to act on")
	}
	return t, nil
}

func (r *runner) step(ctx context.Context, st *Step) error {
	if st.action == "open" {
		url := r.url(st.Open)
		t, err := r.b.OpenTab(ctx, url)
		if err != nil {
			return err
		}
		if st.As != "" {
			r.tabs[st.As] = t
		}
		r.current, r.urls[t] = t, url
		r.say("%s opened %s", t, url)
		return nil
	}
	if st.action == "open_page" {
		ext := r.exts[st.ext]
		t, page, err := ext.OpenPage(ctx, st.OpenPage)
		if err != nil {
			return err
		}
		if st.As != "" {
			r.tabs[st.As] = t
		}
		r.current, r.urls[t] = t, page.URL
		r.say("%s opened %s of %s", t, st.OpenPage, ext)
		return nil
	}
	if st.action == "wait" {
		q := st.Wait.Query(r.extName)
		if !r.since.IsZero() {
			since := r.since
			q = q.Where("since "+r.sinceStep, func(e trace.Event) bool { return !e.At.Before(since) })
		}
		r.say("waiting for %s", q)
		wctx, cancel := context.WithTimeout(ctx, r.timeout)
		defer cancel()
		_, err := r.b.Trace().Wait(wctx, q)
		return err
	}
	switch st.action {
	case "click_action", "stop_worker", "reload_extension", "disable_extension", "enable_extension", "uninstall_extension":
		ext := r.exts[st.ext]
		switch st.action {
		case "click_action":
			t, err := r.tab(st)
			if err != nil {
				return err
			}
			r.say("clicking the action of %s in %s", ext, t)
			return ext.ClickAction(ctx, t)
		case "stop_worker":
			r.say("stopping the worker of %s", ext)
			return ext.StopWorker(ctx)
		case "reload_extension":
			r.say("reloading %s", ext)
			return ext.Reload(ctx)
		case "disable_extension":
			r.say("disabling %s", ext)
			return ext.Disable(ctx)
		case "enable_extension":
			r.say("enabling %s", ext)
			return ext.Enable(ctx)
		default:
			r.say("uninstalling %s", ext)
			return ext.Uninstall(ctx)
		}
	}
	t, err := r.tab(st)
	if err != nil {
		return err
	}
	switch st.action {
	case "click":
		r.say("clicking %q in %s", st.Click, t)
		return t.Click(ctx, st.Click)
	case "navigate":
		url := r.url(st.Navigate)
		r.say("%s navigating to %s", t, url)
		r.urls[t] = url
		return t.Navigate(ctx, url)
	case "reload":
		url := cmp.Or(t.URL(), r.urls[t])
		r.say("reloading %s (%s)", t, url)
		return t.Navigate(ctx, url)
	case "close":
		r.say("closing %s", t)
		if err := t.Close(ctx); err != nil {
			return err
		}
		if t == r.current {
			r.current = nil
			for _, other := range r.b.Tabs() {
				if !other.Closed() {
					r.current = other
				}
			}
		}
		return nil
	}
	return fmt.Errorf("unknown action %q", st.action)
}

// extName names extension i for a query: its manifest name and its ID in
// this browser.
func (r *runner) extName(i int) (string, string) {
	return r.exts[i].Name, r.exts[i].ID
}

// expect waits, up to the timeout, until the expected events are in the
// trace, then checks that the absent ones are not; it returns the failure
// message, or "".
func (r *runner) expect(ctx context.Context) string {
	ms := r.s.matchers(r.extName)
	r.say("checking %d expected and %d absent events", len(r.s.Expect.Events), len(r.s.Expect.Absent))
	wctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	waitFor(wctx, r.b.Trace(), ms.present)
	// Every realm hands over what it still holds before the absent events
	// are looked for.
	if _, err := r.b.Sync(ctx); err != nil {
		r.say("%v; checking what came", err)
	}
	return ms.check(r.b.Trace().Events())
}

// expectation holds the matchers of a scenario's Expect.
type expectation struct {
	present []trace.Matcher
	absent  []trace.Matcher
}

// matchers builds the matchers of s.Expect: one HaveEventsInOrder when
// InOrder, else one HaveEvent per event, and one HaveEvent per absent event.
func (s *Scenario) matchers(ext func(int) (string, string)) expectation {
	var m expectation
	var qs []*trace.Query
	for i := range s.Expect.Events {
		qs = append(qs, s.Expect.Events[i].Query(ext))
	}
	if s.Expect.InOrder && len(qs) > 0 {
		m.present = append(m.present, matchers.HaveEventsInOrder(qs...))
	} else {
		for _, q := range qs {
			m.present = append(m.present, matchers.HaveEvent(q))
		}
	}
	for i := range s.Expect.Absent {
		m.absent = append(m.absent, matchers.HaveEvent(s.Expect.Absent[i].Query(ext)))
	}
	return m
}

// check returns the failure message of the first matcher that fails on
// events, or "".
func (m expectation) check(events []trace.Event) string {
	for _, p := range m.present {
		ok, err := p.Match(events)
		if err != nil {
			return err.Error()
		}
		if !ok {
			return p.FailureMessage(events)
		}
	}
	for _, a := range m.absent {
		ok, err := a.Match(events)
		if err != nil {
			return err.Error()
		}
		if ok {
			return a.NegatedFailureMessage(events)
		}
	}
	return ""
}

// Check checks s.Expect against events alone, with no browser and no
// waiting: the failure message, or "" when every expectation holds. ext
// names extension i by manifest name and ID, for the events' realms.
func (s *Scenario) Check(events []trace.Event, ext func(i int) (name, id string)) string {
	return s.matchers(ext).check(events)
}

// waitFor returns once every matcher matches the trace, or ctx ends. It
// looks again each time the trace changes.
func waitFor(ctx context.Context, t *trace.Trace, ms []trace.Matcher) {
	changed := make(chan struct{}, 1)
	stop := t.Watch(func(trace.Event) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer stop()
	for {
		events := t.Events()
		all := true
		for _, m := range ms {
			if ok, err := m.Match(events); err != nil || !ok {
				all = false
				break
			}
		}
		if all {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}
