package trace

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portprobe/portprobe/internal/jsonx"
	"github.com/portprobe/portprobe/internal/wake"
)

// Kind names what happened to a port.
type Kind string

// The kinds of port events that the probe reports.
const (
	// KindConnect: runtime.connect or tabs.connect returned a port in the realm.
	KindConnect Kind = "connect"
	// KindOnConnect: runtime.onConnect fired in the realm with a new port.
	KindOnConnect Kind = "onConnect"
	// KindOnConnectExternal: runtime.onConnectExternal fired in the realm.
	KindOnConnectExternal Kind = "onConnectExternal"
	// KindOnUserScriptConnect: runtime.onUserScriptConnect fired in the
	// realm (a port from the extension's user script).
	KindOnUserScriptConnect Kind = "onUserScriptConnect"
	// KindPost: the realm called port.postMessage, and the call returned.
	KindPost Kind = "post"
	// KindMessage: port.onMessage fired in the realm.
	KindMessage Kind = "message"
	// KindDisconnect: the realm called port.disconnect, and the call returned.
	KindDisconnect Kind = "disconnect"
	// KindOnDisconnect: port.onDisconnect fired in the realm.
	KindOnDisconnect Kind = "onDisconnect"
	// KindException: a call (connect, postMessage, disconnect, sendMessage)
	// or a message listener threw.
	KindException Kind = "exception"
)

// The kinds of one-time message events. The sender's sendMessage and its
// response share a handle (Event.Port), and so do a receiver's onMessage,
// its replies and keepOpen: a message is realm#handle, as a port is.
const (
	// KindSendMessage: the realm called runtime.sendMessage or
	// tabs.sendMessage (Call), and the call returned; To says where to.
	KindSendMessage Kind = "sendMessage"
	// KindResponse: the sender got its response (Message) or its error
	// (Error), by callback or promise (Call).
	KindResponse Kind = "response"
	// KindOnMessage: runtime.onMessage fired in the realm (once for all of
	// its listeners).
	KindOnMessage Kind = "onMessage"
	// KindOnMessageExternal: runtime.onMessageExternal fired in the realm.
	KindOnMessageExternal Kind = "onMessageExternal"
	// KindOnUserScriptMessage: runtime.onUserScriptMessage fired in the
	// realm (a message from the extension's user script).
	KindOnUserScriptMessage Kind = "onUserScriptMessage"
	// KindReply: listener number Listener answered, by calling sendResponse
	// or by settling the promise it returned (Call); a rejected promise
	// sets Error. Only the first answer to a message reaches its sender.
	KindReply Kind = "reply"
	// KindKeepOpen: listener number Listener returned true or a promise
	// (Call "true" or "promise"), which keeps the message's channel open
	// for a later answer.
	KindKeepOpen Kind = "keepOpen"
)

// Event is one port event seen in one realm.
type Event struct {
	// Seq is the position of the event in its trace, from 1.
	Seq int
	// At is the time of the event on the realm's clock.
	At time.Time
	// Realm is where the event happened: a *harness.Realm, or a Place.
	Realm Source
	// Port is the realm's handle of the port, from 1; 0 when no port was made
	// (a connect call that threw).
	Port int
	// Kind is what happened.
	Kind Kind
	// Name is the port's name (port.name when the probe first saw the port).
	Name string
	// Message is the JSON of the message, for post and message events.
	Message json.RawMessage
	// Sender is the JSON of port.sender, for onConnect events.
	Sender json.RawMessage
	// LastError is runtime.lastError.message in onDisconnect, "" when unset.
	LastError string
	// Call is the port call that threw, for exception events: "connect",
	// "tabs.connect", "postMessage" or "disconnect".
	Call string
	// Error is the text of the exception, as "TypeError: ...", or, for a
	// response or reply, the error's message as Chrome words it.
	Error string
	// To is the JSON of where a sendMessage went: {"extensionId": ...},
	// {"tabId": ..., "options": {"frameId": ...}}; absent for the own
	// extension.
	To json.RawMessage
	// Listener is the message listener that the event is about, numbered
	// from 1 in the order the realm added its onMessage and
	// onMessageExternal listeners.
	Listener int
	// Truncated is set when the trace left the message out (its JSON was
	// longer than Limits.MaxMessage): its size and hash.
	Truncated *Truncation
}

// IsPort reports whether events of kind k are about a port (which has a
// name), not a one-time message.
func (k Kind) IsPort() bool {
	switch k {
	case KindSendMessage, KindResponse, KindOnMessage, KindOnMessageExternal, KindOnUserScriptMessage, KindReply, KindKeepOpen:
		return false
	}
	return true
}

// PortRef returns a label for the event's port, such as
// "worker(mdn-example)#1"; an event with no Realm is "(no realm)#1".
func (e Event) PortRef() string {
	if e.Port == 0 {
		return nameOf(e.Realm) + "#-"
	}
	return fmt.Sprintf("%s#%d", nameOf(e.Realm), e.Port)
}

// nameOf names a source, or says there is none (an event made by hand).
func nameOf(s Source) string {
	if s == nil {
		return "(no realm)"
	}
	return s.String()
}

// Endpoint returns the event's realm and handle, so that a query can ask
// for the other events of its port or message: OnPort(connectEvent).
func (e Event) Endpoint() (Source, int) { return e.Realm, e.Port }

// SenderField returns the JSON at a dotted path of the event's port.sender,
// such as "tab.id" or "frameId", and whether it is there.
func (e Event) SenderField(path string) (json.RawMessage, bool) {
	return jsonx.At(e.Sender, path)
}

// String formats the event on one line, as the trace prints it.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%3d %s %-17s %s", e.Seq, e.At.Format("15:04:05.000000"), e.Kind, e.PortRef())
	if e.Port != 0 && e.Kind.IsPort() {
		fmt.Fprintf(&b, " name=%q", e.Name)
	}
	if !e.Kind.IsPort() && e.Call != "" {
		fmt.Fprintf(&b, " via=%s", e.Call)
	}
	if e.Listener != 0 {
		fmt.Fprintf(&b, " listener=%d", e.Listener)
	}
	if len(e.To) > 0 {
		fmt.Fprintf(&b, " to=%s", abbreviate(string(e.To), 200))
	}
	if len(e.Message) > 0 {
		fmt.Fprintf(&b, " message=%s", abbreviate(string(e.Message), 200))
	} else if e.Truncated != nil {
		fmt.Fprintf(&b, " message=(left out: %s)", e.Truncated)
	} else if (e.Kind == KindResponse || e.Kind == KindReply) && e.Error == "" {
		b.WriteString(" message=undefined")
	}
	if len(e.Sender) > 0 {
		fmt.Fprintf(&b, " sender=%s", abbreviate(string(e.Sender), 300))
	}
	if e.Kind == KindOnDisconnect {
		if e.LastError == "" {
			b.WriteString(" lastError=none")
		} else {
			fmt.Fprintf(&b, " lastError=%q", e.LastError)
		}
	}
	switch {
	case e.Error != "" && e.Kind.IsPort():
		fmt.Fprintf(&b, " call=%s error=%q", e.Call, e.Error)
	case e.Error != "":
		fmt.Fprintf(&b, " error=%q", e.Error)
	}
	return b.String()
}

// GomegaString keeps Gomega's failure messages short: String, not the
// event's fields and raw JSON bytes.
func (e Event) GomegaString() string { return e.String() }

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
}

// Trace is the ordered log of every port event of every realm of a browser.
// It is safe for concurrent use. Events are in the order in which they reached
// the harness: the events of one realm are in that realm's order, and an event
// caused by another (a message and its post) comes after its cause.
type Trace struct {
	mu sync.Mutex
	// events are pointers so that growing and merging move 8 bytes an
	// event, not the whole event: a flood traces hundreds of thousands.
	events  []*Event
	changed wake.Signal // notified at each Add and AddBatch

	limits  Limits
	dropped int // events dropped from the front (Limits.MaxEvents)
	// An event's absolute place is its index plus dropped: dropping
	// events moves no other event's absolute place, inserting one moves
	// those after it.
	//
	// inserts counts the adds that put an event before the end (a late
	// event, see Add), and insertAt has the absolute place of the last
	// ones, at inserts % len: a Finder asks for the lowest since its last
	// look, to look again from there.
	inserts  uint64
	insertAt [insertLog]int
	// waits are the Finders of the pending Waits, brought up to date with
	// the events about to be dropped before they are.
	waits map[*Finder]struct{}
	share sharing

	console        []ConsoleEntry
	consoleDropped int

	watchers  map[int]func(Event) // see Watch
	nextWatch int

	owner Owner // set by NewFor
}

// Owner ties a trace to what fills it (a browser): its waits' default
// deadline, and their end when it ends.
type Owner struct {
	// Timeout is the deadline of a Wait whose context has none; zero means
	// none.
	Timeout time.Duration
	// Done is closed when the owner ends; a Wait then fails with Cause().
	Done <-chan struct{}
	// Cause says why the owner ended.
	Cause func() error
}

// insertLog is how many late inserts a trace remembers for its Finders. A
// Finder that looked last before as many inserts looks at the whole trace
// again; one that Eventually polls every few milliseconds never does.
const insertLog = 256

// New returns an empty trace, filled by Add and read by anyone.
func New() *Trace {
	return &Trace{}
}

// NewFor returns an empty trace whose waits follow owner.
func NewFor(owner Owner) *Trace {
	t := New()
	t.owner = owner
	return t
}

// NewLimited returns an empty trace whose waits follow owner and which keeps
// what limits allow. It panics on limits that Validate rejects: check them
// where they are given.
func NewLimited(owner Owner, limits Limits) *Trace {
	if err := limits.Validate(); err != nil {
		panic(err)
	}
	t := NewFor(owner)
	t.limits = limits
	return t
}

// Limits returns the limits the trace was made with.
func (t *Trace) Limits() Limits { return t.limits }

// Dropped returns how many events the trace dropped to stay within
// Limits.MaxEvents: the oldest ones.
func (t *Trace) Dropped() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}

// Add puts e in the trace at the place its time At gives it (after the events
// of the same time), and returns it.
//
// Events reach the harness on one session per target, and a worker's session
// can deliver later than a tab's, so arrival order is not the order of the
// events. Every realm stamps its events with performance.timeOrigin +
// performance.now(), the machine's wall clock in every process of the
// browser, and the trace is kept in that order. The realms' clocks agree to
// about 0.2 ms; events of two realms closer than that can be in either order
// (README, "Known limits").
func (t *Trace) Add(e Event) Event {
	t.limits.truncate(&e)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.share.share(&e)
	i := t.insertLocked(e)
	added := *t.events[i]
	for _, fn := range t.watchers {
		fn(added)
	}
	t.boundLocked()
	t.changed.Notify()
	return added
}

// AddBatch adds events as Add does, with one wake-up of the waiters: a probe
// sends its events in batches. It keeps the slice's storage.
func (t *Trace) AddBatch(events []Event) {
	if len(events) == 0 {
		return
	}
	// A batch comes in the order its realm made the events, which is close
	// to their time order, while another realm's events of the same moments
	// may be in already. Sorting the batch and merging it with the events
	// after its first one moves each event once, where inserting one by one
	// moved that tail once per event (it dominated the probes' cost under a
	// flood).
	slices.SortStableFunc(events, func(a, b Event) int { return a.At.Compare(b.At) })
	for i := range events {
		t.limits.truncate(&events[i])
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range events {
		t.share.share(&events[i])
	}
	start := len(t.events)
	for start > 0 && t.events[start-1].At.After(events[0].At) {
		start--
	}
	if start < len(t.events) {
		t.noteInsertLocked(start)
	}
	tail := slices.Clone(t.events[start:])
	t.events = t.events[:start]
	added := make([]int, 0, len(events))
	for i, j := 0, 0; i < len(tail) || j < len(events); {
		// At equal times the event already in the trace stays first, as
		// in Add.
		if j == len(events) || (i < len(tail) && !tail[i].At.After(events[j].At)) {
			t.events = append(t.events, tail[i])
			i++
			continue
		}
		added = append(added, len(t.events))
		t.events = append(t.events, &events[j])
		j++
	}
	for k := start; k < len(t.events); k++ {
		t.events[k].Seq = t.dropped + k + 1
	}
	for _, fn := range t.watchers {
		for _, k := range added {
			fn(*t.events[k])
		}
	}
	t.boundLocked()
	t.changed.Notify()
}

// insertLocked puts e at its place and returns its index.
func (t *Trace) insertLocked(e Event) int {
	i := len(t.events)
	for i > 0 && t.events[i-1].At.After(e.At) {
		i--
	}
	if i == len(t.events) {
		e.Seq = t.dropped + i + 1
		t.events = append(t.events, &e)
		return i
	}
	t.noteInsertLocked(i)
	t.events = slices.Insert(t.events, i, &e)
	for j := i; j < len(t.events); j++ {
		t.events[j].Seq = t.dropped + j + 1
	}
	return i
}

// noteInsertLocked records that events are going in at index i, before
// the end.
func (t *Trace) noteInsertLocked(i int) {
	t.insertAt[t.inserts%insertLog] = t.dropped + i
	t.inserts++
}

// lowestChangeLocked returns the lowest absolute place at which an event
// went in since inserts was gen, or abs if lower: a Finder that had looked
// at the events before abs looks again from there.
func (t *Trace) lowestChangeLocked(gen uint64, abs int) int {
	if t.inserts-gen > insertLog {
		return min(abs, t.dropped)
	}
	for g := gen; g < t.inserts; g++ {
		abs = min(abs, t.insertAt[g%insertLog])
	}
	return abs
}

// boundLocked drops the oldest events past Limits.MaxEvents, once the
// pending Waits have looked at them.
func (t *Trace) boundLocked() {
	n := len(t.events) - t.limits.MaxEvents
	if t.limits.MaxEvents <= 0 || n <= 0 {
		return
	}
	for f := range t.waits {
		f.advanceLocked(t, n)
	}
	clear(t.events[:n]) // the backing array outlives the slice's start
	t.events = t.events[n:]
	t.dropped += n
}

// Watch calls fn with each event added from now on, as it arrives, until
// the returned stop is called. Arrival order can differ from the trace's
// order by a few events (see Add); Seq is the event's place when it arrived.
// fn runs while the trace is locked: it must be quick and must not call the
// trace.
func (t *Trace) Watch(fn func(Event)) (stop func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.watchers == nil {
		t.watchers = map[int]func(Event){}
	}
	id := t.nextWatch
	t.nextWatch++
	t.watchers[id] = fn
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.watchers, id)
	}
}

// Events returns a copy of the events so far, in order; Seq is each event's
// position in that copy, plus Dropped.
func (t *Trace) Events() []Event {
	events, _ := t.snapshot()
	return events
}

// snapshot returns a copy of the events and how many were dropped before
// them.
func (t *Trace) snapshot() ([]Event, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	events := make([]Event, len(t.events))
	for i, e := range t.events {
		events[i] = *e
	}
	return events, t.dropped
}

// Len returns the number of events so far.
func (t *Trace) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.events)
}

// Find returns the first event that q matches, and whether there is one.
func (t *Trace) Find(q *Query) (Event, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.events {
		if q.matchPtr(e) {
			return *e, true
		}
	}
	return Event{}, false
}

// Count returns how many events q matches.
func (t *Trace) Count(q *Query) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.events {
		if q.matchPtr(e) {
			n++
		}
	}
	return n
}

// String prints the whole trace, one event per line, after a line that
// says how many events it dropped, if any (Limits.MaxEvents).
func (t *Trace) String() string {
	events, dropped := t.snapshot()
	text := FormatEvents(events)
	if dropped == 0 {
		return text
	}
	return fmt.Sprintf("  (%s dropped before these, to keep the last %d)\n%s", plural(dropped, "event"), t.limits.MaxEvents, text)
}

func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// GomegaString describes the trace on one line, such as "trace of 12
// events", so that a failure message about the trace itself (BeIdenticalTo,
// BeNil) does not print every event and the trace's lock. The event
// matchers print the events they looked at in their own messages.
func (t *Trace) GomegaString() string {
	if n := t.Len(); n != 1 {
		return fmt.Sprintf("trace of %d events", n)
	}
	return "trace of 1 event"
}

// FormatEvents prints events one per line, or "(no events)".
func FormatEvents(events []Event) string {
	if len(events) == 0 {
		return "  (no events)"
	}
	var b strings.Builder
	for i, e := range events {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("  ")
		b.WriteString(e.String())
	}
	return b.String()
}

// Wait blocks until an event of the trace matches q, and returns it. It fails
// when ctx ends, with an error that says what was awaited and prints the trace
// so far. A trace with an Owner applies its Timeout to a ctx with no deadline,
// and fails at once when the owner ends.
func (t *Trace) Wait(ctx context.Context, q *Query) (Event, error) {
	if _, ok := ctx.Deadline(); !ok && t.owner.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.owner.Timeout)
		defer cancel()
	}
	// The finder looks at each event once, however many batches wake
	// the wait; a trace that drops events shows them to it first.
	f := NewFinder(q)
	t.mu.Lock()
	if t.waits == nil {
		t.waits = map[*Finder]struct{}{}
	}
	t.waits[f] = struct{}{}
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.waits, f)
		t.mu.Unlock()
	}()
	found, err := wake.Until(ctx, &t.changed, t.owner.Done, func() (Event, bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if f.advanceLocked(t, len(t.events)) {
			return f.matched[0], true, nil
		}
		return Event{}, false, nil
	})
	if err == nil {
		return found, nil
	}
	if err == wake.ErrDone {
		err = t.owner.Cause()
	}
	return Event{}, &WaitError{What: "event " + q.String(), Cause: err, Trace: t.WaitText()}
}

// WaitError is the error of a wait that ran out of time. It names what was
// awaited, and carries the trace so far.
type WaitError struct {
	// What describes what was awaited, naming the realm.
	What string
	// Cause is why the wait ended, such as context.DeadlineExceeded.
	Cause error
	// Detail is more context, such as the realms seen.
	Detail string
	// Trace is the trace at the time the wait ended.
	Trace string
}

func (e *WaitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "waiting for %s: %v", e.What, e.Cause)
	if e.Detail != "" {
		b.WriteString("\n")
		b.WriteString(e.Detail)
	}
	b.WriteString("\ntrace so far:\n")
	b.WriteString(e.Trace)
	return b.String()
}

func (e *WaitError) Unwrap() error { return e.Cause }

// GomegaString is the first line of the error, as Gomega prints the whole
// error (and the trace in it) already.
func (e *WaitError) GomegaString() string {
	return fmt.Sprintf("waiting for %s: %v", e.What, e.Cause)
}
