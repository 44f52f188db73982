package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portprobe/portprobe/diagram"
	"github.com/portprobe/portprobe/manifest"
	"github.com/portprobe/portprobe/trace"

	"github.com/portprobe/portprobe/harness"
)

func init() {
	commands["trace"] = command{
		summary: "load extensions, open a page and print every port event live",
		run:     func(ctx context.Context, args []string) error { return runTrace(ctx, args, os.Stdout) },
	}
}

// traceFlags are the flags of portprobe trace.
type traceFlags struct {
	url         string
	headful     bool
	duration    time.Duration
	html        string
	clickAction bool
	clickPage   bool
	chrome      string
	browser     string
	page        string
	json        string
	mermaid     string
	maxEvents   int
}

func parseTraceFlags(args []string, out io.Writer) (dirs []string, f traceFlags, err error) {
	fs := flag.NewFlagSet("portprobe trace", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: portprobe trace <extension-dir>... [flags]\n\n"+
			"Loads the unpacked extensions (no change to them needed), opens a page, and\n"+
			"prints every port event of their workers, content scripts and pages as it\n"+
			"happens, from each context's first line of code: popups, tabs and windows they\n"+
			"open, iframes, offscreen documents and side panels included. On Ctrl-C (or after\n"+
			"--for) it says which contexts it saw and writes the trace as an HTML sequence\n"+
			"diagram (and, when asked, as Mermaid). --json writes each event as a line of\n"+
			"JSON as it prints it.\n\nflags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.url, "url", "", "page to open (default: the built-in local page, http://127.0.0.1:<port>/)")
	fs.BoolVar(&f.headful, "headful", false, "show the browser window")
	fs.DurationVar(&f.duration, "for", 0, "stop after this long (default: until Ctrl-C)")
	fs.StringVar(&f.html, "html", "portprobe-trace.html", "where to write the sequence diagram (empty: nowhere)")
	fs.BoolVar(&f.clickAction, "click-action", false, "click each extension's toolbar action once the page's content scripts ran")
	fs.BoolVar(&f.clickPage, "click-page", false, "click the page's body once its content scripts ran")
	fs.StringVar(&f.page, "page", "", "also open this page of the (first) extension in a tab, such as popup.html (its ID is not needed)")
	fs.StringVar(&f.json, "json", "", "also write each event as one line of JSON (NDJSON, the fields of trace.json) to this file as it is printed; - for stdout (the text then goes to stderr)")
	fs.IntVar(&f.maxEvents, "max-events", 0, "keep only the last this many events in memory, for a long session (0: all); every event is still printed and written to --json as it comes, and the end says how many were dropped")
	fs.StringVar(&f.mermaid, "mermaid", "", "at the end, write the exchange as a Mermaid sequenceDiagram to this file")
	fs.StringVar(&f.chrome, "chrome", "", "Chrome binary (default: PORTPROBE_CHROME, then the usual places)")
	fs.StringVar(&f.browser, "browser", "", "engine: chrome or firefox (default: PORTPROBE_BROWSER, then chrome; Firefox: no popups or iframes yet)")
	// The folders may come before, after and between the flags.
	for {
		for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			dirs, args = append(dirs, args[0]), args[1:]
		}
		if len(args) == 0 {
			break
		}
		if err := fs.Parse(args); err != nil {
			return nil, f, err
		}
		args = fs.Args()
	}
	if len(dirs) == 0 {
		fs.Usage()
		return nil, f, errors.New("no extension folder given")
	}
	if f.maxEvents < 0 {
		return nil, f, fmt.Errorf("--max-events %d: want 0 (keep all) or more", f.maxEvents)
	}
	return dirs, f, nil
}

// runTrace is portprobe trace: it prints events to out until ctx ends or
// --for runs out, then writes the diagram.
func runTrace(ctx context.Context, args []string, out io.Writer) error {
	dirs, f, err := parseTraceFlags(args, out)
	if err != nil {
		return err
	}
	// The NDJSON stream: a file, or stdout with the text moved to stderr.
	var jsonOut io.Writer
	switch f.json {
	case "":
	case "-":
		jsonOut, out = out, os.Stderr
	default:
		file, err := os.Create(f.json)
		if err != nil {
			return fmt.Errorf("opening the JSON stream: %w", err)
		}
		defer file.Close()
		jsonOut = file
	}
	opts, err := harness.OptionsFromEnv(harness.Options{
		Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "portprobe: "+format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	// The flags win over the environment.
	opts.ChromePath = cmp.Or(f.chrome, opts.ChromePath)
	opts.Headful = opts.Headful || f.headful
	opts.TraceLimits.MaxEvents = f.maxEvents
	switch e := harness.Engine(f.browser); e {
	case "":
	case harness.Chrome, harness.Firefox:
		opts.Browser = e
	default:
		return fmt.Errorf("--browser %q: want chrome or firefox", f.browser)
	}
	b, err := harness.Launch(ctx, opts)
	if err != nil {
		return err
	}
	defer b.Close()

	// Print events as they arrive, off the trace's lock.
	p := &printer{out: out, json: jsonOut, wake: make(chan struct{}, 1)}
	stopWatch := b.Trace().Watch(p.add)
	defer stopWatch()
	printed := make(chan struct{})
	pctx, stopPrinting := context.WithCancel(context.Background())
	go func() { defer close(printed); p.run(pctx, b) }()

	// Loading after Launch, with the watcher in place, sees the worker's
	// first events too.
	var exts []*harness.Extension
	var names []string
	for _, dir := range dirs {
		ext, err := b.LoadExtension(ctx, dir)
		if err != nil {
			stopPrinting()
			return err
		}
		p.say("%s loaded in %s", ext, b.Version())
		exts, names = append(exts, ext), append(names, ext.Name)
	}
	for _, ext := range exts {
		if err := workerStarted(ctx, ext); err != nil {
			p.say("%v", err)
		}
	}
	ext := exts[0]
	url := f.url
	if url == "" {
		url = b.Pages().URL("/")
	}
	tab, err := b.OpenTab(ctx, url)
	if err != nil {
		stopPrinting()
		return err
	}
	p.say("%s opened %s", tab, url)
	if f.page != "" {
		ptab, _, err := ext.OpenPage(ctx, f.page)
		if err != nil {
			p.say("opening %s: %v", f.page, err)
		} else {
			p.say("%s opened %s", ptab, ext.URL(f.page))
		}
	}
	if f.clickAction || f.clickPage {
		if err := clickWhenReady(ctx, b, exts, tab, f, p); err != nil {
			p.say("%v", err)
		}
	}

	wait := ctx
	if f.duration > 0 {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	} else {
		p.say("tracing; press Ctrl-C to stop")
	}
	<-wait.Done()
	stopPrinting()
	<-printed
	p.flush()

	events := b.Trace().Events()
	if dropped := b.Trace().Dropped(); dropped > 0 {
		p.say("%d events (the last %d of %d: --max-events dropped the first %d from the diagram)", len(events), len(events), len(events)+dropped, dropped)
	} else {
		p.say("%d events", len(events))
	}
	for _, line := range contextSummary(b, events) {
		p.say("%s", line)
	}
	if err := p.jsonErr(); err != nil {
		return fmt.Errorf("writing the JSON stream %s: %w", f.json, err)
	}
	// ctx may be cancelled by Ctrl-C already; writing the files needs no browser.
	title := "portprobe trace of " + strings.Join(names, ", ")
	if f.html != "" {
		if err := writeFile(f.html, func(w io.Writer) error { return diagram.Write(w, title, events) }); err != nil {
			return fmt.Errorf("writing the diagram %s: %w", f.html, err)
		}
		abs, _ := filepath.Abs(f.html)
		p.say("sequence diagram: %s", abs)
	}
	if f.mermaid != "" {
		if err := writeFile(f.mermaid, func(w io.Writer) error { return diagram.WriteMermaid(w, events) }); err != nil {
			return fmt.Errorf("writing the Mermaid diagram %s: %w", f.mermaid, err)
		}
		abs, _ := filepath.Abs(f.mermaid)
		p.say("Mermaid diagram: %s", abs)
	}
	return nil
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(file); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// workerStarted waits until the extension's service worker has run its
// top-level code, so the listeners it adds there (tabs.onUpdated, say) are in
// place before the page opens.
func workerStarted(ctx context.Context, ext *harness.Extension) error {
	if ext.Manifest.Background == nil || ext.Manifest.Background.ServiceWorker == "" {
		return nil
	}
	w, err := ext.Worker(ctx)
	if err != nil {
		return fmt.Errorf("opening the page without waiting for the worker: %w", err)
	}
	// An evaluation runs after the worker's top-level code, which runs in
	// one task once the harness resumes it.
	if _, err := w.Eval(ctx, "0"); err != nil {
		return fmt.Errorf("opening the page without waiting for the worker: %w", err)
	}
	return nil
}

// contextSummary says which of the extension's contexts the harness probed,
// and which it saw only as the sender of a port or message (not probed).
func contextSummary(b *harness.Browser, events []trace.Event) []string {
	var probed []string
	urls := map[string]bool{}
	for _, r := range b.RealmsSeen() {
		probed = append(probed, fmt.Sprintf("%s %s", r, r.URL))
		urls[r.URL] = true
	}
	lines := []string{fmt.Sprintf("contexts probed (%d):", len(probed))}
	for _, s := range probed {
		lines = append(lines, "  "+s)
	}
	var unprobed []string
	for _, e := range events {
		switch e.Kind {
		case trace.KindOnConnect, trace.KindOnConnectExternal, trace.KindOnUserScriptConnect,
			trace.KindOnMessage, trace.KindOnMessageExternal, trace.KindOnUserScriptMessage:
		default:
			continue
		}
		raw, ok := e.SenderField("url")
		var url string
		if !ok || json.Unmarshal(raw, &url) != nil || url == "" || urls[url] {
			continue
		}
		urls[url] = true
		verb := "connected to "
		if e.Kind == trace.KindOnMessage || e.Kind == trace.KindOnMessageExternal || e.Kind == trace.KindOnUserScriptMessage {
			verb = "sent a message to "
		}
		unprobed = append(unprobed, "  "+url+" ("+verb+e.Realm.String()+")")
	}
	if len(unprobed) > 0 {
		lines = append(lines, fmt.Sprintf("contexts seen only as senders, not probed (%d):", len(unprobed)))
		lines = append(lines, unprobed...)
	}
	return lines
}

// clickWhenReady waits until the extensions' content scripts in tab have
// run their top-level code and their ports have reached their listeners,
// then clicks what the flags ask for: the page once, and each extension's
// action.
func clickWhenReady(ctx context.Context, b *harness.Browser, exts []*harness.Extension, tab *harness.Tab, f traceFlags, p *printer) error {
	for _, ext := range exts {
		if !declaresContentScriptFor(ext.Manifest, tab.URL()) {
			continue
		}
		cs, err := ext.ContentScript(ctx, tab)
		if err != nil {
			return fmt.Errorf("not clicking: %w", err)
		}
		// An evaluation runs after the script's top-level code, which runs
		// in one task once the harness resumes it.
		if _, err := cs.Eval(ctx, "0"); err != nil {
			return fmt.Errorf("not clicking: %w", err)
		}
	}
	// A click handler may post on a port that the content script opened at
	// start-up, whose other end must have it by then: the MDN example's
	// worker keeps the port its onConnect got, and an action click before
	// that finds none. So wait until each of the tab's connects has reached
	// a listener (or give up on it after a few seconds, and say so).
	for _, e := range b.Trace().Events() {
		if e.Kind != trace.KindConnect || e.Realm.Describe().Tab != tab.String() {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := b.Trace().Wait(wctx, trace.OnConnect().Named(e.Name))
		cancel()
		if err != nil {
			p.say("the port %q of %s reached no onConnect in 5 s; clicking anyway", e.Name, e.Realm)
		}
	}
	if f.clickPage {
		p.say("clicking the page in %s", tab)
		if err := tab.Click(ctx, "body"); err != nil {
			return err
		}
	}
	if f.clickAction {
		for _, ext := range exts {
			p.say("clicking the action of %s", ext)
			if err := ext.ClickAction(ctx, tab); err != nil {
				return err
			}
		}
	}
	return nil
}

// declaresContentScriptFor reports whether one of the manifest's content
// scripts runs in the main frame of a page at url.
func declaresContentScriptFor(m *manifest.Manifest, url string) bool {
	for _, cs := range m.ContentScripts {
		if len(cs.JS) == 0 {
			continue
		}
		for _, p := range cs.Matches {
			if matchPattern(p, url) {
				return true
			}
		}
	}
	return false
}

// matchPattern reports whether url matches a match pattern of a manifest
// ("<all_urls>", "*://*.example.com/*", "http://127.0.0.1/*"). Ports are
// ignored, as Chrome ignores them.
func matchPattern(pattern, url string) bool {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return false
	}
	if pattern == "<all_urls>" {
		return slices.Contains([]string{"http", "https", "file", "ws", "wss"}, scheme)
	}
	pScheme, pRest, ok := strings.Cut(pattern, "://")
	if !ok || !(pScheme == scheme || pScheme == "*" && (scheme == "http" || scheme == "https")) {
		return false
	}
	host, path, _ := strings.Cut(rest, "/")
	pHost, pPath, _ := strings.Cut(pRest, "/")
	host, _, _ = strings.Cut(host, ":")
	pHost, _, _ = strings.Cut(pHost, ":")
	switch {
	case pHost == "*":
	case strings.HasPrefix(pHost, "*."):
		if host != pHost[2:] && !strings.HasSuffix(host, pHost[1:]) {
			return false
		}
	case pHost != host:
		return false
	}
	return globMatch(pPath, path)
}

// globMatch matches s against a pattern whose only special character is *.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, part := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, part)
		}
		j := strings.Index(s, part)
		if j < 0 {
			return false
		}
		s = s[j+len(part):]
	}
	return s == ""
}

// printer prints events in the order they arrive, and writes each as a line
// of JSON to json when set; add never blocks.
type printer struct {
	out  io.Writer
	json io.Writer // nil: no JSON stream
	wake chan struct{}

	mu      sync.Mutex
	pending []trace.Event

	outMu      sync.Mutex // one writer at a time
	printed    int        // guarded by outMu
	jsonFailed error      // the first error writing json; guarded by outMu
}

// say prints a note line, starting with "# ".
func (p *printer) say(format string, args ...any) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	fmt.Fprintf(p.out, "# "+format+"\n", args...)
}

func (p *printer) add(e trace.Event) {
	p.mu.Lock()
	p.pending = append(p.pending, e)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// settle is how long the printer gathers events before it prints a batch.
// Realms report through separate sessions, so an event can arrive after a
// later event of another realm; before printing, the printer asks every
// realm for what it holds (Browser.Sync) and prints only the events stamped
// before that, so nothing printed is ever followed by an earlier event.
const settle = 30 * time.Millisecond

// clockSlack is how far apart the realms' clocks and Go's may be.
const clockSlack = 2 * time.Millisecond

func (p *printer) run(ctx context.Context, b *harness.Browser) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for p.hasPending() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(settle):
			}
			upTo, err := b.Sync(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				p.say("%v; printing what came", err)
				upTo = time.Now()
			}
			p.flushBefore(upTo.Add(-clockSlack))
		}
	}
}

func (p *printer) hasPending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending) > 0
}

// flushBefore prints the pending events stamped before t, in time order.
func (p *printer) flushBefore(t time.Time) {
	p.mu.Lock()
	var ready, later []trace.Event
	for _, e := range p.pending {
		if e.At.Before(t) {
			ready = append(ready, e)
		} else {
			later = append(later, e)
		}
	}
	p.pending = later
	p.mu.Unlock()
	p.print(ready)
}

// flush prints the pending events in time order.
func (p *printer) flush() {
	p.mu.Lock()
	events := p.pending
	p.pending = nil
	p.mu.Unlock()
	p.print(events)
}

// print prints events in time order, numbered as printed.
func (p *printer) print(events []trace.Event) {
	slices.SortStableFunc(events, func(a, b trace.Event) int { return a.At.Compare(b.At) })
	p.outMu.Lock()
	defer p.outMu.Unlock()
	for _, e := range events {
		p.printed++
		e.Seq = p.printed
		if p.json != nil && p.jsonFailed == nil {
			// One write per event, before its text: a reader of the stream
			// (a file, a pipe) sees each line whole, by the time the text
			// shows it.
			line, err := json.Marshal(e)
			if err == nil {
				_, err = p.json.Write(append(line, '\n'))
			}
			p.jsonFailed = err
		}
		fmt.Fprintln(p.out, e.String())
	}
}

// jsonErr returns the first error writing the JSON stream.
func (p *printer) jsonErr() error {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	return p.jsonFailed
}
