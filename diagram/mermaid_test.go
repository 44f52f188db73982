package diagram

import (
	"strings"
	"testing"

	"github.com/portprobe/portprobe/trace"
)

// A small exchange: a connect and its onConnect, a post each way (one with
// text Mermaid would read as syntax), a sendMessage answered, a disconnect,
// and events with no partner.
func TestWriteMermaid(t *testing.T) {
	w := newDGWorld()
	worker := w.worker(testExtID)
	cs := w.contentScript(testExtID, "tab1", "", "http://127.0.0.1:4000/")
	var seq int
	ev := func(r trace.Source, port int, kind trace.Kind, name, message string) trace.Event {
		seq++
		e := trace.Event{Seq: seq, Realm: r, Port: port, Kind: kind, Name: name}
		if message != "" {
			e.Message = []byte(message)
		}
		return e
	}
	events := []trace.Event{
		ev(cs, 1, trace.KindConnect, "p", ""),
		ev(worker, 1, trace.KindOnConnect, "p", ""),
		ev(worker, 1, trace.KindPost, "p", `{"text":"a;b #1 <i>\"x\"</i>"}`),
		ev(cs, 1, trace.KindMessage, "p", `{"text":"a;b #1 <i>\"x\"</i>"}`),
		ev(cs, 1, trace.KindSendMessage, "", `"ping"`),
		ev(worker, 1, trace.KindOnMessage, "", `"ping"`),
		ev(worker, 1, trace.KindReply, "", `"pong"`),
		ev(cs, 1, trace.KindResponse, "", `"pong"`),
		ev(cs, 2, trace.KindConnect, "q", ""),
		ev(worker, 2, trace.KindOnConnect, "q", ""),
		ev(worker, 2, trace.KindDisconnect, "q", ""),
		ev(cs, 2, trace.KindOnDisconnect, "q", ""),
		ev(cs, 1, trace.KindOnDisconnect, "p", ""),
		ev(worker, 0, trace.KindException, "", ""),
		ev(cs, 3, trace.KindPost, "p", strings.Repeat("x", 100)),
	}
	events[6].Listener = 1
	events[12].LastError = "Could not establish connection; no <receiver>."
	events[13].Call, events[13].Error = "postMessage", "Error: Attempting to use a disconnected port object"
	var b strings.Builder
	if err := WriteMermaid(&b, events); err != nil {
		t.Fatal(err)
	}
	want := `sequenceDiagram
    participant R1 as content-script(mdn-example)@tab1
    participant R2 as worker(mdn-example)
    R1->>R2: connect #quot;p#quot;
    R2->>R1: post {#quot;text#quot;:#quot;a#59;b #35;1 #lt;i#gt;\#quot;x\#quot;#lt;/i#gt;#quot;}
    R1->>R2: sendMessage #quot;ping#quot;
    R2-->>R1: response #quot;pong#quot;
    R1->>R2: connect #quot;q#quot;
    R2-xR1: disconnect
    Note over R1: onDisconnect #quot;p#quot;, lastError: Could not establish connection#59; no #lt;receiver#gt;.
    Note over R2: exception in postMessage: Error: Attempting to use a disconnected port object
    Note over R1: post ` + strings.Repeat("x", 74) + `…
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteMermaidEmpty(t *testing.T) {
	var b strings.Builder
	if err := WriteMermaid(&b, nil); err != nil || b.String() != "sequenceDiagram\n" {
		t.Errorf("got %q, %v", b.String(), err)
	}
}
