package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/probetest"
)

// syncBuffer is an output that tests can read while the command writes, and
// that signals each write.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.buf.Write(p)
	select {
	case s.written <- struct{}{}:
	default:
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// The MDN example has no probe code of its own: the trace command must see
// its whole exchange, from the connect the content script makes at start-up
// to the message the action click sends.
func TestTraceShowsTheMDNExampleFromStartUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	html := filepath.Join(t.TempDir(), "trace.html")
	out := &syncBuffer{written: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runTrace(ctx, []string{filepath.Join("..", "..", "fixtures", "extensions", "mdn-example"), "--click-page", "--click-action", "--html", html}, out)
	}()

	// Firefox's background is an event page (PORTPROBE_BROWSER=firefox).
	bg := "worker(mdn-example)#1"
	if os.Getenv(harness.EnvBrowser) == string(harness.Firefox) {
		bg = "background-page(mdn-example)#1"
	}
	want := []string{
		`connect           content-script(mdn-example)@tab1#1 name="port-from-cs"`,
		`onConnect         ` + bg + ` name="port-from-cs"`,
		`message           ` + bg + ` name="port-from-cs" message={"greeting":"hello from content script"}`,
		`message           content-script(mdn-example)@tab1#1 name="port-from-cs" message={"greeting":"hi there content script!"}`,
		`message           ` + bg + ` name="port-from-cs" message={"greeting":"they clicked the page!"}`,
		`message           content-script(mdn-example)@tab1#1 name="port-from-cs" message={"greeting":"they clicked the button!"}`,
	}
	deadline := time.After(30 * time.Second)
	for !containsAll(out.String(), want) {
		select {
		case <-out.written:
		case err := <-done:
			t.Fatalf("trace ended early (%v); output:\n%s", err, out)
		case <-deadline:
			t.Fatalf("trace did not show the whole exchange in 30 s; want lines with:\n%s\noutput:\n%s", strings.Join(want, "\n"), out)
		}
	}
	cancel() // as Ctrl-C does
	waitTraceEnd(t, done, out)
	if !strings.Contains(out.String(), "# sequence diagram: ") {
		t.Errorf("no diagram reported; output:\n%s", out)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatalf("reading the diagram: %v", err)
	}
	for _, lane := range []string{strings.TrimSuffix(bg, "#1"), "content-script(mdn-example)@tab1"} {
		if !strings.Contains(string(page), lane) {
			t.Errorf("the diagram has no lane %s", lane)
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func TestTraceFlags(t *testing.T) {
	var out bytes.Buffer
	dirs, f, err := parseTraceFlags([]string{"ext", "--for", "2s", "--headful"}, &out)
	if err != nil || !slices.Equal(dirs, []string{"ext"}) || f.duration != 2*time.Second || !f.headful || f.html != "portprobe-trace.html" || f.json != "" || f.mermaid != "" {
		t.Errorf("folder first: got %q %+v %v", dirs, f, err)
	}
	dirs, f, err = parseTraceFlags([]string{"--url", "http://x/", "ext"}, &out)
	if err != nil || !slices.Equal(dirs, []string{"ext"}) || f.url != "http://x/" {
		t.Errorf("flags first: got %q %+v %v", dirs, f, err)
	}
	// Several folders, before, between and after the flags.
	dirs, f, err = parseTraceFlags([]string{"a", "b", "--json", "-", "c", "--mermaid", "x.mmd", "d"}, &out)
	if err != nil || !slices.Equal(dirs, []string{"a", "b", "c", "d"}) || f.json != "-" || f.mermaid != "x.mmd" {
		t.Errorf("several folders: got %q %+v %v", dirs, f, err)
	}
	if _, _, err := parseTraceFlags(nil, &out); err == nil || !strings.Contains(err.Error(), "no extension folder") {
		t.Errorf("no folder: got %v", err)
	}
	if _, _, err := parseTraceFlags([]string{"--for", "2s"}, &out); err == nil || !strings.Contains(err.Error(), "no extension folder") {
		t.Errorf("flags only: got %v", err)
	}
	if _, _, err := parseTraceFlags([]string{"ext", "--for", "soon"}, &out); err == nil {
		t.Errorf("bad duration: no error")
	}
	if _, _, err := parseTraceFlags([]string{"ext", "--colour"}, &out); err == nil {
		t.Errorf("unknown flag: no error")
	}
}

// Two extensions at once, traced together: --json writes each printed event
// as a line of JSON, numbered as printed, while the trace runs; --mermaid
// writes the exchange at the end.
func TestTraceSeveralExtensionsAsJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	dir := t.TempDir()
	jsonPath, mermaidPath := filepath.Join(dir, "events.ndjson"), filepath.Join(dir, "exchange.mmd")
	mdn := filepath.Join("..", "..", "fixtures", "extensions", "mdn-example")
	// A second extension whose content script connects too; it has a
	// background each engine loads (the fixtures' other extensions have a
	// service worker only, which Firefox refuses).
	second := probetest.Extension{
		Name: "second",
		Manifest: map[string]any{
			"background":      map[string]any{"service_worker": "bg.js", "scripts": []string{"bg.js"}},
			"content_scripts": []any{map[string]any{"matches": []string{"http://127.0.0.1/*"}, "js": []string{"cs.js"}}},
		},
		Files: map[string]string{
			"bg.js": `chrome.runtime.onConnect.addListener((port) => port.onMessage.addListener((m) => port.postMessage({echo: m})));`,
			"cs.js": `const port = chrome.runtime.connect({name: "second"}); port.onMessage.addListener(() => {}); port.postMessage("hello");`,
		},
	}.Build(t)
	out := &syncBuffer{written: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, finished := make(chan error, 1), make(chan struct{})
	// On a failure, the command ends before the temporary folder goes.
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
		}
	})
	go func() {
		defer close(finished)
		done <- runTrace(ctx, []string{mdn, second.Dir,
			"--html", "", "--json", jsonPath, "--mermaid", mermaidPath}, out)
	}()

	type line struct {
		Seq       int             `json:"seq"`
		At        time.Time       `json:"at"`
		Realm     string          `json:"realm"`
		RealmKind string          `json:"realmKind"`
		Kind      string          `json:"kind"`
		Name      string          `json:"name"`
		Message   json.RawMessage `json:"message"`
	}
	// Both extensions' content scripts connect, and each worker answers.
	want := map[string]bool{
		"connect content-script(mdn-example)@tab1 port-from-cs": false,
		"message content-script(mdn-example)@tab1 port-from-cs": false,
		"connect content-script(second)@tab1 second":            false,
		"message content-script(second)@tab1 second":            false,
	}
	all := func() bool {
		for _, ok := range want {
			if !ok {
				return false
			}
		}
		return true
	}
	var lines []line
	read := 0 // bytes of the file parsed
	deadline := time.After(60 * time.Second)
	for !all() {
		select {
		case <-out.written:
		case err := <-done:
			t.Fatalf("trace ended early (%v); output:\n%s", err, out)
		case <-deadline:
			t.Fatalf("the JSON stream did not show both extensions' exchanges in 60 s; got %+v\noutput:\n%s", lines, out)
		}
		// The stream is read while the command runs: each line is whole
		// once written.
		data, err := os.ReadFile(jsonPath)
		if err != nil {
			continue
		}
		for {
			end := bytes.IndexByte(data[read:], '\n')
			if end < 0 {
				break
			}
			var l line
			if err := json.Unmarshal(data[read:read+end], &l); err != nil {
				t.Fatalf("line %d of the JSON stream is not JSON: %v\n%s", len(lines)+1, err, data[read:read+end])
			}
			read += end + 1
			if l.Seq != len(lines)+1 || l.At.IsZero() || l.Realm == "" || l.RealmKind == "" || l.Kind == "" {
				t.Errorf("line %d: %+v", len(lines)+1, l)
			}
			lines = append(lines, l)
			key := l.Kind + " " + l.Realm + " " + l.Name
			if _, ok := want[key]; ok {
				want[key] = true
			}
		}
	}
	// Each line is an event the command printed, with the same number.
	for _, l := range lines {
		if printed := fmt.Sprintf("%3d %s %-17s %s", l.Seq, l.At.Format("15:04:05.000000"), l.Kind, l.Realm); !strings.Contains(out.String(), printed) {
			t.Errorf("event %d of the stream was not printed as %q; output:\n%s", l.Seq, printed, out)
		}
	}
	cancel()
	waitTraceEnd(t, done, out)
	mermaid, err := os.ReadFile(mermaidPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"sequenceDiagram\n", " as content-script(mdn-example)@tab1\n", " as content-script(second)@tab1\n",
		"->>", ": connect #quot;second#quot;\n", ": post {#quot;echo#quot;:#quot;hello#quot;}\n", ": post {#quot;greeting#quot;:#quot;hi there content script!#quot;}\n"} {
		if !strings.Contains(string(mermaid), part) {
			t.Errorf("the Mermaid diagram has no %q:\n%s", part, mermaid)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tt := range []struct {
		pattern, url string
		want         bool
	}{
		{"<all_urls>", "http://127.0.0.1:4000/x", true},
		{"<all_urls>", "chrome-extension://abc/page.html", false},
		{"http://127.0.0.1/*", "http://127.0.0.1:4000/", true},
		{"*://*.amazon.com/*", "https://read.amazon.com/kindle", true},
		{"*://*.amazon.com/*", "https://amazon.com/", true},
		{"*://*.amazon.com/*", "http://127.0.0.1:4000/", false},
		{"https://*/*", "http://example.com/", false},
		{"*://example.com/a/*/c", "https://example.com/a/b/c", true},
		{"*://example.com/a/*/c", "https://example.com/a/b/d", false},
	} {
		if got := matchPattern(tt.pattern, tt.url); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.pattern, tt.url, got, tt.want)
		}
	}
}

// waitTraceEnd waits for runTrace, whose context was just cancelled (as
// Ctrl-C does), to return without an error.
func waitTraceEnd(t *testing.T, done <-chan error, out fmt.Stringer) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("trace: %v; output:\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("trace did not end 30 s after Ctrl-C; output:\n%s", out)
	}
}
