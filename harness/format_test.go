package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/onsi/gomega/format"
	"github.com/portprobe/portprobe/manifest"
	"github.com/portprobe/portprobe/pages"
	"github.com/portprobe/portprobe/trace"
)

// TestFormatIsOneLine checks that Gomega prints each public type of the
// harness as one short line of its own words, not as its fields (a
// browser's mutexes, maps and contexts).
func TestFormatIsOneLine(t *testing.T) {
	b := &Browser{trace: trace.New(), version: "HeadlessChrome/156.0.7000.0"}
	ext := &Extension{ID: testExtID, Name: "mdn-example", Dir: "/tmp/mdn-example",
		Manifest: &manifest.Manifest{ManifestVersion: 3, Name: "mdn-example", Version: "1.0"}, b: b}
	tab := &Tab{b: b, n: 1, frames: map[cdp.FrameID]string{}}
	b.extensions = []*Extension{ext}
	b.tabs = []*Tab{tab, {b: b, n: 2}}
	worker := newRealm(b, trace.WorkerRealm, testExtID)
	cs := newRealm(b, trace.ContentScriptRealm, testExtID)
	cs.Tab = tab
	host := newRealm(b, trace.NativeHostRealm, "")
	host.URL = "com.example.echo"
	srv, err := pages.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"Browser", b, "browser HeadlessChrome/156.0.7000.0 (1 extension, 2 tabs)"},
		{"Extension", ext, `extension "mdn-example" (` + testExtID + `)`},
		{"Tab", tab, "tab1"},
		{"Realm", cs, "content-script(mdn-example)@tab1"},
		{"Port", &Port{Realm: worker, Handle: 2}, "worker(mdn-example)#2"},
		{"Responder", &Responder{Realm: worker, Handle: 3}, "the reply to worker(mdn-example)#3"},
		{"NativeConn", &NativeConn{Realm: host, Origin: "chrome-extension://" + testExtID + "/"},
			"native-host(com.example.echo) started by chrome-extension://" + testExtID + "/"},
		{"PageServer", srv, "page server at http://127.0.0.1:"},
		{"PageServer not started", &pages.Server{}, "page server (not started)"},
		{"WorkerChange", WorkerChange{Status: "running", At: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Version: "7"}, "03:04:05.000 running (version 7)"},
		{"Trace", b.Trace(), "trace of 0 events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := format.Object(tt.value, 0)
			if strings.Contains(got, "\n") || len(got) > 200 || strings.Contains(got, "Mutex") || strings.Contains(got, "mu:") {
				t.Errorf("format.Object(%s) =\n%s\nwant one short line", tt.name, got)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("format.Object(%s) = %q, want it to contain %q", tt.name, got, tt.want)
			}
		})
	}

	b.closed = true
	if got, want := b.String(), "browser HeadlessChrome/156.0.7000.0 (closed)"; got != want {
		t.Errorf("String() of a closed browser = %q, want %q", got, want)
	}
	if got, want := (&Browser{}).String(), "browser (version unknown) (0 extensions, 0 tabs)"; got != want {
		t.Errorf("String() of a browser without a version = %q, want %q", got, want)
	}
}
