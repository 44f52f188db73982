package matchers

import (
	"encoding/json"
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
