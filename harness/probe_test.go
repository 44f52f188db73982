package harness

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portprobe/portprobe/trace"
)

// Fake realms, made without a browser. String() falls back to the ID, as no
// extension is loaded.
const (
	testExtID  = "abcdefghijklmnopabcdefghijklmnop"
	otherExtID = "ponmlkjihgfedcbaponmlkjihgfedcba"
)

// fakeBrowser returns a browser with an empty trace and a Logf that records
// its calls, and a worker realm of it.
type fakeBrowser struct {
	*Browser
	worker *Realm

	mu   sync.Mutex
	logs []string
}

func newFakeBrowser(t *testing.T) *fakeBrowser {
	t.Helper()
	fb := &fakeBrowser{}
	fb.Browser = &Browser{trace: trace.New()}
	fb.opts.Logf = func(format string, args ...any) {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		fb.logs = append(fb.logs, fmt.Sprintf(format, args...))
	}
	fb.worker = newRealm(fb.Browser, trace.WorkerRealm, testExtID)
	return fb
}

func (fb *fakeBrowser) logged() []string {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return append([]string(nil), fb.logs...)
}

// checkTraceOrder fails unless events are sorted by At and numbered 1..n.
func checkTraceOrder(t *testing.T, events []trace.Event) {
	t.Helper()
	for i, e := range events {
		if e.Seq != i+1 {
			t.Errorf("events[%d].Seq = %d, want %d", i, e.Seq, i+1)
		}
		if i > 0 && events[i-1].At.After(e.At) {
			t.Errorf("events[%d].At = %v is before events[%d].At = %v", i, e.At, i-1, events[i-1].At)
		}
	}
}

func TestRecordDecodes(t *testing.T) {
	// 1700000000123.4 ms after the epoch.
	wantAt := time.UnixMicro(1700000000123400)
	tests := []struct {
		name    string
		payload string
		want    trace.Event // At is wantAt, Realm the worker, Seq 1
	}{
		{
			name:    "message",
			payload: `{"k":"message","p":1,"t":1700000000123.4,"n":"port-from-cs","m":{"a":1}}`,
			want:    trace.Event{Kind: trace.KindMessage, Port: 1, Name: "port-from-cs", Message: json.RawMessage(`{"a":1}`)},
		},
		{
			name:    "post of a string",
			payload: `{"k":"post","p":3,"t":1700000000123.4,"m":"hi"}`,
			want:    trace.Event{Kind: trace.KindPost, Port: 3, Message: json.RawMessage(`"hi"`)},
		},
		{
			name:    "post of null",
			payload: `{"k":"post","p":3,"t":1700000000123.4,"m":null}`,
			want:    trace.Event{Kind: trace.KindPost, Port: 3, Message: json.RawMessage(`null`)},
		},
		{
			name:    "post of undefined has no message",
			payload: `{"k":"post","p":3,"t":1700000000123.4}`,
			want:    trace.Event{Kind: trace.KindPost, Port: 3},
		},
		{
			name:    "connect",
			payload: `{"k":"connect","p":2,"t":1700000000123.4,"n":"port-from-cs","call":"tabs.connect"}`,
			want:    trace.Event{Kind: trace.KindConnect, Port: 2, Name: "port-from-cs", Call: "tabs.connect"},
		},
		{
			name:    "onConnect with sender",
			payload: `{"k":"onConnect","p":1,"t":1700000000123.4,"n":"x","s":{"id":"abc","frameId":0,"tab":{"id":5,"url":"https://example.com/"}}}`,
			want: trace.Event{Kind: trace.KindOnConnect, Port: 1, Name: "x",
				Sender: json.RawMessage(`{"id":"abc","frameId":0,"tab":{"id":5,"url":"https://example.com/"}}`)},
		},
		{
			name:    "onConnect with empty name",
			payload: `{"k":"onConnect","p":1,"t":1700000000123.4,"n":"","s":{}}`,
			want:    trace.Event{Kind: trace.KindOnConnect, Port: 1, Sender: json.RawMessage(`{}`)},
		},
		{
			name:    "onDisconnect with lastError",
			payload: `{"k":"onDisconnect","p":4,"t":1700000000123.4,"le":"Could not establish connection. Receiving end does not exist."}`,
			want:    trace.Event{Kind: trace.KindOnDisconnect, Port: 4, LastError: "Could not establish connection. Receiving end does not exist."},
		},
		{
			name:    "onDisconnect without lastError",
			payload: `{"k":"onDisconnect","p":4,"t":1700000000123.4}`,
			want:    trace.Event{Kind: trace.KindOnDisconnect, Port: 4},
		},
		{
			name:    "exception of connect",
			payload: `{"k":"exception","p":0,"t":1700000000123.4,"call":"connect","error":"TypeError: Error in invocation of runtime.connect"}`,
			want:    trace.Event{Kind: trace.KindException, Port: 0, Call: "connect", Error: "TypeError: Error in invocation of runtime.connect"},
		},
		{
			name:    "exception of postMessage keeps the message",
			payload: `{"k":"exception","p":2,"t":1700000000123.4,"call":"postMessage","error":"Error: Attempting to use a disconnected port object","m":{"b":[1,2]}}`,
			want: trace.Event{Kind: trace.KindException, Port: 2, Call: "postMessage", Error: "Error: Attempting to use a disconnected port object",
				Message: json.RawMessage(`{"b":[1,2]}`)},
		},
		{
			name:    "unknown fields are ignored",
			payload: `{"k":"disconnect","p":5,"t":1700000000123.4,"extra":true}`,
			want:    trace.Event{Kind: trace.KindDisconnect, Port: 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBrowser(t)
			fb.recordText(fb.worker, tt.payload)
			events := fb.trace.Events()
			if len(events) != 1 {
				t.Fatalf("record added %d events, want 1", len(events))
			}
			got := events[0]
			if !got.At.Equal(wantAt) {
				t.Errorf("At = %s, want %s", got.At.UTC().Format(time.RFC3339Nano), wantAt.UTC().Format(time.RFC3339Nano))
			}
			want := tt.want
			want.Seq, want.Realm, want.At = 1, fb.worker, got.At
			if !reflect.DeepEqual(got, want) {
				t.Errorf("record(%s) added\n%#v\nwant\n%#v", tt.payload, got, want)
			}
			if logs := fb.logged(); len(logs) != 0 {
				t.Errorf("record logged %q for a good payload", logs)
			}
		})
	}
}

// TestRecordTimeKeepsMilliseconds checks that a time in whole milliseconds,
// as a coarse performance.now() gives, decodes to that millisecond.
func TestRecordTimeKeepsMilliseconds(t *testing.T) {
	for _, ms := range []int64{1700000000123, 1700000000001, 1700000000999} {
		fb := newFakeBrowser(t)
		fb.recordText(fb.worker, fmt.Sprintf(`{"k":"disconnect","p":1,"t":%d}`, ms))
		got := fb.trace.Events()[0].At
		if want := time.UnixMilli(ms); !got.Equal(want) {
			t.Errorf("t=%d: At = %s (UnixMilli %d), want %s", ms,
				got.UTC().Format(time.RFC3339Nano), got.UnixMilli(), want.UTC().Format(time.RFC3339Nano))
		}
	}
}

func TestRecordOrdersByTime(t *testing.T) {
	fb := newFakeBrowser(t)
	cs := newRealm(fb.Browser, trace.ContentScriptRealm, otherExtID)
	// The worker's events arrive after the content script's later ones.
	fb.recordText(cs, `{"k":"connect","p":1,"t":1700000000100.5,"n":"x","call":"connect"}`)
	fb.recordText(cs, `{"k":"message","p":1,"t":1700000000300.25,"m":2}`)
	fb.recordText(fb.worker, `{"k":"onConnect","p":1,"t":1700000000200.75,"n":"x","s":{}}`)
	fb.recordText(fb.worker, `{"k":"post","p":1,"t":1700000000250,"m":2}`)
	events := fb.trace.Events()
	var kinds []trace.Kind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	want := []trace.Kind{trace.KindConnect, trace.KindOnConnect, trace.KindPost, trace.KindMessage}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds in trace order = %v, want %v\n%s", kinds, want, fb.trace)
	}
	checkTraceOrder(t, events)
	if events[0].Realm != cs || events[1].Realm != fb.worker {
		t.Errorf("realms are wrong:\n%s", fb.trace)
	}
}

func TestRecordMalformed(t *testing.T) {
	tests := []struct {
		name    string
		payload string
	}{
		{"empty", ""},
		{"not JSON", "not json"},
		{"truncated", `{"k":"message","p":1`},
		{"array", `[1,2]`},
		{"port is a string", `{"k":"message","p":"1","t":1}`},
		{"time is a string", `{"k":"message","p":1,"t":"now"}`},
		{"message is not JSON", `{"k":"message","p":1,"t":1,"m":{a:1}}`},
		{"name is a number", `{"k":"onConnect","p":1,"t":1,"n":5,"s":{"frameId":0}}`},
		{"a field twice", `{"k":"message","p":1,"t":1,"m":1,"m":2}`},
		{"lastError is a number", `{"k":"onDisconnect","p":1,"t":1,"le":5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBrowser(t)
			fb.recordText(fb.worker, tt.payload)
			if n := fb.trace.Len(); n != 0 {
				t.Errorf("record(%q) added %d events, want none:\n%s", tt.payload, n, fb.trace)
			}
			logs := fb.logged()
			if len(logs) != 1 {
				t.Fatalf("record(%q) logged %d times, want once: %q", tt.payload, len(logs), logs)
			}
			if !strings.Contains(logs[0], "malformed") || !strings.Contains(logs[0], fb.worker.String()) {
				t.Errorf("log = %q, want it to say malformed and name %s", logs[0], fb.worker)
			}
		})
	}
}
