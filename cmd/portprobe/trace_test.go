package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portprobe/portprobe/harness"
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
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("trace: %v; output:\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("trace did not end 30 s after Ctrl-C; output:\n%s", out)
	}
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
	dir, f, err := parseTraceFlags([]string{"ext", "--for", "2s", "--headful"}, &out)
	if err != nil || dir != "ext" || f.duration != 2*time.Second || !f.headful || f.html != "portprobe-trace.html" {
		t.Errorf("folder first: got %q %+v %v", dir, f, err)
	}
	dir, f, err = parseTraceFlags([]string{"--url", "http://x/", "ext"}, &out)
	if err != nil || dir != "ext" || f.url != "http://x/" {
		t.Errorf("flags first: got %q %+v %v", dir, f, err)
	}
	if _, _, err := parseTraceFlags(nil, &out); err == nil || !strings.Contains(err.Error(), "no extension folder") {
		t.Errorf("no folder: got %v", err)
	}
	if _, _, err := parseTraceFlags([]string{"ext", "--for", "soon"}, &out); err == nil {
		t.Errorf("bad duration: no error")
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
