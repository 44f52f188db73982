package matchers

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	"github.com/portprobe/portprobe/trace"
)

// failures is a Gomega fail handler that keeps the messages.
type failures struct {
	mu   sync.Mutex
	msgs []string
}

func (f *failures) fail(message string, _ ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, message)
}

func (f *failures) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.msgs...)
}

// sampleEvents is a short conversation between a content script and the
// worker, as the trace would have it.
func sampleEvents(t *testing.T) (*fakeBrowser, trace.Source) {
	t.Helper()
	fb := newFakeBrowser(t)
	cs := newRealm(fb.Browser, trace.ContentScriptRealm, otherExtID)
	tr := fb.trace
	tr.Add(trace.Event{At: at(1), Realm: cs, Port: 1, Kind: trace.KindConnect, Name: "port-from-cs", Call: "connect"})
	tr.Add(trace.Event{At: at(2), Realm: fb.worker, Port: 1, Kind: trace.KindOnConnect, Name: "port-from-cs",
		Sender: json.RawMessage(`{"id":"` + otherExtID + `","frameId":0,"tab":{"id":5,"url":"https://example.com/"}}`)})
	tr.Add(trace.Event{At: at(3), Realm: fb.worker, Port: 1, Kind: trace.KindPost, Name: "port-from-cs", Message: json.RawMessage(`{"greeting":"hi there content script!"}`)})
	tr.Add(trace.Event{At: at(4), Realm: cs, Port: 1, Kind: trace.KindMessage, Name: "port-from-cs", Message: json.RawMessage(`{"greeting":"hi there content script!"}`)})
	tr.Add(trace.Event{At: at(5), Realm: cs, Port: 1, Kind: trace.KindPost, Name: "port-from-cs", Message: json.RawMessage(`{"greeting":"hello from content script"}`)})
	tr.Add(trace.Event{At: at(6), Realm: fb.worker, Port: 1, Kind: trace.KindMessage, Name: "port-from-cs", Message: json.RawMessage(`{"greeting":"hello from content script"}`)})
	return fb, cs
}

func TestQueryKinds(t *testing.T) {
	tests := []struct {
		name string
		q    *trace.Query
		kind trace.Kind // "" for any
	}{
		{"AnyEvent", trace.AnyEvent(), ""},
		{"Connected", trace.Connect(), trace.KindConnect},
		{"OnConnect", trace.OnConnect(), trace.KindOnConnect},
		{"OnConnectExternal", trace.OnConnectExternal(), trace.KindOnConnectExternal},
		{"Posted", trace.Post(), trace.KindPost},
		{"Received", trace.Message(), trace.KindMessage},
		{"Disconnected", trace.Disconnect(), trace.KindDisconnect},
		{"OnDisconnect", trace.OnDisconnect(), trace.KindOnDisconnect},
		{"Threw", trace.Exception(), trace.KindException},
	}
	all := []trace.Kind{trace.KindConnect, trace.KindOnConnect, trace.KindOnConnectExternal, trace.KindPost, trace.KindMessage, trace.KindDisconnect, trace.KindOnDisconnect, trace.KindException, "other"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range all {
				want := tt.kind == "" || k == tt.kind
				if got := tt.q.Match(trace.Event{Kind: k}); got != want {
					t.Errorf("%s.Match(kind %s) = %v, want %v", tt.name, k, got, want)
				}
			}
			wantString := string(tt.kind)
			if tt.kind == "" {
				wantString = "any event"
			}
			if got := tt.q.String(); got != wantString {
				t.Errorf("String() = %q, want %q", got, wantString)
			}
		})
	}
}

func TestQueryNarrowing(t *testing.T) {
	fb := newFakeBrowser(t)
	w := fb.worker
	cs := newRealm(fb.Browser, trace.ContentScriptRealm, otherExtID)
	sender := json.RawMessage(`{"id":"` + otherExtID + `","url":"https://example.com/page","frameId":0,"documentLifecycle":"active","tab":{"id":5,"url":"https://example.com/","active":true,"mutedInfo":{"muted":false}}}`)

	tests := []struct {
		name  string
		q     *trace.Query
		e     trace.Event
		match bool
	}{
		// In
		{"In same realm", trace.AnyEvent().In(w), trace.Event{Realm: w}, true},
		{"In other realm", trace.AnyEvent().In(w), trace.Event{Realm: cs}, false},
		{"In other realm of same ID", trace.AnyEvent().In(w), trace.Event{Realm: newRealm(fb.Browser, trace.WorkerRealm, testExtID)}, false},
		{"In no realm", trace.AnyEvent().In(w), trace.Event{}, false},
		// Named
		{"Named", trace.OnConnect().Named("x"), trace.Event{Kind: trace.KindOnConnect, Name: "x"}, true},
		{"Named other", trace.OnConnect().Named("x"), trace.Event{Kind: trace.KindOnConnect, Name: "y"}, false},
		{"Named empty", trace.OnConnect().Named(""), trace.Event{Kind: trace.KindOnConnect}, true},
		{"Named right, kind wrong", trace.OnConnect().Named("x"), trace.Event{Kind: trace.KindConnect, Name: "x"}, false},
		// OnPort
		{"OnPort", trace.AnyEvent().OnPort(trace.Event{Realm: w, Port: 2}), trace.Event{Realm: w, Port: 2}, true},
		{"OnPort other handle", trace.AnyEvent().OnPort(trace.Event{Realm: w, Port: 2}), trace.Event{Realm: w, Port: 1}, false},
		{"OnPort other realm", trace.AnyEvent().OnPort(trace.Event{Realm: w, Port: 2}), trace.Event{Realm: cs, Port: 2}, false},
		// WithMessage
		{"WithMessage map", trace.Message().WithMessage(map[string]any{"greeting": "hi"}),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"greeting":"hi"}`)}, true},
		{"WithMessage key order", trace.Message().WithMessage(map[string]any{"a": 1, "b": []int{1, 2}}),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{ "b": [1, 2.0], "a": 1.0 }`)}, true},
		{"WithMessage number formats", trace.Post().WithMessage(100),
			trace.Event{Kind: trace.KindPost, Message: json.RawMessage(`1e2`)}, true},
		{"WithMessage struct", trace.Message().WithMessage(struct {
			Greeting string `json:"greeting"`
		}{"hi"}), trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"greeting":"hi"}`)}, true},
		{"WithMessage raw JSON", trace.Message().WithMessage(json.RawMessage(`{"x":[true,null]}`)),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"x":[true,null]}`)}, true},
		{"WithMessage extra field", trace.Message().WithMessage(map[string]any{"greeting": "hi"}),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"greeting":"hi","x":1}`)}, false},
		{"WithMessage other value", trace.Message().WithMessage(map[string]any{"greeting": "hi"}),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"greeting":"ho"}`)}, false},
		{"WithMessage string vs number", trace.Message().WithMessage("1"),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`1`)}, false},
		{"WithMessage null", trace.Message().WithMessage(nil),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`null`)}, true},
		{"WithMessage null, no message", trace.Message().WithMessage(nil), trace.Event{Kind: trace.KindMessage}, false},
		{"WithMessage bad JSON in event", trace.Message().WithMessage("x"),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{`)}, false},
		// WithField
		{"WithField", trace.Message().WithField("greeting", "hi"),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"greeting":"hi","other":[1]}`)}, true},
		{"WithField number", trace.Message().WithField("n", 3),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"n":3.0}`)}, true},
		{"WithField object", trace.Message().WithField("o", map[string]any{"b": 2, "a": 1}),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"o":{"a":1,"b":2}}`)}, true},
		{"WithField other value", trace.Message().WithField("greeting", "hi"),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"greeting":"ho"}`)}, false},
		{"WithField absent", trace.Message().WithField("greeting", "hi"),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"other":"hi"}`)}, false},
		{"WithField null vs absent", trace.Message().WithField("greeting", nil),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{}`)}, false},
		{"WithField null", trace.Message().WithField("greeting", nil),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"greeting":null}`)}, true},
		{"WithField not an object", trace.Message().WithField("greeting", "hi"),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`"hi"`)}, false},
		{"WithField is not a path", trace.Message().WithField("a.b", 1),
			trace.Event{Kind: trace.KindMessage, Message: json.RawMessage(`{"a":{"b":1}}`)}, false},
		{"WithField no message", trace.Message().WithField("greeting", "hi"), trace.Event{Kind: trace.KindMessage}, false},
		// WithSender
		{"WithSender tab.url", trace.OnConnect().WithSender("tab.url", "https://example.com/"),
			trace.Event{Kind: trace.KindOnConnect, Sender: sender}, true},
		{"WithSender frameId 0", trace.OnConnect().WithSender("frameId", 0), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, true},
		{"WithSender frameId 1", trace.OnConnect().WithSender("frameId", 1), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, false},
		{"WithSender tab.id", trace.OnConnect().WithSender("tab.id", 5), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, true},
		{"WithSender deep", trace.OnConnect().WithSender("tab.mutedInfo.muted", false), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, true},
		{"WithSender object", trace.OnConnect().WithSender("tab.mutedInfo", map[string]bool{"muted": false}),
			trace.Event{Kind: trace.KindOnConnect, Sender: sender}, true},
		{"WithSender top level", trace.OnConnect().WithSender("id", otherExtID), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, true},
		{"WithSender other url", trace.OnConnect().WithSender("tab.url", "https://example.org/"),
			trace.Event{Kind: trace.KindOnConnect, Sender: sender}, false},
		{"WithSender absent", trace.OnConnect().WithSender("origin", "https://example.com"),
			trace.Event{Kind: trace.KindOnConnect, Sender: sender}, false},
		{"WithSender through a string", trace.OnConnect().WithSender("url.x", 1), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, false},
		{"WithSender no sender", trace.OnConnect().WithSender("frameId", 0), trace.Event{Kind: trace.KindOnConnect}, false},
		{"WithSender null tab", trace.OnConnect().WithSender("tab.url", "u"),
			trace.Event{Kind: trace.KindOnConnect, Sender: json.RawMessage(`{"tab":null}`)}, false},
		// WithoutSender
		{"WithoutSender absent", trace.OnConnect().WithoutSender("origin"), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, true},
		{"WithoutSender present", trace.OnConnect().WithoutSender("tab"), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, false},
		{"WithoutSender present, dotted", trace.OnConnect().WithoutSender("tab.url"), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, false},
		{"WithoutSender absent, dotted", trace.OnConnect().WithoutSender("tab.favIconUrl"), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, true},
		{"WithoutSender frameId 0 is present", trace.OnConnect().WithoutSender("frameId"), trace.Event{Kind: trace.KindOnConnect, Sender: sender}, false},
		{"WithoutSender no tab", trace.OnConnectExternal().WithoutSender("tab"),
			trace.Event{Kind: trace.KindOnConnectExternal, Sender: json.RawMessage(`{"id":"x"}`)}, true},
		// WithLastError, WithoutLastError
		{"WithLastError", trace.OnDisconnect().WithLastError("Could not establish connection."),
			trace.Event{Kind: trace.KindOnDisconnect, LastError: "Could not establish connection."}, true},
		{"WithLastError is exact", trace.OnDisconnect().WithLastError("Could not"),
			trace.Event{Kind: trace.KindOnDisconnect, LastError: "Could not establish connection."}, false},
		{"WithLastError none set", trace.OnDisconnect().WithLastError("x"), trace.Event{Kind: trace.KindOnDisconnect}, false},
		{"WithoutLastError", trace.OnDisconnect().WithoutLastError(), trace.Event{Kind: trace.KindOnDisconnect}, true},
		{"WithoutLastError set", trace.OnDisconnect().WithoutLastError(), trace.Event{Kind: trace.KindOnDisconnect, LastError: "x"}, false},
		{"WithoutLastError needs onDisconnect", trace.AnyEvent().WithoutLastError(), trace.Event{Kind: trace.KindMessage}, false},
		// WithError
		{"WithError substring", trace.Exception().WithError("disconnected port"),
			trace.Event{Kind: trace.KindException, Error: "Error: Attempting to use a disconnected port object"}, true},
		{"WithError whole", trace.Exception().WithError("TypeError: x"), trace.Event{Kind: trace.KindException, Error: "TypeError: x"}, true},
		{"WithError case matters", trace.Exception().WithError("typeerror"), trace.Event{Kind: trace.KindException, Error: "TypeError: x"}, false},
		{"WithError no error", trace.Exception().WithError("x"), trace.Event{Kind: trace.KindException}, false},
		// Where
		{"Where true", trace.AnyEvent().Where("port 3", func(e trace.Event) bool { return e.Port == 3 }), trace.Event{Port: 3}, true},
		{"Where false", trace.AnyEvent().Where("port 3", func(e trace.Event) bool { return e.Port == 3 }), trace.Event{Port: 4}, false},
		// Combined: every part must match.
		{"all parts", trace.OnConnect().In(w).Named("x").WithSender("frameId", 0).WithoutSender("origin"),
			trace.Event{Kind: trace.KindOnConnect, Realm: w, Name: "x", Sender: sender}, true},
		{"one part fails", trace.OnConnect().In(w).Named("x").WithSender("frameId", 0).WithoutSender("origin"),
			trace.Event{Kind: trace.KindOnConnect, Realm: w, Name: "y", Sender: sender}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Match(tt.e); got != tt.match {
				t.Errorf("(%s).Match(%+v) = %v, want %v", tt.q, tt.e, got, tt.match)
			}
		})
	}
}

func TestQueryPanicsOnUnencodableValue(t *testing.T) {
	tests := []struct {
		name string
		make func()
		want string
	}{
		{"WithMessage", func() { trace.Message().WithMessage(make(chan int)) }, "WithMessage"},
		{"WithField", func() { trace.Message().WithField("k", func() {}) }, `WithField("k"`},
		{"WithSender", func() { trace.OnConnect().WithSender("tab.url", make(chan int)) }, `WithSender("tab.url"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if !strings.Contains(s, tt.want) {
					t.Errorf("panic = %v, want a message containing %q", r, tt.want)
				}
			}()
			tt.make()
		})
	}
}

func TestQueryString(t *testing.T) {
	fb := newFakeBrowser(t)
	w := fb.worker
	wName := "worker(" + testExtID + ")"
	tests := []struct {
		q    *trace.Query
		want string
	}{
		{trace.OnConnect().In(w).Named("x"), `onConnect in ` + wName + ` named "x"`},
		{trace.AnyEvent().In(w), `any event in ` + wName},
		{trace.Message().OnPort(trace.Event{Realm: w, Port: 2}), `message on ` + wName + `#2`},
		{trace.Post().WithMessage(map[string]any{"b": 1, "a": "x"}), `post with message {"a":"x","b":1}`},
		{trace.Message().WithField("greeting", "hi"), `message with greeting="hi"`},
		{trace.OnConnect().WithSender("tab.url", "https://example.com/"), `onConnect with sender.tab.url="https://example.com/"`},
		{trace.OnConnect().WithSender("frameId", 0), `onConnect with sender.frameId=0`},
		{trace.OnConnectExternal().WithoutSender("tab"), `onConnectExternal without sender.tab`},
		{trace.OnDisconnect().WithLastError("gone"), `onDisconnect with lastError "gone"`},
		{trace.OnDisconnect().WithoutLastError(), `onDisconnect without lastError`},
		{trace.Exception().WithError("TypeError"), `exception with error containing "TypeError"`},
		{trace.Disconnect().Where("after the reply", func(trace.Event) bool { return true }), `disconnect after the reply`},
		{trace.Connect().Named("a").Named("b"), `connect named "a" named "b"`},
	}
	for _, tt := range tests {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestQueryIsImmutable(t *testing.T) {
	fb := newFakeBrowser(t)
	w := fb.worker
	// Several parts, so that an append on a shared slice would show.
	base := trace.Message().In(w).OnPort(trace.Event{Realm: w, Port: 1})
	baseString := base.String()
	a := base.Named("a")
	b := base.Named("b")
	a2 := a.WithField("n", 1)
	b2 := a.WithField("n", 2)

	for _, tt := range []struct {
		q    *trace.Query
		want string
	}{
		{base, baseString},
		{a, baseString + ` named "a"`},
		{b, baseString + ` named "b"`},
		{a2, baseString + ` named "a" with n=1`},
		{b2, baseString + ` named "a" with n=2`},
	} {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}

	ev := func(name string, n int) trace.Event {
		m, _ := json.Marshal(map[string]int{"n": n})
		return trace.Event{Realm: w, Port: 1, Kind: trace.KindMessage, Name: name, Message: m}
	}
	for _, tt := range []struct {
		name  string
		q     *trace.Query
		e     trace.Event
		match bool
	}{
		{"base a", base, ev("a", 1), true},
		{"base b", base, ev("b", 2), true},
		{"a a", a, ev("a", 1), true},
		{"a b", a, ev("b", 1), false},
		{"b b", b, ev("b", 1), true},
		{"b a", b, ev("a", 1), false},
		{"a2 n=1", a2, ev("a", 1), true},
		{"a2 n=2", a2, ev("a", 2), false},
		{"b2 n=2", b2, ev("a", 2), true},
		{"b2 n=1", b2, ev("a", 1), false},
	} {
		if got := tt.q.Match(tt.e); got != tt.match {
			t.Errorf("%s: (%s).Match = %v, want %v", tt.name, tt.q, got, tt.match)
		}
	}
}

func TestMatchHaveEventActualTypes(t *testing.T) {
	fb, cs := sampleEvents(t)
	q := trace.Message().In(cs).WithField("greeting", "hi there content script!")
	missing := trace.Message().In(cs).Named("nope")

	var nilTrace *trace.Trace
	var nilBrowser *stubBrowser
	tests := []struct {
		name    string
		actual  any
		q       *trace.Query
		want    bool
		wantErr string
	}{
		{"trace", fb.trace, q, true, ""},
		{"trace, no match", fb.trace, missing, false, ""},
		{"events", fb.trace.Events(), q, true, ""},
		{"events, no match", fb.trace.Events(), missing, false, ""},
		{"no events", []trace.Event(nil), trace.AnyEvent(), false, ""},
		{"browser", fb.Browser, q, true, ""},
		{"browser, no match", fb.Browser, missing, false, ""},
		{"string", "a trace", q, false, "got string"},
		{"Trace by value", trace.Event{}, q, false, "got trace.Event"},
		{"nil", nil, q, false, "got <nil>"},
		{"nil trace", nilTrace, q, false, "got nil"},
		{"nil browser", nilBrowser, q, false, "got nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, m := range []types.GomegaMatcher{HaveEvent(tt.q), HaveEventsInOrder(tt.q)} {
				got, err := m.Match(tt.actual)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Errorf("Match(%T) error = %v, want one containing %q", tt.actual, err, tt.wantErr)
					}
					continue
				}
				if err != nil || got != tt.want {
					t.Errorf("Match(%T) = %v, %v; want %v, nil", tt.actual, got, err, tt.want)
				}
			}
		})
	}
}

func TestMatchHaveEventWithGomega(t *testing.T) {
	fb, cs := sampleEvents(t)
	g := gomega.NewWithT(t)
	g.Expect(fb.trace).To(HaveEvent(trace.OnConnect().In(fb.worker).Named("port-from-cs").WithSender("tab.url", "https://example.com/")))
	g.Expect(fb.Browser).To(HaveEvent(trace.Post().In(cs)))
	g.Expect(fb.trace.Events()).NotTo(HaveEvent(trace.Exception()))
	g.Expect(fb.trace).To(gomega.Not(HaveEvent(trace.OnDisconnect())))

	// A wrong actual fails the assertion with the matcher's error.
	var f failures
	gf := gomega.NewGomega(f.fail)
	gf.Expect("a trace").To(HaveEvent(trace.AnyEvent()))
	gf.Expect(42).NotTo(HaveEvent(trace.AnyEvent()))
	msgs := f.all()
	if len(msgs) != 2 {
		t.Fatalf("got %d failures, want 2: %q", len(msgs), msgs)
	}
	for _, m := range msgs {
		if !strings.Contains(m, "event matchers need a *trace.Trace, a *harness.Browser or a []trace.Event") {
			t.Errorf("failure = %q, want it to name the accepted types", m)
		}
	}
}

func TestMatchHaveEventFailureMessage(t *testing.T) {
	fb, cs := sampleEvents(t)
	q := trace.Message().In(cs).WithField("greeting", "bye")
	m := HaveEvent(q)
	ok, err := m.Match(fb.trace)
	if ok || err != nil {
		t.Fatalf("Match = %v, %v; want false, nil", ok, err)
	}
	msg := m.FailureMessage(fb.trace)
	events := fb.trace.Events()
	for _, want := range []string{
		"Expected the trace to have an event " + q.String() + "\n",
		"Closest events:\n",
		"Whole trace:\n" + fb.trace.String(),
		events[3].String(), // the content script's message: kind and realm match
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("FailureMessage =\n%s\nwant it to contain %q", msg, want)
		}
	}
	// Scores: the content script's message 3 (kind, realm), the worker's
	// message 2 (kind), the content script's connect and post 1 (realm), the
	// onConnect and the worker's post 0.
	closest := msg[strings.Index(msg, "Closest events:"):strings.Index(msg, "Whole trace:")]
	wantClosest := "Closest events:\n" + trace.FormatEvents([]trace.Event{events[3], events[5], events[0]}) + "\n"
	if closest != wantClosest {
		t.Errorf("closest events =\n%s\nwant\n%s", closest, wantClosest)
	}

	// With an empty trace there are no closest events.
	empty := trace.New()
	if ok, err := m.Match(empty); ok || err != nil {
		t.Fatalf("Match(empty) = %v, %v", ok, err)
	}
	msg = m.FailureMessage(empty)
	if strings.Contains(msg, "Closest events") || !strings.HasSuffix(msg, "Whole trace:\n  (no events)") {
		t.Errorf("FailureMessage for an empty trace =\n%s", msg)
	}
}

func TestMatchClosestEvents(t *testing.T) {
	fb := newFakeBrowser(t)
	w := fb.worker
	cs := newRealm(fb.Browser, trace.ContentScriptRealm, otherExtID)
	events := []trace.Event{
		{Seq: 1, Realm: w, Kind: trace.KindPost, Name: "x"},        // 2 (realm, name)
		{Seq: 2, Realm: cs, Kind: trace.KindMessage, Name: "y"},    // 2 (kind)
		{Seq: 3, Realm: w, Kind: trace.KindMessage, Name: "y"},     // 3 (kind, realm)
		{Seq: 4, Realm: cs, Kind: trace.KindDisconnect},            // 0
		{Seq: 5, Realm: w, Kind: trace.KindMessage, Name: "other"}, // 3
		{Seq: 6, Realm: cs, Kind: trace.KindMessage, Name: "x"},    // 3 (kind, name)
	}
	q := trace.Message().In(w).Named("x")
	seqs := func(es []trace.Event) []int {
		var out []int
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	tests := []struct {
		n    int
		want []int
	}{
		{0, nil},
		{1, []int{3}},
		{3, []int{3, 5, 6}},
		{10, []int{3, 5, 6, 1, 2}}, // ties keep trace order
	}
	for _, tt := range tests {
		got := seqs(q.Closest(events, tt.n))
		if !slices.Equal(got, tt.want) {
			t.Errorf("Closest(n=%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	// A query without kind finds every event somewhat close.
	if got := seqs(trace.AnyEvent().Named("zzz").Closest(events, 10)); len(got) != len(events) {
		t.Errorf("Closest(any event) = %v, want all", got)
	}
}

func TestMatchNotHaveEventMessage(t *testing.T) {
	fb, cs := sampleEvents(t)
	q := trace.Post().In(cs)
	events := fb.trace.Events()

	// Directly.
	m := HaveEvent(q)
	ok, err := m.Match(fb.trace)
	if !ok || err != nil {
		t.Fatalf("Match = %v, %v; want true, nil", ok, err)
	}
	msg := m.NegatedFailureMessage(fb.trace)
	want := "Expected the trace to have no event " + q.String() + ", but it has:\n" +
		"  " + events[4].String() + "\n" +
		"Whole trace:\n" + fb.trace.String()
	if msg != want {
		t.Errorf("NegatedFailureMessage =\n%s\nwant\n%s", msg, want)
	}

	// Through Gomega, with Not and with NotTo.
	var f failures
	g := gomega.NewGomega(f.fail)
	g.Expect(fb.trace).To(gomega.Not(HaveEvent(q)))
	g.Expect(fb.trace).NotTo(HaveEvent(q))
	msgs := f.all()
	if len(msgs) != 2 {
		t.Fatalf("got %d failures, want 2: %q", len(msgs), msgs)
	}
	for _, m := range msgs {
		if !strings.Contains(m, want) {
			t.Errorf("failure =\n%s\nwant it to contain\n%s", m, want)
		}
	}
}

func TestMatchHaveEventsInOrder(t *testing.T) {
	fb, cs := sampleEvents(t)
	w := fb.worker
	connect := trace.Connect().In(cs).Named("port-from-cs")
	onConnect := trace.OnConnect().In(w).Named("port-from-cs")
	wPost := trace.Post().In(w)
	csGot := trace.Message().In(cs)
	csPost := trace.Post().In(cs)
	wGot := trace.Message().In(w)
	anyPost := trace.Post()
	anyMsg := trace.Message()

	tests := []struct {
		name    string
		queries []*trace.Query
		want    bool
	}{
		{"whole conversation", []*trace.Query{connect, onConnect, wPost, csGot, csPost, wGot}, true},
		{"events between are fine", []*trace.Query{connect, wGot}, true},
		{"one step", []*trace.Query{csGot}, true},
		{"wrong order", []*trace.Query{wGot, connect}, false},
		{"reply before question", []*trace.Query{csPost, wPost}, false},
		{"adjacent, reversed", []*trace.Query{onConnect, connect}, false},
		{"two posts", []*trace.Query{anyPost, anyPost}, true},
		{"three posts, but there are two", []*trace.Query{anyPost, anyPost, anyPost}, false},
		{"same event cannot match two steps", []*trace.Query{onConnect, onConnect}, false},
		{"same step query, two events", []*trace.Query{anyMsg, anyMsg}, true},
		{"missing step", []*trace.Query{connect, trace.Exception(), wGot}, false},
	}
	t.Run("no steps panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("HaveEventsInOrder() with no query did not panic")
			}
		}()
		HaveEventsInOrder()
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, actual := range []any{fb.trace, fb.trace.Events(), fb.Browser} {
				got, err := HaveEventsInOrder(tt.queries...).Match(actual)
				if err != nil || got != tt.want {
					t.Errorf("Match(%T) = %v, %v; want %v, nil", actual, got, err, tt.want)
				}
			}
		})
	}

	// The unordered matcher only needs each event, in any order; HaveEvent
	// takes one query, so check that the events exist each on its own.
	g := gomega.NewWithT(t)
	g.Expect(fb.trace).To(HaveEvent(wGot))
	g.Expect(fb.trace).To(HaveEvent(connect))
	g.Expect(fb.trace).NotTo(HaveEventsInOrder(wGot, connect))
	g.Expect(fb.trace).To(HaveEventsInOrder(connect, wGot))
}

func TestMatchHaveEventsInOrderFailureMessage(t *testing.T) {
	fb, cs := sampleEvents(t)
	w := fb.worker
	q1 := trace.Connect().In(cs)
	q2 := trace.Post().In(w)
	q3 := trace.Message().In(cs).WithField("greeting", "bye")
	q4 := trace.OnDisconnect().In(cs)

	m := HaveEventsInOrder(q1, q2, q3, q4)
	ok, err := m.Match(fb.trace)
	if ok || err != nil {
		t.Fatalf("Match = %v, %v; want false, nil", ok, err)
	}
	msg := m.FailureMessage(fb.trace)
	events := fb.trace.Events()
	wantLines := []string{
		"Expected the trace to have these events in order:",
		"  1. " + q1.String() + "  [ok #1]",
		"  2. " + q2.String() + "  [ok #3]",
		"  3. " + q3.String() + "  [MISSING]",
		"  4. " + q4.String() + "  [not checked]",
		"Step 3 found no match after event #3.",
		"Closest events:",
	}
	if got := strings.Join(strings.Split(msg, "\n")[:len(wantLines)], "\n"); got != strings.Join(wantLines, "\n") {
		t.Errorf("FailureMessage starts with\n%s\nwant\n%s", got, strings.Join(wantLines, "\n"))
	}
	closest := msg[strings.Index(msg, "Closest events:"):strings.Index(msg, "Whole trace:")]
	if !strings.Contains(closest, "  "+events[3].String()) {
		t.Errorf("closest events =\n%s\nwant the content script's message", closest)
	}
	if !strings.HasSuffix(msg, "Whole trace:\n"+fb.trace.String()) {
		t.Errorf("FailureMessage =\n%s\nwant it to end with the whole trace", msg)
	}

	// The first step missing: nothing is ok, no "Step" line.
	m = HaveEventsInOrder(trace.Exception(), q1)
	if ok, _ := m.Match(fb.trace); ok {
		t.Fatal("Match = true, want false")
	}
	msg = m.FailureMessage(fb.trace)
	for _, want := range []string{"  1. exception  [MISSING]", "  2. " + q1.String() + "  [not checked]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("FailureMessage =\n%s\nwant it to contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "Step ") || strings.Contains(msg, "[ok") {
		t.Errorf("FailureMessage =\n%s\nhas a matched step", msg)
	}

	// One query reads like HaveEvent.
	m = HaveEventsInOrder(q3)
	if ok, _ := m.Match(fb.trace); ok {
		t.Fatal("Match = true, want false")
	}
	if msg := m.FailureMessage(fb.trace); !strings.HasPrefix(msg, "Expected the trace to have an event "+q3.String()+"\n") {
		t.Errorf("FailureMessage for one step =\n%s", msg)
	}
}

func TestMatchHaveEventsInOrderNegatedMessage(t *testing.T) {
	fb, cs := sampleEvents(t)
	q1, q2 := trace.Connect().In(cs), trace.Message().In(fb.worker)
	var f failures
	g := gomega.NewGomega(f.fail)
	g.Expect(fb.Browser).NotTo(HaveEventsInOrder(q1, q2))
	msgs := f.all()
	if len(msgs) != 1 {
		t.Fatalf("got %d failures, want 1: %q", len(msgs), msgs)
	}
	events := fb.trace.Events()
	want := "Expected the trace not to have these events in order, but it does:\n" +
		"  " + events[0].String() + "\n  " + events[5].String() + "\n" +
		"Whole trace:\n" + fb.trace.String()
	if !strings.Contains(msgs[0], want) {
		t.Errorf("failure =\n%s\nwant it to contain\n%s", msgs[0], want)
	}
}

func TestMatchEventuallyWithTraceFilledLater(t *testing.T) {
	fb := newFakeBrowser(t)
	tr := fb.trace
	cs := newRealm(fb.Browser, trace.ContentScriptRealm, otherExtID)
	start := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-start
		for i := 1; i <= 50; i++ {
			tr.Add(trace.Event{At: at(i), Realm: cs, Port: 1, Kind: trace.KindPost, Name: "p", Message: json.RawMessage(`{"n":` + strconv.Itoa(i) + `}`)})
		}
		tr.Add(trace.Event{At: at(51), Realm: fb.worker, Port: 1, Kind: trace.KindMessage, Name: "p", Message: json.RawMessage(`{"n":50}`)})
		tr.Add(trace.Event{At: at(52), Realm: fb.worker, Port: 1, Kind: trace.KindDisconnect, Name: "p"})
	}()

	g := gomega.NewWithT(t)
	close(start)
	g.Eventually(tr).WithTimeout(30 * time.Second).WithPolling(time.Millisecond).
		Should(HaveEvent(trace.Message().In(fb.worker).WithField("n", 50)))
	g.Eventually(fb.Browser).WithTimeout(30 * time.Second).WithPolling(time.Millisecond).
		Should(HaveEventsInOrder(trace.Post().In(cs).WithField("n", 50), trace.Message().In(fb.worker), trace.Disconnect()))
	g.Eventually(tr.Events).WithTimeout(30 * time.Second).WithPolling(time.Millisecond).
		Should(HaveEvent(trace.Disconnect().In(fb.worker)))
	<-done
	g.Expect(tr.Len()).To(gomega.Equal(52))
}

func TestMatchEventuallyTimesOutWithTrace(t *testing.T) {
	fb, _ := sampleEvents(t)
	var f failures
	g := gomega.NewGomega(f.fail)
	q := trace.OnDisconnect().In(fb.worker)
	g.Eventually(fb.trace).WithTimeout(20 * time.Millisecond).WithPolling(time.Millisecond).Should(HaveEvent(q))
	msgs := f.all()
	if len(msgs) != 1 {
		t.Fatalf("got %d failures, want 1: %q", len(msgs), msgs)
	}
	for _, want := range []string{"Timed out", "Expected the trace to have an event " + q.String(), "Whole trace:\n" + fb.trace.String()} {
		if !strings.Contains(msgs[0], want) {
			t.Errorf("failure =\n%s\nwant it to contain %q", msgs[0], want)
		}
	}
}

// The extensions of the fake realms.
const (
	testExtID  = "abcdefghijklmnopabcdefghijklmnop"
	otherExtID = "ponmlkjihgfedcbaponmlkjihgfedcba"
)

// testBase is the time of the events of the tests; at(ms) is ms after it.
var testBase = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return testBase.Add(time.Duration(ms) * time.Millisecond) }

// stubBrowser stands for a *harness.Browser: the matchers read its Trace.
type stubBrowser struct{ t *trace.Trace }

func (b *stubBrowser) Trace() *trace.Trace { return b.t }

// fakeBrowser is a trace, a browser that has it, and a worker realm.
type fakeBrowser struct {
	trace   *trace.Trace
	Browser *stubBrowser
	worker  trace.Source
}

func newFakeBrowser(*testing.T) *fakeBrowser {
	tr := trace.New()
	return &fakeBrowser{trace: tr, Browser: &stubBrowser{tr}, worker: newRealm(nil, trace.WorkerRealm, testExtID)}
}

// newRealm makes a realm that prints as a browser that does not know its
// extension would print it, such as "worker(abcd…)".
func newRealm(_ *stubBrowser, kind trace.RealmKind, extID string) *trace.Place {
	return &trace.Place{Info: trace.SourceInfo{Kind: kind, ExtensionID: extID}}
}
