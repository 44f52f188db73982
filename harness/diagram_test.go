package harness

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
)

// dgWorld makes fake realms for the diagram tests, on a browser that knows
// the extensions "mdn-example" (testExtID) and "other" (otherExtID), so the
// realms print with those names.
type dgWorld struct{ b *Browser }

func newDGWorld() *dgWorld {
	return &dgWorld{b: &Browser{extensions: []*Extension{
		{ID: testExtID, Name: "mdn-example"},
		{ID: otherExtID, Name: "other"},
	}}}
}

func (w *dgWorld) worker(extID string) *Realm {
	r := newRealm(w.b, WorkerRealm, extID)
	r.URL = "chrome-extension://" + extID + "/background.js"
	return r
}

// contentScript returns a content script realm in a frame of tab; frame ""
// is the tab's main frame.
func (w *dgWorld) contentScript(extID string, tab *Tab, frame, url string) *Realm {
	r := newRealm(w.b, ContentScriptRealm, extID)
	r.Tab, r.URL = tab, url
	r.FrameID = cdp.FrameID(cmp.Or(frame, string(tab.TargetID)))
	return r
}

func dgTab(n int) *Tab { return &Tab{n: n, TargetID: target.ID(fmt.Sprintf("TARGET%d", n))} }

func dgEv(r *Realm, port int, kind EventKind, name string) Event {
	return Event{Realm: r, Port: port, Kind: kind, Name: name}
}

// dgMsg makes a post or message event.
func dgMsg(r *Realm, port int, kind EventKind, name, message string) Event {
	return Event{Realm: r, Port: port, Kind: kind, Name: name, Message: json.RawMessage(message)}
}

func dgGone(r *Realm, port int, name, lastError string) Event {
	return Event{Realm: r, Port: port, Kind: KindOnDisconnect, Name: name, LastError: lastError}
}

// dgWithSender gives an onConnect event a port.sender of the given URL.
func dgWithSender(e Event, url string) Event {
	e.Sender = json.RawMessage(fmt.Sprintf(`{"url":%q}`, url))
	return e
}

// dgSeq numbers events and gives them times.
func dgSeq(events ...Event) []Event {
	for i := range events {
		events[i].Seq = i + 1
		events[i].At = at(i*7 + i*i)
	}
	return events
}

// arrowSeqs returns the arrows of events as (fromSeq, toSeq) pairs.
func arrowSeqs(events []Event) [][2]int {
	var out [][2]int
	for _, a := range diagramArrows(events) {
		out = append(out, [2]int{events[a.from].Seq, events[a.to].Seq})
	}
	return out
}

func TestDiagramArrows(t *testing.T) {
	w := newDGWorld()
	tab1, tab2 := dgTab(1), dgTab(2)
	worker := w.worker(testExtID)
	cs1 := w.contentScript(testExtID, tab1, "", "http://localhost/")
	cs2 := w.contentScript(testExtID, tab2, "", "http://localhost/two")
	sub := w.contentScript(testExtID, tab1, "FRAME2", "http://localhost/frame")
	restarted := w.worker(testExtID)
	other := w.worker(otherExtID)
	page := newRealm(w.b, PageRealm, testExtID)
	page.Tab, page.URL = dgTab(3), "chrome-extension://"+testExtID+"/popup.html"

	tests := []struct {
		name   string
		events []Event
		want   [][2]int
	}{
		{"one-time messages: the first reply reaches the sender", dgSeq(
			dgMsg(cs1, 1, KindSendMessage, "", `{"q":1}`),
			dgWithSender(dgMsg(worker, 1, KindOnMessage, "", `{"q":1}`), "http://localhost/"),
			dgWithSender(dgMsg(page, 1, KindOnMessage, "", `{"q":1}`), "http://localhost/"),
			Event{Realm: page, Port: 1, Kind: KindKeepOpen, Call: "true", Listener: 1},
			Event{Realm: worker, Port: 1, Kind: KindReply, Call: "sendResponse", Listener: 2, Message: json.RawMessage(`"w"`)},
			Event{Realm: page, Port: 1, Kind: KindReply, Call: "sendResponse", Listener: 1, Message: json.RawMessage(`"p"`)},
			Event{Realm: cs1, Port: 1, Kind: KindResponse, Call: "promise", Message: json.RawMessage(`"w"`)},
			dgMsg(cs2, 1, KindSendMessage, "", `"nobody"`),
			Event{Realm: cs2, Port: 1, Kind: KindResponse, Call: "promise", Error: "Could not establish connection. Receiving end does not exist."},
			dgMsg(other, 1, KindSendMessage, "", `"ext"`),
			dgMsg(worker, 2, KindOnMessage, "", `"ext"`),
			dgMsg(worker, 3, KindOnMessageExternal, "", `"ext"`),
		), [][2]int{{1, 2}, {1, 3}, {5, 7}, {10, 12}}},

		{"MDN example", dgSeq(
			dgEv(cs1, 1, KindConnect, "port-from-cs"),
			dgMsg(cs1, 1, KindPost, "port-from-cs", `{"greeting":"hello from content script"}`),
			dgEv(worker, 1, KindOnConnect, "port-from-cs"),
			dgMsg(worker, 1, KindPost, "port-from-cs", `{"greeting":"hi there content script!"}`),
			dgMsg(worker, 1, KindMessage, "port-from-cs", `{"greeting":"hello from content script"}`),
			dgMsg(cs1, 1, KindMessage, "port-from-cs", `{"greeting":"hi there content script!"}`),
			dgMsg(worker, 1, KindPost, "port-from-cs", `{"greeting":"they clicked the button!"}`),
			dgMsg(cs1, 1, KindMessage, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		), [][2]int{{1, 3}, {2, 5}, {4, 6}, {7, 8}}},

		{"connect reaches two frames", dgSeq(
			dgEv(worker, 1, KindConnect, "frames"),
			dgEv(cs1, 1, KindOnConnect, "frames"),
			dgEv(sub, 1, KindOnConnect, "frames"),
			dgMsg(worker, 1, KindPost, "frames", `"ping"`),
			dgMsg(cs1, 1, KindMessage, "frames", `"ping"`),
			dgMsg(sub, 1, KindMessage, "frames", `"ping"`),
			dgMsg(sub, 1, KindPost, "frames", `"pong"`),
			dgMsg(worker, 1, KindMessage, "frames", `"pong"`),
			dgEv(worker, 1, KindDisconnect, "frames"),
			dgEv(cs1, 1, KindOnDisconnect, "frames"),
			dgEv(sub, 1, KindOnDisconnect, "frames"),
		), [][2]int{{1, 2}, {1, 3}, {4, 5}, {4, 6}, {7, 8}, {9, 10}, {9, 11}}},

		{"onDisconnect with lastError and no partner", dgSeq(
			dgEv(cs1, 1, KindConnect, "port-from-cs"),
			dgEv(worker, 1, KindOnConnect, "port-from-cs"),
			dgGone(cs1, 1, "port-from-cs", "The page keeping the extension port is moved into back/forward cache, so the message channel is closed."),
			dgEv(worker, 1, KindOnDisconnect, "port-from-cs"),
		), [][2]int{{1, 2}}},

		{"message from an unprobed sender", dgSeq(
			dgEv(worker, 3, KindOnConnect, "unprobed"),
			dgMsg(worker, 3, KindMessage, "unprobed", `1`),
			dgMsg(cs1, 1, KindPost, "unprobed", `1`),
		), nil},

		{"equal messages sent twice", dgSeq(
			dgEv(cs1, 1, KindConnect, "p"),
			dgEv(worker, 2, KindOnConnect, "p"),
			dgMsg(cs1, 1, KindPost, "p", `{"a":1,"b":2}`),
			dgMsg(cs1, 1, KindPost, "p", `{"a":1,"b":2}`),
			dgMsg(worker, 2, KindMessage, "p", `{"b":2,"a":1}`),
			dgMsg(worker, 2, KindMessage, "p", `{"a":1,"b":2}`),
		), [][2]int{{1, 2}, {3, 5}, {4, 6}}},

		{"replies and disconnect from the receiving end", dgSeq(
			dgEv(cs1, 1, KindConnect, "p"),
			dgEv(worker, 1, KindOnConnect, "p"),
			dgMsg(worker, 1, KindPost, "p", `"one"`),
			dgMsg(worker, 1, KindPost, "p", `"two"`),
			dgMsg(cs1, 1, KindMessage, "p", `"two"`), // "one" was lost
			dgEv(worker, 1, KindDisconnect, "p"),
			dgEv(cs1, 1, KindOnDisconnect, "p"),
		), [][2]int{{1, 2}, {4, 5}, {6, 7}}},

		{"two tabs connect with the same name", dgSeq(
			dgEv(cs1, 1, KindConnect, "port-from-cs"),
			dgEv(worker, 1, KindOnConnect, "port-from-cs"),
			dgEv(cs2, 1, KindConnect, "port-from-cs"),
			dgEv(worker, 2, KindOnConnect, "port-from-cs"),
			dgMsg(worker, 2, KindPost, "port-from-cs", `"hi"`),
			dgMsg(worker, 1, KindPost, "port-from-cs", `"hi"`),
			dgMsg(cs1, 1, KindMessage, "port-from-cs", `"hi"`),
			dgMsg(cs2, 1, KindMessage, "port-from-cs", `"hi"`),
		), [][2]int{{1, 2}, {3, 4}, {5, 8}, {6, 7}}},

		{"worker restart", dgSeq(
			dgEv(cs1, 1, KindConnect, "p"),
			dgEv(worker, 1, KindOnConnect, "p"),
			dgEv(cs1, 1, KindOnDisconnect, "p"),
			dgEv(cs1, 2, KindConnect, "p"),
			dgEv(restarted, 1, KindOnConnect, "p"),
		), [][2]int{{1, 2}, {4, 5}}},

		{"an open connect and a page opened later", dgSeq(
			dgEv(cs1, 1, KindConnect, "p"),
			dgEv(worker, 1, KindOnConnect, "p"),
			dgEv(cs2, 1, KindConnect, "p"),
			dgEv(worker, 2, KindOnConnect, "p"),
			dgWithSender(dgEv(page, 1, KindOnConnect, "p"), cs2.URL), // opened after cs1 connected
		), [][2]int{{1, 2}, {3, 4}, {3, 5}}},

		{"port disconnected at once", dgSeq(
			dgEv(cs1, 1, KindConnect, "p"),
			dgEv(cs1, 1, KindDisconnect, "p"),
			dgEv(worker, 1, KindOnConnect, "p"),
			dgEv(worker, 1, KindOnDisconnect, "p"),
		), [][2]int{{1, 3}, {2, 4}}},

		{"onConnect and onConnectExternal by extension", dgSeq(
			dgEv(cs1, 1, KindConnect, "p"),
			dgEv(other, 1, KindOnConnect, "p"), // another extension: never onConnect
			dgEv(other, 2, KindOnConnectExternal, "p"),
			dgEv(worker, 1, KindOnConnectExternal, "p"), // same extension: never external
			dgEv(worker, 2, KindOnConnect, "p"),
		), [][2]int{{1, 3}, {1, 5}}},

		{"exception", dgSeq(
			Event{Realm: cs1, Kind: KindException, Call: "connect", Error: "TypeError: bad"},
		), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := arrowSeqs(tt.events); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("arrows = %v, want %v\ntrace:\n%s", got, tt.want, FormatEvents(tt.events))
			}
		})
	}
}

func writeDiagramString(t *testing.T, title string, events []Event) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteDiagram(&b, title, events); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteDiagramEscapes(t *testing.T) {
	w := newDGWorld()
	worker := w.worker(testExtID)
	cs := w.contentScript(testExtID, dgTab(1), "", `http://localhost/?q="><img src=x>`)
	out := writeDiagramString(t, "<b>title</b>", dgSeq(
		dgEv(cs, 1, KindConnect, "<i>name</i>"),
		dgMsg(cs, 1, KindPost, "<i>name</i>", `{"html":"<script>alert(1)</script>"}`),
		dgEv(worker, 1, KindOnConnect, "<i>name</i>"),
		dgMsg(worker, 1, KindMessage, "<i>name</i>", `{"html":"<script>alert(1)</script>"}`),
		dgGone(worker, 1, "<i>name</i>", "<u>gone</u> & done"),
	))
	for _, raw := range []string{"<script>", "<b>title", "<i>name", "<img", "<u>gone"} {
		if strings.Contains(out, raw) {
			t.Errorf("the page contains %q unescaped", raw)
		}
	}
	for _, escaped := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;title&lt;/b&gt;", "&lt;u&gt;gone&lt;/u&gt; &amp; done"} {
		if !strings.Contains(out, escaped) {
			t.Errorf("the page does not contain %q", escaped)
		}
	}
	if strings.Contains(out, "<script") || strings.Contains(out, `src="`) || strings.Contains(out, "href=") {
		t.Errorf("the page loads something:\n%s", out)
	}
	if !strings.Contains(out, "http://localhost/?q=&#34;&gt;&lt;img src=x&gt;") {
		t.Errorf("the realm's URL is not escaped in its lane header")
	}
}

func TestWriteDiagramLabels(t *testing.T) {
	w := newDGWorld()
	worker := w.worker(testExtID)
	cs := w.contentScript(testExtID, dgTab(1), "", "http://localhost/")
	out := writeDiagramString(t, "labels", dgSeq(
		dgEv(cs, 1, KindConnect, "port-from-cs"),
		dgEv(worker, 1, KindOnConnect, "port-from-cs"),
		dgGone(cs, 1, "port-from-cs", "The page keeping the extension port is moved into back/forward cache, so the message channel is closed."),
		dgEv(worker, 1, KindOnDisconnect, "port-from-cs"),
		Event{Realm: worker, Port: 1, Kind: KindException, Call: "postMessage", Error: "Error: Attempting to use a disconnected port object"},
	))
	for _, want := range []string{
		"content-script(mdn-example)@tab1", "worker(mdn-example)", // lane headers
		"onDisconnect #1 &#34;port-from-cs&#34;",
		`class="d err"`, "moved into back/forward cache, so the message channel is closed.",
		`class="d none"`, "no lastError",
		"exception in postMessage #1", "Error: Attempting to use a disconnected port object",
		"5 events · 2 realms · 1 arrows",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page does not contain %q", want)
		}
	}
	if i, j := strings.Index(out, "content-script(mdn-example)@tab1"), strings.Index(out, "worker(mdn-example)</div>"); i < 0 || j < 0 || i > j {
		t.Errorf("lanes are not in order of first appearance (content script at %d, worker at %d)", i, j)
	}
}

func TestWriteDiagramDeterministic(t *testing.T) {
	a := writeDiagramString(t, "MDN example", mdnDiagramSample())
	for range 5 {
		if b := writeDiagramString(t, "MDN example", mdnDiagramSample()); a != b {
			t.Fatal("two diagrams of the same events differ")
		}
	}
}

func TestWriteDiagramEmpty(t *testing.T) {
	if out := writeDiagramString(t, "nothing", nil); !strings.Contains(out, "(no events)") {
		t.Errorf("the page of no events does not say so:\n%s", out)
	}
}

// TestWriteDiagramSample writes the diagram of the MDN example to a file, as
// a user would, and checks its pairs.
func TestWriteDiagramSample(t *testing.T) {
	path := filepath.Join(t.TempDir(), "diagram.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteDiagram(f, "MDN runtime.connect() example", mdnDiagramSample()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "23 events · 3 realms · 10 arrows", "</html>"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("%s does not contain %q", path, want)
		}
	}
}

// mdnDiagramSample is a trace of MDN's runtime.connect() example in two tabs,
// the first of which went into the back/forward cache.
func mdnDiagramSample() []Event {
	w := newDGWorld()
	worker := w.worker(testExtID)
	cs1 := w.contentScript(testExtID, dgTab(1), "", "http://127.0.0.1:41234/")
	cs2 := w.contentScript(testExtID, dgTab(2), "", "http://127.0.0.1:41234/other.html")
	sender := func(tab int, url string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"id":%q,"url":%q,"tab":{"id":%d},"frameId":0}`, testExtID, url, tab))
	}
	events := []Event{
		dgEv(cs1, 1, KindConnect, "port-from-cs"),
		dgMsg(cs1, 1, KindPost, "port-from-cs", `{"greeting":"hello from content script"}`),
		dgEv(worker, 1, KindOnConnect, "port-from-cs"),
		dgMsg(worker, 1, KindPost, "port-from-cs", `{"greeting":"hi there content script!"}`),
		dgMsg(worker, 1, KindMessage, "port-from-cs", `{"greeting":"hello from content script"}`),
		dgMsg(cs1, 1, KindMessage, "port-from-cs", `{"greeting":"hi there content script!"}`),
		dgEv(cs2, 1, KindConnect, "port-from-cs"),
		dgMsg(cs2, 1, KindPost, "port-from-cs", `{"greeting":"hello from content script"}`),
		dgEv(worker, 2, KindOnConnect, "port-from-cs"),
		dgMsg(worker, 2, KindPost, "port-from-cs", `{"greeting":"hi there content script!"}`),
		dgMsg(worker, 2, KindMessage, "port-from-cs", `{"greeting":"hello from content script"}`),
		dgMsg(cs2, 1, KindMessage, "port-from-cs", `{"greeting":"hi there content script!"}`),
		dgMsg(worker, 1, KindPost, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		dgMsg(worker, 2, KindPost, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		dgMsg(cs1, 1, KindMessage, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		dgMsg(cs2, 1, KindMessage, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		dgMsg(cs1, 1, KindPost, "port-from-cs", `{"greeting":"In content script, received message from background script: they clicked the button!"}`),
		dgMsg(worker, 1, KindMessage, "port-from-cs", `{"greeting":"In content script, received message from background script: they clicked the button!"}`),
		dgEv(worker, 1, KindOnDisconnect, "port-from-cs"),
		dgGone(cs1, 1, "port-from-cs", "The page keeping the extension port is moved into back/forward cache, so the message channel is closed."),
		dgEv(cs2, 1, KindDisconnect, "port-from-cs"),
		dgEv(worker, 2, KindOnDisconnect, "port-from-cs"),
		{Realm: cs2, Port: 1, Kind: KindException, Name: "port-from-cs", Call: "postMessage", Error: "Error: Attempting to use a disconnected port object"},
	}
	base := time.Date(2024, 5, 17, 14, 3, 21, 120_000_000, time.UTC)
	for i := range events {
		events[i].Seq = i + 1
		events[i].At = base.Add(time.Duration(i*i*1733+i*412) * time.Microsecond)
	}
	events[2].Sender = sender(1, cs1.URL)
	events[8].Sender = sender(2, cs2.URL)
	return events
}
