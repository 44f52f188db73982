package trace

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Sources of the tests' events, as the harness names a realm of an
// extension it did not load: "worker(<ID>)".
const (
	testExtID  = "abcdefghijklmnopabcdefghijklmnop"
	otherExtID = "ponmlkjihgfedcbaponmlkjihgfedcba"
)

// newPlace returns a source that prints as kind(extID).
func newPlace(kind RealmKind, extID string) *Place {
	return &Place{Info: SourceInfo{Kind: kind, ExtensionID: extID}}
}

// testBase is the time of the events of the tests; at(ms) is ms after it.
var testBase = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return testBase.Add(time.Duration(ms) * time.Millisecond) }

func TestTraceAddOrder(t *testing.T) {
	type arrival struct{ ms, port int }
	tests := []struct {
		name     string
		arrivals []arrival
		want     []int // ports in trace order
	}{
		{"empty", nil, []int{}},
		{"one", []arrival{{5, 1}}, []int{1}},
		{"in order", []arrival{{1, 1}, {2, 2}, {3, 3}}, []int{1, 2, 3}},
		{"reversed", []arrival{{3, 1}, {2, 2}, {1, 3}}, []int{3, 2, 1}},
		{"late earlier event goes between", []arrival{{1, 1}, {3, 2}, {2, 3}}, []int{1, 3, 2}},
		{"late earliest event goes first", []arrival{{2, 1}, {3, 2}, {1, 3}}, []int{3, 1, 2}},
		{"equal times keep arrival order", []arrival{{1, 1}, {1, 2}, {1, 3}}, []int{1, 2, 3}},
		{"late event goes after events of its time", []arrival{{1, 1}, {3, 2}, {1, 3}}, []int{1, 3, 2}},
		{"late event goes after all of its time", []arrival{{1, 1}, {2, 2}, {2, 3}, {4, 4}, {2, 5}}, []int{1, 2, 3, 5, 4}},
		{"mixed", []arrival{{5, 1}, {1, 2}, {4, 3}, {1, 4}, {9, 5}, {0, 6}}, []int{6, 2, 4, 3, 1, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, worker := New(), newPlace(WorkerRealm, testExtID)
			for _, a := range tt.arrivals {
				tr.Add(Event{At: at(a.ms), Realm: worker, Port: a.port, Kind: KindMessage})
			}
			events := tr.Events()
			if got := ports(events); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ports in trace order = %v, want %v", got, tt.want)
			}
			checkTraceOrder(t, events)
			if tr.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", tr.Len(), len(tt.want))
			}
		})
	}
}

func TestTraceAddReturnsPlacedEvent(t *testing.T) {
	tr, worker := New(), newPlace(WorkerRealm, testExtID)
	msg := json.RawMessage(`{"greeting":"hi"}`)
	steps := []struct {
		ms, port, wantSeq int
	}{
		{10, 1, 1},
		{30, 2, 2},
		{20, 3, 2}, // inserted before port 2
		{5, 4, 1},  // inserted first
		{30, 5, 5}, // after port 2, same time
	}
	for _, s := range steps {
		got := tr.Add(Event{At: at(s.ms), Realm: worker, Port: s.port, Kind: KindMessage, Message: msg})
		if got.Seq != s.wantSeq || got.Port != s.port || !got.At.Equal(at(s.ms)) || got.Realm != worker || string(got.Message) != string(msg) {
			t.Errorf("Add(port %d at %dms) = %+v, want Seq %d and the event's fields", s.port, s.ms, got, s.wantSeq)
		}
	}
	if got, want := ports(tr.Events()), []int{4, 1, 3, 2, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("ports in trace order = %v, want %v", got, want)
	}
	checkTraceOrder(t, tr.Events())
}

func TestTraceEventsIsACopy(t *testing.T) {
	tr, worker := New(), newPlace(WorkerRealm, testExtID)
	if ev := tr.Events(); len(ev) != 0 {
		t.Fatalf("Events() of a new trace = %v, want none", ev)
	}
	tr.Add(Event{At: at(1), Realm: worker, Port: 1, Kind: KindConnect, Name: "a"})
	tr.Add(Event{At: at(2), Realm: worker, Port: 1, Kind: KindPost, Message: json.RawMessage(`1`)})

	events := tr.Events()
	events[0].Name = "changed"
	events[0].Seq = 99
	events[1] = Event{}
	_ = append(events[:1], Event{Port: 42})

	again := tr.Events()
	if again[0].Name != "a" || again[0].Seq != 1 || again[1].Kind != KindPost || again[1].Seq != 2 {
		t.Errorf("changing the slice of Events() changed the trace: %+v", again)
	}
	tr.Add(Event{At: at(0), Realm: worker, Port: 7, Kind: KindDisconnect})
	if events[0].Seq != 99 || len(events) != 2 {
		t.Errorf("Add changed a slice returned by Events() before: %+v", events)
	}
	if tr.Len() != 3 {
		t.Errorf("Len() = %d, want 3", tr.Len())
	}
}

func TestTraceString(t *testing.T) {
	tr, worker := New(), newPlace(WorkerRealm, testExtID)
	if got := tr.String(); got != "  (no events)" {
		t.Errorf("String() of an empty trace = %q, want %q", got, "  (no events)")
	}
	if got := FormatEvents(nil); got != "  (no events)" {
		t.Errorf("FormatEvents(nil) = %q", got)
	}
	if got := FormatEvents([]Event{}); got != "  (no events)" {
		t.Errorf("FormatEvents([]Event{}) = %q", got)
	}

	tr.Add(Event{At: at(2), Realm: worker, Port: 1, Kind: KindMessage, Name: "port-from-cs", Message: json.RawMessage(`{"greeting":"hi"}`)})
	tr.Add(Event{At: at(1), Realm: worker, Port: 1, Kind: KindOnConnect, Name: "port-from-cs", Sender: json.RawMessage(`{"frameId":0}`)})
	got := tr.String()
	lines := strings.Split(got, "\n")
	if len(lines) != 2 {
		t.Fatalf("String() has %d lines, want 2:\n%s", len(lines), got)
	}
	events := tr.Events()
	for i, line := range lines {
		if want := "  " + events[i].String(); line != want {
			t.Errorf("line %d = %q, want %q", i+1, line, want)
		}
	}
	if got != FormatEvents(events) {
		t.Errorf("String() = %q, FormatEvents(Events()) = %q", got, FormatEvents(events))
	}
	for _, want := range []string{
		"  1 03:04:05.001000 onConnect         worker(" + testExtID + ")#1 name=\"port-from-cs\" sender={\"frameId\":0}",
		"  2 03:04:05.002000 message           worker(" + testExtID + ")#1 name=\"port-from-cs\" message={\"greeting\":\"hi\"}",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("String() = \n%s\nwant a line %q", got, want)
		}
	}
}

func TestTraceEventString(t *testing.T) {
	worker := newPlace(WorkerRealm, testExtID)
	w := "worker(" + testExtID + ")"
	long := `"` + strings.Repeat("x", 300) + `"`
	tests := []struct {
		name string
		e    Event
		want []string // substrings
		not  []string
	}{
		{
			"connect has a name",
			Event{Seq: 3, At: at(1), Realm: worker, Port: 2, Kind: KindConnect, Name: "n", Call: "connect"},
			[]string{"  3 03:04:05.001000 connect ", w + "#2", `name="n"`},
			[]string{"call=", "message=", "lastError"},
		},
		{
			"onConnectExternal has a name, even empty",
			Event{Seq: 1, At: at(0), Realm: worker, Port: 1, Kind: KindOnConnectExternal},
			[]string{"onConnectExternal", `name=""`},
			nil,
		},
		{
			"post has the port's name and the message",
			Event{Seq: 1, At: at(0), Realm: worker, Port: 1, Kind: KindPost, Name: "n", Message: json.RawMessage(`[1,2]`)},
			[]string{`#1 name="n" message=[1,2]`},
			nil,
		},
		{
			"long message is abbreviated",
			Event{Seq: 1, At: at(0), Realm: worker, Port: 1, Kind: KindMessage, Message: json.RawMessage(long)},
			[]string{"message=" + long[:200] + "…(302 bytes)"},
			[]string{long[:201]},
		},
		{
			"onDisconnect without lastError",
			Event{Seq: 1, At: at(0), Realm: worker, Port: 1, Kind: KindOnDisconnect},
			[]string{"lastError=none"},
			nil,
		},
		{
			"onDisconnect with lastError",
			Event{Seq: 1, At: at(0), Realm: worker, Port: 1, Kind: KindOnDisconnect, LastError: "Could not establish connection."},
			[]string{`lastError="Could not establish connection."`},
			[]string{"lastError=none"},
		},
		{
			"exception without port",
			Event{Seq: 1, At: at(0), Realm: worker, Port: 0, Kind: KindException, Call: "connect", Error: "TypeError: bad"},
			[]string{w + "#-", `call=connect error="TypeError: bad"`},
			[]string{"name="},
		},
		{
			"no realm",
			Event{Seq: 1, At: at(0), Port: 2, Kind: KindPost},
			[]string{"(no realm)#2"},
			nil,
		},
		{
			"exception on a port",
			Event{Seq: 1, At: at(0), Realm: worker, Port: 2, Kind: KindException, Name: "p", Call: "postMessage", Error: "Error: gone"},
			[]string{w + `#2 name="p"`, `call=postMessage error="Error: gone"`},
			nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.e.String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("String() = %q, want it to contain %q", got, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("String() = %q, want it not to contain %q", got, n)
				}
			}
		})
	}
}

func TestTraceConcurrentAdd(t *testing.T) {
	tr, worker := New(), newPlace(WorkerRealm, testExtID)
	const goroutines, perGoroutine = 8, 100
	const n = goroutines * perGoroutine

	// A waiter for the last event to arrive, and readers, run alongside.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() {
		_, err := tr.Wait(ctx, AnyEvent().Where("is the last", func(e Event) bool { return e.Port == n }))
		waited <- err
	}()
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_ = tr.Len()
				_ = tr.Events()
				if i%64 == 0 {
					_ = tr.String()
				}
			}
		})
	}

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				port := g*perGoroutine + i + 1
				ms := (g*7919 + i*104729) % 251 // many equal times
				tr.Add(Event{At: at(ms), Realm: worker, Port: port, Kind: KindMessage})
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if err := <-waited; err != nil {
		t.Errorf("Wait for the last event: %v", err)
	}

	if tr.Len() != n {
		t.Fatalf("Len() = %d, want %d", tr.Len(), n)
	}
	events := tr.Events()
	checkTraceOrder(t, events)
	seen := make(map[int]bool, n)
	for _, e := range events {
		if seen[e.Port] {
			t.Errorf("port %d is twice in the trace", e.Port)
		}
		seen[e.Port] = true
	}
	if len(seen) != n {
		t.Errorf("trace has %d distinct events, want %d", len(seen), n)
	}
	// Within one goroutine, events of equal time keep their arrival order.
	for i := 1; i < len(events); i++ {
		a, b := events[i-1], events[i]
		if a.At.Equal(b.At) && (a.Port-1)/perGoroutine == (b.Port-1)/perGoroutine && a.Port > b.Port {
			t.Errorf("ports %d and %d of one goroutine and time are out of arrival order", a.Port, b.Port)
		}
	}
}

func TestTraceWaitForLaterEvent(t *testing.T) {
	tr, worker := New(), newPlace(WorkerRealm, testExtID)
	tr.Add(Event{At: at(1), Realm: worker, Port: 1, Kind: KindMessage, Name: "other"})

	// The Where part tells when Wait has looked at the trace; Wait holds the
	// trace's lock from then until it has taken the channel it waits on, so
	// the events added below come after Wait began to wait.
	scanned := make(chan struct{})
	var once sync.Once
	q := Message().Where("named target", func(e Event) bool {
		once.Do(func() { close(scanned) })
		return e.Name == "target"
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		e   Event
		err error
	}
	done := make(chan result, 1)
	go func() {
		e, err := tr.Wait(ctx, q)
		done <- result{e, err}
	}()

	<-scanned
	go func() {
		tr.Add(Event{At: at(2), Realm: worker, Port: 2, Kind: KindPost, Name: "target"})    // wrong kind
		tr.Add(Event{At: at(3), Realm: worker, Port: 3, Kind: KindMessage, Name: "nope"})   // wrong name
		tr.Add(Event{At: at(0), Realm: worker, Port: 4, Kind: KindMessage, Name: "target"}) // the one, placed first
	}()
	res := <-done
	if res.err != nil {
		t.Fatalf("Wait: %v", res.err)
	}
	if res.e.Port != 4 || res.e.Name != "target" || res.e.Kind != KindMessage {
		t.Errorf("Wait returned %+v, want the message of port 4", res.e)
	}
}

func TestTraceWaitPresentEvent(t *testing.T) {
	tr, worker := New(), newPlace(WorkerRealm, testExtID)
	tr.Add(Event{At: at(1), Realm: worker, Port: 1, Kind: KindMessage, Name: "a"})
	tr.Add(Event{At: at(2), Realm: worker, Port: 2, Kind: KindMessage, Name: "b"})
	tr.Add(Event{At: at(3), Realm: worker, Port: 3, Kind: KindMessage, Name: "b"})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := tr.Wait(ctx, Message().Named("b"))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if e.Port != 2 || e.Seq != 2 {
		t.Errorf("Wait returned %+v, want the first match, port 2 with Seq 2", e)
	}
}

func TestWaitErrorWhenContextEnds(t *testing.T) {
	errStop := errors.New("the spec gave up")
	tests := []struct {
		name      string
		ctx       func() (context.Context, context.CancelFunc)
		events    bool
		wantCause error
	}{
		{
			name: "deadline, empty trace",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			},
			wantCause: context.DeadlineExceeded,
		},
		{
			name: "deadline, some events",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			},
			events:    true,
			wantCause: context.DeadlineExceeded,
		},
		{
			name: "canceled",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			events:    true,
			wantCause: context.Canceled,
		},
		{
			name: "canceled with a cause",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancelCause(context.Background())
				cancel(errStop)
				return ctx, func() {}
			},
			events:    true,
			wantCause: errStop,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, worker := New(), newPlace(WorkerRealm, testExtID)
			if tt.events {
				tr.Add(Event{At: at(1), Realm: worker, Port: 1, Kind: KindConnect, Name: "port-from-cs"})
				tr.Add(Event{At: at(2), Realm: worker, Port: 1, Kind: KindPost, Message: json.RawMessage(`{"greeting":"hi"}`)})
			}
			q := OnConnect().In(worker).Named("port-from-cs")
			ctx, cancel := tt.ctx()
			defer cancel()

			e, err := tr.Wait(ctx, q)
			if err == nil {
				t.Fatalf("Wait = %+v, nil; want an error", e)
			}
			if !reflect.DeepEqual(e, Event{}) {
				t.Errorf("Wait returned the event %+v with its error", e)
			}
			var we *WaitError
			if !errors.As(err, &we) {
				t.Fatalf("Wait error is %T, want *WaitError: %v", err, err)
			}
			if !errors.Is(err, tt.wantCause) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantCause)
			}
			if we.What != "event "+q.String() {
				t.Errorf("What = %q, want %q", we.What, "event "+q.String())
			}
			if we.Trace != tr.String() {
				t.Errorf("Trace = %q, want %q", we.Trace, tr.String())
			}
			msg := err.Error()
			for _, want := range []string{
				"waiting for event " + q.String() + ": " + tt.wantCause.Error(),
				`onConnect in worker(` + testExtID + `) named "port-from-cs"`,
				"\ntrace so far:\n" + tr.String(),
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("error =\n%s\nwant it to contain %q", msg, want)
				}
			}
			if !tt.events && !strings.Contains(msg, "(no events)") {
				t.Errorf("error for an empty trace = %q, want it to say (no events)", msg)
			}
		})
	}
}

func TestWaitErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *WaitError
		want string
	}{
		{
			"no detail",
			&WaitError{What: "event post", Cause: context.DeadlineExceeded, Trace: "  (no events)"},
			"waiting for event post: context deadline exceeded\ntrace so far:\n  (no events)",
		},
		{
			"detail",
			&WaitError{What: "a worker", Cause: context.Canceled, Detail: "realms seen: none", Trace: "  (no events)"},
			"waiting for a worker: context canceled\nrealms seen: none\ntrace so far:\n  (no events)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, tt.err.Cause) {
				t.Errorf("errors.Is(err, %v) = false", tt.err.Cause)
			}
		})
	}
}

// TestTraceAddAllMatchesAdd checks that a batch lands where adding its events
// one by one would put them: batches of two realms that overlap in time,
// events out of order within a batch, and equal times.
func TestTraceAddAllMatchesAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		worker := newPlace(WorkerRealm, testExtID)
		one, batched := New(), New()
		var seen []int
		stop := batched.Watch(func(e Event) { seen = append(seen, e.Port) })
		port := 0
		for range 1 + rng.IntN(6) {
			var batch []Event
			base := rng.IntN(40)
			for range 1 + rng.IntN(8) {
				port++
				batch = append(batch, Event{At: at(base + rng.IntN(10)), Realm: worker, Port: port, Kind: KindMessage})
			}
			for _, e := range batch {
				one.Add(e)
			}
			batched.AddBatch(slices.Clone(batch))
		}
		stop()
		if got, want := ports(batched.Events()), ports(one.Events()); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: batched trace order = %v, one by one = %v", round, got, want)
		}
		checkTraceOrder(t, batched.Events())
		slices.Sort(seen)
		want := make([]int, port)
		for i := range want {
			want[i] = i + 1
		}
		if !slices.Equal(seen, want) {
			t.Fatalf("round %d: the watcher saw ports %v, want each of 1..%d once", round, seen, port)
		}
	}
}

func ports(events []Event) []int {
	out := make([]int, len(events))
	for i, e := range events {
		out[i] = e.Port
	}
	return out
}

// checkTraceOrder fails unless events are sorted by At and numbered 1..n.
func checkTraceOrder(t *testing.T, events []Event) {
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
