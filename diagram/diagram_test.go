package diagram

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portprobe/portprobe/trace"
)

// The extensions of the fake realms.
const (
	testExtID  = "abcdefghijklmnopabcdefghijklmnop"
	otherExtID = "ponmlkjihgfedcbaponmlkjihgfedcba"
)

// dgWorld makes fake realms for the diagram tests, named as a browser that
// knows the extensions "mdn-example" (testExtID) and "other" (otherExtID)
// would name them.
type dgWorld struct{}

func newDGWorld() *dgWorld { return &dgWorld{} }

func extName(extID string) string {
	if extID == testExtID {
		return "mdn-example"
	}
	return "other"
}

func (w *dgWorld) worker(extID string) trace.Source {
	return &trace.Place{Name: "worker(" + extName(extID) + ")", Info: trace.SourceInfo{
		Kind: trace.WorkerRealm, ExtensionID: extID, URL: "chrome-extension://" + extID + "/background.js"}}
}

// contentScript returns a content script realm in a frame of tab; frame ""
// is the tab's main frame.
func (w *dgWorld) contentScript(extID string, tab string, frame, url string) *trace.Place {
	name := "content-script(" + extName(extID) + ")@" + tab
	if frame != "" {
		name += "/frame:" + frame
	}
	return &trace.Place{Name: name, Info: trace.SourceInfo{
		Kind: trace.ContentScriptRealm, ExtensionID: extID, Tab: tab, Frame: frame, URL: url}}
}

// page returns an extension page realm in tab.
func (w *dgWorld) page(extID, tab, path string) *trace.Place {
	return &trace.Place{Name: "page(" + extName(extID) + ")" + path + "@" + tab, Info: trace.SourceInfo{
		Kind: trace.PageRealm, ExtensionID: extID, Tab: tab, URL: "chrome-extension://" + extID + path}}
}

// testBase is the time of the events of the tests; at(ms) is ms after it.
var testBase = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return testBase.Add(time.Duration(ms) * time.Millisecond) }

func dgTab(n int) string { return fmt.Sprintf("tab%d", n) }

func dgEv(r trace.Source, port int, kind trace.Kind, name string) trace.Event {
	return trace.Event{Realm: r, Port: port, Kind: kind, Name: name}
}

// dgMsg makes a post or message event.
func dgMsg(r trace.Source, port int, kind trace.Kind, name, message string) trace.Event {
	return trace.Event{Realm: r, Port: port, Kind: kind, Name: name, Message: json.RawMessage(message)}
}

func dgGone(r trace.Source, port int, name, lastError string) trace.Event {
	return trace.Event{Realm: r, Port: port, Kind: trace.KindOnDisconnect, Name: name, LastError: lastError}
}

// dgWithSender gives an onConnect event a port.sender of the given URL.
func dgWithSender(e trace.Event, url string) trace.Event {
	e.Sender = json.RawMessage(fmt.Sprintf(`{"url":%q}`, url))
	return e
}

// dgSeq numbers events and gives them times.
func dgSeq(events ...trace.Event) []trace.Event {
	for i := range events {
		events[i].Seq = i + 1
		events[i].At = at(i*7 + i*i)
	}
	return events
}

// arrowSeqs returns the arrows of events as (fromSeq, toSeq) pairs.
func arrowSeqs(events []trace.Event) [][2]int {
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
	page := w.page(testExtID, dgTab(3), "/popup.html")

	tests := []struct {
		name   string
		events []trace.Event
		want   [][2]int
	}{
		{"one-time messages: the first reply reaches the sender", dgSeq(
			dgMsg(cs1, 1, trace.KindSendMessage, "", `{"q":1}`),
			dgWithSender(dgMsg(worker, 1, trace.KindOnMessage, "", `{"q":1}`), "http://localhost/"),
			dgWithSender(dgMsg(page, 1, trace.KindOnMessage, "", `{"q":1}`), "http://localhost/"),
			trace.Event{Realm: page, Port: 1, Kind: trace.KindKeepOpen, Call: "true", Listener: 1},
			trace.Event{Realm: worker, Port: 1, Kind: trace.KindReply, Call: "sendResponse", Listener: 2, Message: json.RawMessage(`"w"`)},
			trace.Event{Realm: page, Port: 1, Kind: trace.KindReply, Call: "sendResponse", Listener: 1, Message: json.RawMessage(`"p"`)},
			trace.Event{Realm: cs1, Port: 1, Kind: trace.KindResponse, Call: "promise", Message: json.RawMessage(`"w"`)},
			dgMsg(cs2, 1, trace.KindSendMessage, "", `"nobody"`),
			trace.Event{Realm: cs2, Port: 1, Kind: trace.KindResponse, Call: "promise", Error: "Could not establish connection. Receiving end does not exist."},
			dgMsg(other, 1, trace.KindSendMessage, "", `"ext"`),
			dgMsg(worker, 2, trace.KindOnMessage, "", `"ext"`),
			dgMsg(worker, 3, trace.KindOnMessageExternal, "", `"ext"`),
		), [][2]int{{1, 2}, {1, 3}, {5, 7}, {10, 12}}},

		{"MDN example", dgSeq(
			dgEv(cs1, 1, trace.KindConnect, "port-from-cs"),
			dgMsg(cs1, 1, trace.KindPost, "port-from-cs", `{"greeting":"hello from content script"}`),
			dgEv(worker, 1, trace.KindOnConnect, "port-from-cs"),
			dgMsg(worker, 1, trace.KindPost, "port-from-cs", `{"greeting":"hi there content script!"}`),
			dgMsg(worker, 1, trace.KindMessage, "port-from-cs", `{"greeting":"hello from content script"}`),
			dgMsg(cs1, 1, trace.KindMessage, "port-from-cs", `{"greeting":"hi there content script!"}`),
			dgMsg(worker, 1, trace.KindPost, "port-from-cs", `{"greeting":"they clicked the button!"}`),
			dgMsg(cs1, 1, trace.KindMessage, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		), [][2]int{{1, 3}, {2, 5}, {4, 6}, {7, 8}}},

		{"connect reaches two frames", dgSeq(
			dgEv(worker, 1, trace.KindConnect, "frames"),
			dgEv(cs1, 1, trace.KindOnConnect, "frames"),
			dgEv(sub, 1, trace.KindOnConnect, "frames"),
			dgMsg(worker, 1, trace.KindPost, "frames", `"ping"`),
			dgMsg(cs1, 1, trace.KindMessage, "frames", `"ping"`),
			dgMsg(sub, 1, trace.KindMessage, "frames", `"ping"`),
			dgMsg(sub, 1, trace.KindPost, "frames", `"pong"`),
			dgMsg(worker, 1, trace.KindMessage, "frames", `"pong"`),
			dgEv(worker, 1, trace.KindDisconnect, "frames"),
			dgEv(cs1, 1, trace.KindOnDisconnect, "frames"),
			dgEv(sub, 1, trace.KindOnDisconnect, "frames"),
		), [][2]int{{1, 2}, {1, 3}, {4, 5}, {4, 6}, {7, 8}, {9, 10}, {9, 11}}},

		{"onDisconnect with lastError and no partner", dgSeq(
			dgEv(cs1, 1, trace.KindConnect, "port-from-cs"),
			dgEv(worker, 1, trace.KindOnConnect, "port-from-cs"),
			dgGone(cs1, 1, "port-from-cs", "The page keeping the extension port is moved into back/forward cache, so the message channel is closed."),
			dgEv(worker, 1, trace.KindOnDisconnect, "port-from-cs"),
		), [][2]int{{1, 2}}},

		{"message from an unprobed sender", dgSeq(
			dgEv(worker, 3, trace.KindOnConnect, "unprobed"),
			dgMsg(worker, 3, trace.KindMessage, "unprobed", `1`),
			dgMsg(cs1, 1, trace.KindPost, "unprobed", `1`),
		), nil},

		{"equal messages sent twice", dgSeq(
			dgEv(cs1, 1, trace.KindConnect, "p"),
			dgEv(worker, 2, trace.KindOnConnect, "p"),
			dgMsg(cs1, 1, trace.KindPost, "p", `{"a":1,"b":2}`),
			dgMsg(cs1, 1, trace.KindPost, "p", `{"a":1,"b":2}`),
			dgMsg(worker, 2, trace.KindMessage, "p", `{"b":2,"a":1}`),
			dgMsg(worker, 2, trace.KindMessage, "p", `{"a":1,"b":2}`),
		), [][2]int{{1, 2}, {3, 5}, {4, 6}}},

		{"replies and disconnect from the receiving end", dgSeq(
			dgEv(cs1, 1, trace.KindConnect, "p"),
			dgEv(worker, 1, trace.KindOnConnect, "p"),
			dgMsg(worker, 1, trace.KindPost, "p", `"one"`),
			dgMsg(worker, 1, trace.KindPost, "p", `"two"`),
			dgMsg(cs1, 1, trace.KindMessage, "p", `"two"`), // "one" was lost
			dgEv(worker, 1, trace.KindDisconnect, "p"),
			dgEv(cs1, 1, trace.KindOnDisconnect, "p"),
		), [][2]int{{1, 2}, {4, 5}, {6, 7}}},

		{"two tabs connect with the same name", dgSeq(
			dgEv(cs1, 1, trace.KindConnect, "port-from-cs"),
			dgEv(worker, 1, trace.KindOnConnect, "port-from-cs"),
			dgEv(cs2, 1, trace.KindConnect, "port-from-cs"),
			dgEv(worker, 2, trace.KindOnConnect, "port-from-cs"),
			dgMsg(worker, 2, trace.KindPost, "port-from-cs", `"hi"`),
			dgMsg(worker, 1, trace.KindPost, "port-from-cs", `"hi"`),
			dgMsg(cs1, 1, trace.KindMessage, "port-from-cs", `"hi"`),
			dgMsg(cs2, 1, trace.KindMessage, "port-from-cs", `"hi"`),
		), [][2]int{{1, 2}, {3, 4}, {5, 8}, {6, 7}}},

		{"worker restart", dgSeq(
			dgEv(cs1, 1, trace.KindConnect, "p"),
			dgEv(worker, 1, trace.KindOnConnect, "p"),
			dgEv(cs1, 1, trace.KindOnDisconnect, "p"),
			dgEv(cs1, 2, trace.KindConnect, "p"),
			dgEv(restarted, 1, trace.KindOnConnect, "p"),
		), [][2]int{{1, 2}, {4, 5}}},

		{"an open connect and a page opened later", dgSeq(
			dgEv(cs1, 1, trace.KindConnect, "p"),
			dgEv(worker, 1, trace.KindOnConnect, "p"),
			dgEv(cs2, 1, trace.KindConnect, "p"),
			dgEv(worker, 2, trace.KindOnConnect, "p"),
			dgWithSender(dgEv(page, 1, trace.KindOnConnect, "p"), cs2.Info.URL), // opened after cs1 connected
		), [][2]int{{1, 2}, {3, 4}, {3, 5}}},

		{"port disconnected at once", dgSeq(
			dgEv(cs1, 1, trace.KindConnect, "p"),
			dgEv(cs1, 1, trace.KindDisconnect, "p"),
			dgEv(worker, 1, trace.KindOnConnect, "p"),
			dgEv(worker, 1, trace.KindOnDisconnect, "p"),
		), [][2]int{{1, 3}, {2, 4}}},

		{"onConnect and onConnectExternal by extension", dgSeq(
			dgEv(cs1, 1, trace.KindConnect, "p"),
			dgEv(other, 1, trace.KindOnConnect, "p"), // another extension: never onConnect
			dgEv(other, 2, trace.KindOnConnectExternal, "p"),
			dgEv(worker, 1, trace.KindOnConnectExternal, "p"), // same extension: never external
			dgEv(worker, 2, trace.KindOnConnect, "p"),
		), [][2]int{{1, 3}, {1, 5}}},

		{"exception", dgSeq(
			trace.Event{Realm: cs1, Kind: trace.KindException, Call: "connect", Error: "TypeError: bad"},
		), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := arrowSeqs(tt.events); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("arrows = %v, want %v\ntrace:\n%s", got, tt.want, trace.FormatEvents(tt.events))
			}
		})
	}
}

func writeDiagramString(t *testing.T, title string, events []trace.Event) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, title, events); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteDiagramEscapes(t *testing.T) {
	w := newDGWorld()
	worker := w.worker(testExtID)
	cs := w.contentScript(testExtID, dgTab(1), "", `http://localhost/?q="><img src=x>`)
	out := writeDiagramString(t, "<b>title</b>", dgSeq(
		dgEv(cs, 1, trace.KindConnect, "<i>name</i>"),
		dgMsg(cs, 1, trace.KindPost, "<i>name</i>", `{"html":"<script>alert(1)</script>"}`),
		dgEv(worker, 1, trace.KindOnConnect, "<i>name</i>"),
		dgMsg(worker, 1, trace.KindMessage, "<i>name</i>", `{"html":"<script>alert(1)</script>"}`),
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
		dgEv(cs, 1, trace.KindConnect, "port-from-cs"),
		dgEv(worker, 1, trace.KindOnConnect, "port-from-cs"),
		dgGone(cs, 1, "port-from-cs", "The page keeping the extension port is moved into back/forward cache, so the message channel is closed."),
		dgEv(worker, 1, trace.KindOnDisconnect, "port-from-cs"),
		trace.Event{Realm: worker, Port: 1, Kind: trace.KindException, Call: "postMessage", Error: "Error: Attempting to use a disconnected port object"},
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
	if err := Write(f, "MDN runtime.connect() example", mdnDiagramSample()); err != nil {
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
func mdnDiagramSample() []trace.Event {
	w := newDGWorld()
	worker := w.worker(testExtID)
	cs1 := w.contentScript(testExtID, dgTab(1), "", "http://127.0.0.1:41234/")
	cs2 := w.contentScript(testExtID, dgTab(2), "", "http://127.0.0.1:41234/other.html")
	sender := func(tab int, url string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"id":%q,"url":%q,"tab":{"id":%d},"frameId":0}`, testExtID, url, tab))
	}
	events := []trace.Event{
		dgEv(cs1, 1, trace.KindConnect, "port-from-cs"),
		dgMsg(cs1, 1, trace.KindPost, "port-from-cs", `{"greeting":"hello from content script"}`),
		dgEv(worker, 1, trace.KindOnConnect, "port-from-cs"),
		dgMsg(worker, 1, trace.KindPost, "port-from-cs", `{"greeting":"hi there content script!"}`),
		dgMsg(worker, 1, trace.KindMessage, "port-from-cs", `{"greeting":"hello from content script"}`),
		dgMsg(cs1, 1, trace.KindMessage, "port-from-cs", `{"greeting":"hi there content script!"}`),
		dgEv(cs2, 1, trace.KindConnect, "port-from-cs"),
		dgMsg(cs2, 1, trace.KindPost, "port-from-cs", `{"greeting":"hello from content script"}`),
		dgEv(worker, 2, trace.KindOnConnect, "port-from-cs"),
		dgMsg(worker, 2, trace.KindPost, "port-from-cs", `{"greeting":"hi there content script!"}`),
		dgMsg(worker, 2, trace.KindMessage, "port-from-cs", `{"greeting":"hello from content script"}`),
		dgMsg(cs2, 1, trace.KindMessage, "port-from-cs", `{"greeting":"hi there content script!"}`),
		dgMsg(worker, 1, trace.KindPost, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		dgMsg(worker, 2, trace.KindPost, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		dgMsg(cs1, 1, trace.KindMessage, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		dgMsg(cs2, 1, trace.KindMessage, "port-from-cs", `{"greeting":"they clicked the button!"}`),
		dgMsg(cs1, 1, trace.KindPost, "port-from-cs", `{"greeting":"In content script, received message from background script: they clicked the button!"}`),
		dgMsg(worker, 1, trace.KindMessage, "port-from-cs", `{"greeting":"In content script, received message from background script: they clicked the button!"}`),
		dgEv(worker, 1, trace.KindOnDisconnect, "port-from-cs"),
		dgGone(cs1, 1, "port-from-cs", "The page keeping the extension port is moved into back/forward cache, so the message channel is closed."),
		dgEv(cs2, 1, trace.KindDisconnect, "port-from-cs"),
		dgEv(worker, 2, trace.KindOnDisconnect, "port-from-cs"),
		{Realm: cs2, Port: 1, Kind: trace.KindException, Name: "port-from-cs", Call: "postMessage", Error: "Error: Attempting to use a disconnected port object"},
	}
	base := time.Date(2024, 5, 17, 14, 3, 21, 120_000_000, time.UTC)
	for i := range events {
		events[i].Seq = i + 1
		events[i].At = base.Add(time.Duration(i*i*1733+i*412) * time.Microsecond)
	}
	events[2].Sender = sender(1, cs1.Info.URL)
	events[8].Sender = sender(2, cs2.Info.URL)
	return events
}
