package harness

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
func sampleEvents(t *testing.T) (*fakeBrowser, *Realm) {
	t.Helper()
	fb := newFakeBrowser(t)
	cs := newRealm(fb.Browser, ContentScriptRealm, otherExtID)
	tr := fb.trace
	tr.Add(Event{At: at(1), Realm: cs, Port: 1, Kind: KindConnect, Name: "port-from-cs", Call: "connect"})
	tr.Add(Event{At: at(2), Realm: fb.worker, Port: 1, Kind: KindOnConnect, Name: "port-from-cs",
		Sender: json.RawMessage(`{"id":"` + otherExtID + `","frameId":0,"tab":{"id":5,"url":"https://example.com/"}}`)})
	tr.Add(Event{At: at(3), Realm: fb.worker, Port: 1, Kind: KindPost, Name: "port-from-cs", Message: json.RawMessage(`{"greeting":"hi there content script!"}`)})
	tr.Add(Event{At: at(4), Realm: cs, Port: 1, Kind: KindMessage, Name: "port-from-cs", Message: json.RawMessage(`{"greeting":"hi there content script!"}`)})
	tr.Add(Event{At: at(5), Realm: cs, Port: 1, Kind: KindPost, Name: "port-from-cs", Message: json.RawMessage(`{"greeting":"hello from content script"}`)})
	tr.Add(Event{At: at(6), Realm: fb.worker, Port: 1, Kind: KindMessage, Name: "port-from-cs", Message: json.RawMessage(`{"greeting":"hello from content script"}`)})
	return fb, cs
}

func TestQueryKinds(t *testing.T) {
	tests := []struct {
		name string
		q    *EventQuery
		kind EventKind // "" for any
	}{
		{"AnyEvent", AnyEvent(), ""},
		{"Connected", Connected(), KindConnect},
		{"OnConnect", OnConnect(), KindOnConnect},
		{"OnConnectExternal", OnConnectExternal(), KindOnConnectExternal},
		{"Posted", Posted(), KindPost},
		{"Received", Received(), KindMessage},
		{"Disconnected", Disconnected(), KindDisconnect},
		{"OnDisconnect", OnDisconnect(), KindOnDisconnect},
		{"Threw", Threw(), KindException},
	}
	all := []EventKind{KindConnect, KindOnConnect, KindOnConnectExternal, KindPost, KindMessage, KindDisconnect, KindOnDisconnect, KindException, "other"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range all {
				want := tt.kind == "" || k == tt.kind
				if got := tt.q.Match(Event{Kind: k}); got != want {
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
	cs := newRealm(fb.Browser, ContentScriptRealm, otherExtID)
	sender := json.RawMessage(`{"id":"` + otherExtID + `","url":"https://example.com/page","frameId":0,"documentLifecycle":"active","tab":{"id":5,"url":"https://example.com/","active":true,"mutedInfo":{"muted":false}}}`)

	tests := []struct {
		name  string
		q     *EventQuery
		e     Event
		match bool
	}{
		// In
		{"In same realm", AnyEvent().In(w), Event{Realm: w}, true},
		{"In other realm", AnyEvent().In(w), Event{Realm: cs}, false},
		{"In other realm of same ID", AnyEvent().In(w), Event{Realm: newRealm(fb.Browser, WorkerRealm, testExtID)}, false},
		{"In no realm", AnyEvent().In(w), Event{}, false},
		// Named
		{"Named", OnConnect().Named("x"), Event{Kind: KindOnConnect, Name: "x"}, true},
		{"Named other", OnConnect().Named("x"), Event{Kind: KindOnConnect, Name: "y"}, false},
		{"Named empty", OnConnect().Named(""), Event{Kind: KindOnConnect}, true},
		{"Named right, kind wrong", OnConnect().Named("x"), Event{Kind: KindConnect, Name: "x"}, false},
		// OnPort
		{"OnPort", AnyEvent().OnPort(&Port{Realm: w, Handle: 2}), Event{Realm: w, Port: 2}, true},
		{"OnPort other handle", AnyEvent().OnPort(&Port{Realm: w, Handle: 2}), Event{Realm: w, Port: 1}, false},
		{"OnPort other realm", AnyEvent().OnPort(&Port{Realm: w, Handle: 2}), Event{Realm: cs, Port: 2}, false},
		// WithMessage
		{"WithMessage map", Received().WithMessage(map[string]any{"greeting": "hi"}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"hi"}`)}, true},
		{"WithMessage key order", Received().WithMessage(map[string]any{"a": 1, "b": []int{1, 2}}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{ "b": [1, 2.0], "a": 1.0 }`)}, true},
		{"WithMessage number formats", Posted().WithMessage(100),
			Event{Kind: KindPost, Message: json.RawMessage(`1e2`)}, true},
		{"WithMessage struct", Received().WithMessage(struct {
			Greeting string `json:"greeting"`
		}{"hi"}), Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"hi"}`)}, true},
		{"WithMessage raw JSON", Received().WithMessage(json.RawMessage(`{"x":[true,null]}`)),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"x":[true,null]}`)}, true},
		{"WithMessage extra field", Received().WithMessage(map[string]any{"greeting": "hi"}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"hi","x":1}`)}, false},
		{"WithMessage other value", Received().WithMessage(map[string]any{"greeting": "hi"}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"ho"}`)}, false},
		{"WithMessage string vs number", Received().WithMessage("1"),
			Event{Kind: KindMessage, Message: json.RawMessage(`1`)}, false},
		{"WithMessage null", Received().WithMessage(nil),
			Event{Kind: KindMessage, Message: json.RawMessage(`null`)}, true},
		{"WithMessage null, no message", Received().WithMessage(nil), Event{Kind: KindMessage}, false},
		{"WithMessage bad JSON in event", Received().WithMessage("x"),
			Event{Kind: KindMessage, Message: json.RawMessage(`{`)}, false},
		// WithField
		{"WithField", Received().WithField("greeting", "hi"),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"hi","other":[1]}`)}, true},
		{"WithField number", Received().WithField("n", 3),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"n":3.0}`)}, true},
		{"WithField object", Received().WithField("o", map[string]any{"b": 2, "a": 1}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"o":{"a":1,"b":2}}`)}, true},
		{"WithField other value", Received().WithField("greeting", "hi"),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"ho"}`)}, false},
		{"WithField absent", Received().WithField("greeting", "hi"),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"other":"hi"}`)}, false},
		{"WithField null vs absent", Received().WithField("greeting", nil),
			Event{Kind: KindMessage, Message: json.RawMessage(`{}`)}, false},
		{"WithField null", Received().WithField("greeting", nil),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":null}`)}, true},
		{"WithField not an object", Received().WithField("greeting", "hi"),
			Event{Kind: KindMessage, Message: json.RawMessage(`"hi"`)}, false},
		{"WithField is not a path", Received().WithField("a.b", 1),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"a":{"b":1}}`)}, false},
		{"WithField no message", Received().WithField("greeting", "hi"), Event{Kind: KindMessage}, false},
		// WithSender
		{"WithSender tab.url", OnConnect().WithSender("tab.url", "https://example.com/"),
			Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender frameId 0", OnConnect().WithSender("frameId", 0), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender frameId 1", OnConnect().WithSender("frameId", 1), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender tab.id", OnConnect().WithSender("tab.id", 5), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender deep", OnConnect().WithSender("tab.mutedInfo.muted", false), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender object", OnConnect().WithSender("tab.mutedInfo", map[string]bool{"muted": false}),
			Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender top level", OnConnect().WithSender("id", otherExtID), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender other url", OnConnect().WithSender("tab.url", "https://example.org/"),
			Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender absent", OnConnect().WithSender("origin", "https://example.com"),
			Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender through a string", OnConnect().WithSender("url.x", 1), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender no sender", OnConnect().WithSender("frameId", 0), Event{Kind: KindOnConnect}, false},
		{"WithSender null tab", OnConnect().WithSender("tab.url", "u"),
			Event{Kind: KindOnConnect, Sender: json.RawMessage(`{"tab":null}`)}, false},
		// WithoutSender
		{"WithoutSender absent", OnConnect().WithoutSender("origin"), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithoutSender present", OnConnect().WithoutSender("tab"), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithoutSender present, dotted", OnConnect().WithoutSender("tab.url"), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithoutSender absent, dotted", OnConnect().WithoutSender("tab.favIconUrl"), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithoutSender frameId 0 is present", OnConnect().WithoutSender("frameId"), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithoutSender no tab", OnConnectExternal().WithoutSender("tab"),
			Event{Kind: KindOnConnectExternal, Sender: json.RawMessage(`{"id":"x"}`)}, true},
		// WithLastError, WithoutLastError
		{"WithLastError", OnDisconnect().WithLastError("Could not establish connection."),
			Event{Kind: KindOnDisconnect, LastError: "Could not establish connection."}, true},
		{"WithLastError is exact", OnDisconnect().WithLastError("Could not"),
			Event{Kind: KindOnDisconnect, LastError: "Could not establish connection."}, false},
		{"WithLastError none set", OnDisconnect().WithLastError("x"), Event{Kind: KindOnDisconnect}, false},
		{"WithoutLastError", OnDisconnect().WithoutLastError(), Event{Kind: KindOnDisconnect}, true},
		{"WithoutLastError set", OnDisconnect().WithoutLastError(), Event{Kind: KindOnDisconnect, LastError: "x"}, false},
		{"WithoutLastError needs onDisconnect", AnyEvent().WithoutLastError(), Event{Kind: KindMessage}, false},
		// WithError
		{"WithError substring", Threw().WithError("disconnected port"),
			Event{Kind: KindException, Error: "Error: Attempting to use a disconnected port object"}, true},
		{"WithError whole", Threw().WithError("TypeError: x"), Event{Kind: KindException, Error: "TypeError: x"}, true},
		{"WithError case matters", Threw().WithError("typeerror"), Event{Kind: KindException, Error: "TypeError: x"}, false},
		{"WithError no error", Threw().WithError("x"), Event{Kind: KindException}, false},
		// Where
		{"Where true", AnyEvent().Where("port 3", func(e Event) bool { return e.Port == 3 }), Event{Port: 3}, true},
		{"Where false", AnyEvent().Where("port 3", func(e Event) bool { return e.Port == 3 }), Event{Port: 4}, false},
		// Combined: every part must match.
		{"all parts", OnConnect().In(w).Named("x").WithSender("frameId", 0).WithoutSender("origin"),
			Event{Kind: KindOnConnect, Realm: w, Name: "x", Sender: sender}, true},
		{"one part fails", OnConnect().In(w).Named("x").WithSender("frameId", 0).WithoutSender("origin"),
			Event{Kind: KindOnConnect, Realm: w, Name: "y", Sender: sender}, false},
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
		{"WithMessage", func() { Received().WithMessage(make(chan int)) }, "WithMessage"},
		{"WithField", func() { Received().WithField("k", func() {}) }, `WithField("k"`},
		{"WithSender", func() { OnConnect().WithSender("tab.url", make(chan int)) }, `WithSender("tab.url"`},
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
		q    *EventQuery
		want string
	}{
		{OnConnect().In(w).Named("x"), `onConnect in ` + wName + ` named "x"`},
		{AnyEvent().In(w), `any event in ` + wName},
		{Received().OnPort(&Port{Realm: w, Handle: 2}), `message on ` + wName + `#2`},
		{Posted().WithMessage(map[string]any{"b": 1, "a": "x"}), `post with message {"a":"x","b":1}`},
		{Received().WithField("greeting", "hi"), `message with greeting="hi"`},
		{OnConnect().WithSender("tab.url", "https://example.com/"), `onConnect with sender.tab.url="https://example.com/"`},
		{OnConnect().WithSender("frameId", 0), `onConnect with sender.frameId=0`},
		{OnConnectExternal().WithoutSender("tab"), `onConnectExternal without sender.tab`},
		{OnDisconnect().WithLastError("gone"), `onDisconnect with lastError "gone"`},
		{OnDisconnect().WithoutLastError(), `onDisconnect without lastError`},
		{Threw().WithError("TypeError"), `exception with error containing "TypeError"`},
		{Disconnected().Where("after the reply", func(Event) bool { return true }), `disconnect after the reply`},
		{Connected().Named("a").Named("b"), `connect named "a" named "b"`},
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
	base := Received().In(w).OnPort(&Port{Realm: w, Handle: 1})
	baseString := base.String()
	a := base.Named("a")
	b := base.Named("b")
	a2 := a.WithField("n", 1)
	b2 := a.WithField("n", 2)

	for _, tt := range []struct {
		q    *EventQuery
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

	ev := func(name string, n int) Event {
		m, _ := json.Marshal(map[string]int{"n": n})
		return Event{Realm: w, Port: 1, Kind: KindMessage, Name: name, Message: m}
	}
	for _, tt := range []struct {
		name  string
		q     *EventQuery
		e     Event
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
	q := Received().In(cs).WithField("greeting", "hi there content script!")
	missing := Received().In(cs).Named("nope")

	var nilTrace *Trace
	var nilBrowser *Browser
	tests := []struct {
		name    string
		actual  any
		q       *EventQuery
		want    bool
		wantErr string
	}{
		{"trace", fb.trace, q, true, ""},
		{"trace, no match", fb.trace, missing, false, ""},
		{"events", fb.trace.Events(), q, true, ""},
		{"events, no match", fb.trace.Events(), missing, false, ""},
		{"no events", []Event(nil), AnyEvent(), false, ""},
		{"browser", fb.Browser, q, true, ""},
		{"browser, no match", fb.Browser, missing, false, ""},
		{"string", "a trace", q, false, "got string"},
		{"Trace by value", Event{}, q, false, "got harness.Event"},
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
	g.Expect(fb.trace).To(HaveEvent(OnConnect().In(fb.worker).Named("port-from-cs").WithSender("tab.url", "https://example.com/")))
	g.Expect(fb.Browser).To(HaveEvent(Posted().In(cs)))
	g.Expect(fb.trace.Events()).NotTo(HaveEvent(Threw()))
	g.Expect(fb.trace).To(gomega.Not(HaveEvent(OnDisconnect())))

	// A wrong actual fails the assertion with the matcher's error.
	var f failures
	gf := gomega.NewGomega(f.fail)
	gf.Expect("a trace").To(HaveEvent(AnyEvent()))
	gf.Expect(42).NotTo(HaveEvent(AnyEvent()))
	msgs := f.all()
	if len(msgs) != 2 {
		t.Fatalf("got %d failures, want 2: %q", len(msgs), msgs)
	}
	for _, m := range msgs {
		if !strings.Contains(m, "port event matchers need a *harness.Trace, a *harness.Browser or a []harness.Event") {
			t.Errorf("failure = %q, want it to name the accepted types", m)
		}
	}
}

func TestMatchHaveEventFailureMessage(t *testing.T) {
	fb, cs := sampleEvents(t)
	q := Received().In(cs).WithField("greeting", "bye")
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
	wantClosest := "Closest events:\n" + FormatEvents([]Event{events[3], events[5], events[0]}) + "\n"
	if closest != wantClosest {
		t.Errorf("closest events =\n%s\nwant\n%s", closest, wantClosest)
	}

	// With an empty trace there are no closest events.
	empty := NewTrace()
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
	cs := newRealm(fb.Browser, ContentScriptRealm, otherExtID)
	events := []Event{
		{Seq: 1, Realm: w, Kind: KindPost, Name: "x"},        // 2 (realm, name)
		{Seq: 2, Realm: cs, Kind: KindMessage, Name: "y"},    // 2 (kind)
		{Seq: 3, Realm: w, Kind: KindMessage, Name: "y"},     // 3 (kind, realm)
		{Seq: 4, Realm: cs, Kind: KindDisconnect},            // 0
		{Seq: 5, Realm: w, Kind: KindMessage, Name: "other"}, // 3
		{Seq: 6, Realm: cs, Kind: KindMessage, Name: "x"},    // 3 (kind, name)
	}
	q := Received().In(w).Named("x")
	seqs := func(es []Event) []int {
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
		got := seqs(closestEvents(q, events, tt.n))
		if !slices.Equal(got, tt.want) {
			t.Errorf("closestEvents(n=%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	// A query without kind finds every event somewhat close.
	if got := seqs(closestEvents(AnyEvent().Named("zzz"), events, 10)); len(got) != len(events) {
		t.Errorf("closestEvents(any event) = %v, want all", got)
	}
}

func TestMatchNotHaveEventMessage(t *testing.T) {
	fb, cs := sampleEvents(t)
	q := Posted().In(cs)
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
	connect := Connected().In(cs).Named("port-from-cs")
	onConnect := OnConnect().In(w).Named("port-from-cs")
	wPost := Posted().In(w)
	csGot := Received().In(cs)
	csPost := Posted().In(cs)
	wGot := Received().In(w)
	anyPost := Posted()
	anyMsg := Received()

	tests := []struct {
		name    string
		queries []*EventQuery
		want    bool
	}{
		{"whole conversation", []*EventQuery{connect, onConnect, wPost, csGot, csPost, wGot}, true},
		{"events between are fine", []*EventQuery{connect, wGot}, true},
		{"one step", []*EventQuery{csGot}, true},
		{"wrong order", []*EventQuery{wGot, connect}, false},
		{"reply before question", []*EventQuery{csPost, wPost}, false},
		{"adjacent, reversed", []*EventQuery{onConnect, connect}, false},
		{"two posts", []*EventQuery{anyPost, anyPost}, true},
		{"three posts, but there are two", []*EventQuery{anyPost, anyPost, anyPost}, false},
		{"same event cannot match two steps", []*EventQuery{onConnect, onConnect}, false},
		{"same step query, two events", []*EventQuery{anyMsg, anyMsg}, true},
		{"missing step", []*EventQuery{connect, Threw(), wGot}, false},
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
	q1 := Connected().In(cs)
	q2 := Posted().In(w)
	q3 := Received().In(cs).WithField("greeting", "bye")
	q4 := OnDisconnect().In(cs)

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
	m = HaveEventsInOrder(Threw(), q1)
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
	q1, q2 := Connected().In(cs), Received().In(fb.worker)
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
	cs := newRealm(fb.Browser, ContentScriptRealm, otherExtID)
	start := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-start
		for i := 1; i <= 50; i++ {
			tr.Add(Event{At: at(i), Realm: cs, Port: 1, Kind: KindPost, Name: "p", Message: json.RawMessage(`{"n":` + strconv.Itoa(i) + `}`)})
		}
		tr.Add(Event{At: at(51), Realm: fb.worker, Port: 1, Kind: KindMessage, Name: "p", Message: json.RawMessage(`{"n":50}`)})
		tr.Add(Event{At: at(52), Realm: fb.worker, Port: 1, Kind: KindDisconnect, Name: "p"})
	}()

	g := gomega.NewWithT(t)
	close(start)
	g.Eventually(tr).WithTimeout(30 * time.Second).WithPolling(time.Millisecond).
		Should(HaveEvent(Received().In(fb.worker).WithField("n", 50)))
	g.Eventually(fb.Browser).WithTimeout(30 * time.Second).WithPolling(time.Millisecond).
		Should(HaveEventsInOrder(Posted().In(cs).WithField("n", 50), Received().In(fb.worker), Disconnected()))
	g.Eventually(tr.Events).WithTimeout(30 * time.Second).WithPolling(time.Millisecond).
		Should(HaveEvent(Disconnected().In(fb.worker)))
	<-done
	g.Expect(tr.Len()).To(gomega.Equal(52))
}

func TestMatchEventuallyTimesOutWithTrace(t *testing.T) {
	fb, _ := sampleEvents(t)
	var f failures
	g := gomega.NewGomega(f.fail)
	q := OnDisconnect().In(fb.worker)
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
