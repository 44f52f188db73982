package trace

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fullScan is what a Finder must answer: the first event matching each
// query in turn, each after the one before, by one scan of all events.
func fullScan(events []Event, queries []*Query) ([]Event, bool) {
	var matched []Event
	from := 0
	for _, q := range queries {
		found := -1
		for i := from; i < len(events); i++ {
			if q.Match(events[i]) {
				found = i
				break
			}
		}
		if found < 0 {
			return matched, false
		}
		matched = append(matched, events[found])
		from = found + 1
	}
	return matched, true
}

// randomEvent is an event of one of a few ports and kinds, at a time near
// now (ms), so that some arrive late and go in before events already there.
func randomEvent(r *rand.Rand, src Source, ms int) Event {
	kinds := []Kind{KindPost, KindMessage, KindConnect, KindOnConnect, KindDisconnect}
	return Event{
		At:    at(ms - r.IntN(8)),
		Realm: src, Port: 1 + r.IntN(3), Kind: kinds[r.IntN(len(kinds))],
		Message: json.RawMessage(fmt.Sprint(r.IntN(5))),
	}
}

// TestFinderMatchesFullScan fills traces with events that arrive out of
// order, one by one and in batches, and polls Finders of one to three
// queries between the adds: each poll must give what a scan of the whole
// trace gives.
func TestFinderMatchesFullScan(t *testing.T) {
	src := newPlace(WorkerRealm, testExtID)
	queries := [][]*Query{
		{Message().WithMessage(3)},
		{OnConnect().Where("on port 2", func(e Event) bool { return e.Port == 2 })},
		{Post().WithMessage(1), Message().WithMessage(1)},
		{Connect(), Post(), Disconnect()},
		{Message().WithMessage(4), Message().WithMessage(4), Message().WithMessage(4)},
		{Exception()}, // never
	}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 19))
		tr := New()
		finders := make([]*Finder, len(queries))
		for i, qs := range queries {
			finders[i] = NewFinder(qs...)
		}
		ms := 10
		for step := range 40 {
			if r.IntN(2) == 0 {
				tr.Add(randomEvent(r, src, ms))
			} else {
				batch := make([]Event, 1+r.IntN(6))
				for i := range batch {
					batch[i] = randomEvent(r, src, ms+i)
				}
				tr.AddBatch(batch)
			}
			ms += r.IntN(4)
			if r.IntN(3) == 0 {
				continue // some adds pile up between polls
			}
			events := tr.Events()
			for i, f := range finders {
				got, gotOK := f.Find(tr)
				want, wantOK := fullScan(events, queries[i])
				if gotOK != wantOK || seqs(got) != seqs(want) {
					t.Fatalf("seed %d step %d, queries %v: Find = %v %v, a full scan = %v %v\ntrace:\n%s",
						seed, step, queries[i], seqs(got), gotOK, seqs(want), wantOK, FormatEvents(events))
				}
			}
		}
	}
}

func seqs(events []Event) string {
	var s []string
	for _, e := range events {
		s = append(s, fmt.Sprint(e.Seq))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// TestFinderLateEventBeforeMatch: an event that arrives late and goes in
// before the match found so far is the match now, as a full scan says.
func TestFinderLateEventBeforeMatch(t *testing.T) {
	tr, src := New(), newPlace(WorkerRealm, testExtID)
	f := NewFinder(Message())
	tr.Add(Event{At: at(10), Realm: src, Port: 1, Kind: KindMessage})
	if got, ok := f.Find(tr); !ok || got[0].Port != 1 {
		t.Fatalf("Find = %v %v, want the message of port 1", got, ok)
	}
	tr.Add(Event{At: at(5), Realm: src, Port: 2, Kind: KindMessage})
	got, ok := f.Find(tr)
	if !ok || got[0].Port != 2 || got[0].Seq != 1 {
		t.Fatalf("Find after a late earlier message = %v %v, want the message of port 2 as #1", got, ok)
	}
}

// TestFinderForgetsOldInserts: a Finder that last looked before more late
// inserts than the trace remembers looks at everything again, and is right.
func TestFinderForgetsOldInserts(t *testing.T) {
	tr, src := New(), newPlace(WorkerRealm, testExtID)
	f := NewFinder(Message().WithMessage(1))
	for i := range 10 {
		tr.Add(Event{At: at(1000 + i), Realm: src, Kind: KindPost})
	}
	if _, ok := f.Find(tr); ok {
		t.Fatal("Find matched a trace of posts")
	}
	for i := range insertLog + 5 {
		tr.Add(Event{At: at(999 - i), Realm: src, Kind: KindMessage, Message: json.RawMessage("0")})
	}
	tr.Add(Event{At: at(0), Realm: src, Kind: KindMessage, Message: json.RawMessage("1")})
	tr.Add(Event{At: at(1), Realm: src, Kind: KindMessage, Message: json.RawMessage("2")})
	got, ok := f.Find(tr)
	if !ok || got[0].Seq != 1 {
		t.Fatalf("Find = %v %v, want the message 1, now #1", got, ok)
	}
}

// TestFinderOtherTrace: a Finder given another trace starts again.
func TestFinderOtherTrace(t *testing.T) {
	src := newPlace(WorkerRealm, testExtID)
	a, b := New(), New()
	a.Add(Event{At: at(1), Realm: src, Kind: KindMessage})
	f := NewFinder(Message())
	if _, ok := f.Find(a); !ok {
		t.Fatal("no message found in a")
	}
	if got, ok := f.Find(b); ok {
		t.Fatalf("found %v in the empty trace b", got)
	}
}

func TestLimitsMaxEvents(t *testing.T) {
	src := newPlace(WorkerRealm, testExtID)
	tr := NewLimited(Owner{}, Limits{MaxEvents: 3})
	for i := range 5 {
		tr.Add(Event{At: at(i), Realm: src, Port: i + 1, Kind: KindPost})
	}
	tr.AddBatch([]Event{{At: at(5), Realm: src, Port: 6, Kind: KindPost}, {At: at(6), Realm: src, Port: 7, Kind: KindPost}})
	events := tr.Events()
	if got := ports(events); fmt.Sprint(got) != "[5 6 7]" {
		t.Errorf("ports kept = %v, want the last three [5 6 7]", got)
	}
	if got := seqs(events); got != "[5 6 7]" {
		t.Errorf("Seqs kept = %v, want their places since the first event [5 6 7]", got)
	}
	if got := tr.Dropped(); got != 4 {
		t.Errorf("Dropped() = %d, want 4", got)
	}
	if s := tr.String(); !strings.HasPrefix(s, "  (4 events dropped before these, to keep the last 3)\n") {
		t.Errorf("String() does not start by counting the dropped events:\n%s", s)
	}
	data, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Dropped int
		Events  []map[string]any
	}
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	if j.Dropped != 4 || len(j.Events) != 3 || j.Events[0]["seq"] != 5.0 {
		t.Errorf("JSON = %s, want dropped 4 and the events 5 to 7", data)
	}
}

// TestLimitsWaitSeesDroppedEvent: a Wait pending while the event it waits
// for comes and is dropped gets it all the same, as a Watch does.
func TestLimitsWaitSeesDroppedEvent(t *testing.T) {
	src := newPlace(WorkerRealm, testExtID)
	tr := NewLimited(Owner{}, Limits{MaxEvents: 2})
	var watched []int
	stop := tr.Watch(func(e Event) { watched = append(watched, e.Port) })
	defer stop()
	type result struct {
		e   Event
		err error
	}
	done := make(chan result, 1)
	waiting := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Known to be pending once its finder is in the trace's list.
		go func() {
			for {
				tr.mu.Lock()
				n := len(tr.waits)
				tr.mu.Unlock()
				if n > 0 {
					close(waiting)
					return
				}
				runtime.Gosched()
			}
		}()
		e, err := tr.Wait(ctx, Disconnect())
		done <- result{e, err}
	}()
	<-waiting
	tr.AddBatch([]Event{
		{At: at(1), Realm: src, Port: 1, Kind: KindPost},
		{At: at(2), Realm: src, Port: 2, Kind: KindDisconnect},
		{At: at(3), Realm: src, Port: 3, Kind: KindPost},
		{At: at(4), Realm: src, Port: 4, Kind: KindPost},
		{At: at(5), Realm: src, Port: 5, Kind: KindPost},
	})
	r := <-done
	if r.err != nil || r.e.Port != 2 || r.e.Seq != 2 {
		t.Fatalf("Wait = %v, %v; want the disconnect of port 2, #2", r.e, r.err)
	}
	if _, ok := tr.Find(Disconnect()); ok {
		t.Error("the trace still has the disconnect it should have dropped")
	}
	tr.mu.Lock()
	n := len(tr.waits)
	tr.mu.Unlock()
	if n != 0 {
		t.Errorf("%d finders of ended waits left in the trace", n)
	}
	if fmt.Sprint(watched) != "[1 2 3 4 5]" {
		t.Errorf("the watcher saw ports %v, want all five", watched)
	}
}

func TestLimitsMaxMessage(t *testing.T) {
	src := newPlace(WorkerRealm, testExtID)
	tr := NewLimited(Owner{}, Limits{MaxMessage: 10})
	small := tr.Add(Event{At: at(1), Realm: src, Port: 1, Kind: KindPost, Message: json.RawMessage(`"short"`)})
	big := tr.Add(Event{At: at(2), Realm: src, Port: 1, Kind: KindPost, Message: json.RawMessage(`"a long message"`)})
	if string(small.Message) != `"short"` || small.Truncated != nil {
		t.Errorf("a message under the limit = %s (truncated %v), want it whole", small.Message, small.Truncated)
	}
	if big.Message != nil || big.Truncated == nil || big.Truncated.Size != 16 || len(big.Truncated.SHA256) != 64 {
		t.Fatalf("a message over the limit: Message %s, Truncated %+v; want none, and its size 16 and SHA-256", big.Message, big.Truncated)
	}
	if s := big.String(); !strings.Contains(s, "message=(left out: 16 bytes, sha256 "+big.Truncated.SHA256[:16]+"…)") {
		t.Errorf("String() = %s, want it to say the message was left out, with its size and hash", s)
	}
	data, err := json.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"messageSize":16,"messageSha256":"`+big.Truncated.SHA256+`"`) {
		t.Errorf("JSON = %s, want messageSize and messageSha256", data)
	}
}

// TestTraceSharesLargeBodies: a post and its message with one large body
// keep one copy of it.
func TestTraceSharesLargeBodies(t *testing.T) {
	src, dst := newPlace(ContentScriptRealm, testExtID), newPlace(WorkerRealm, testExtID)
	body := `"` + strings.Repeat("x", 4096) + `"`
	tr := New()
	tr.AddBatch([]Event{{At: at(1), Realm: src, Port: 1, Kind: KindPost, Message: json.RawMessage(body)}})
	tr.AddBatch([]Event{{At: at(2), Realm: dst, Port: 1, Kind: KindMessage, Message: json.RawMessage(body)}})
	events := tr.Events()
	if &events[0].Message[0] != &events[1].Message[0] {
		t.Error("the post and its message keep two copies of one 4 KiB body")
	}
	small := tr.Add(Event{At: at(3), Realm: dst, Port: 1, Kind: KindMessage, Message: json.RawMessage(`"x"`)})
	other := tr.Add(Event{At: at(4), Realm: dst, Port: 1, Kind: KindMessage, Message: json.RawMessage(`"` + strings.Repeat("y", 4096) + `"`)})
	if string(small.Message) != `"x"` || other.Message[1] != 'y' {
		t.Errorf("sharing changed other messages: %.20s, %.20s", small.Message, other.Message)
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, l := range []Limits{{MaxEvents: -1}, {MaxMessage: -5}} {
		if err := l.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", l)
		}
	}
	if err := (Limits{MaxEvents: 10, MaxMessage: 1 << 20}).Validate(); err != nil {
		t.Errorf("Validate of good limits: %v", err)
	}
}
