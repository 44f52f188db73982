package matchers

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/onsi/gomega/types"
	"github.com/portprobe/portprobe/trace"
)

// HaveEvent succeeds when the trace (a *Trace or a []Event) has an event that
// matches q. Use it with Eventually, as the events arrive by push:
//
//	Eventually(b.Trace()).Should(HaveEvent(OnConnect().In(worker).Named("port-from-cs")))
//
// Its failure message shows the closest events and the whole trace.
//
// Polled again and again on one trace (or browser), it looks only at the
// events that came since it last looked (see trace.Finder), so a poll costs
// what is new however long the trace is; its answer is what a scan of the
// whole trace would give. On a trace that drops events (trace.Limits) it
// sees only those kept when it looks: wait with Trace.Wait there.
func HaveEvent(q *trace.Query) types.GomegaMatcher {
	return newEventsMatcher([]*trace.Query{q}, false)
}

// HaveEventsInOrder succeeds when the trace has, for each query in turn, a
// matching event after the event that matched the query before it. Other
// events may come between them.
//
// Order steps of different realms only where one causes the other (connect
// before onConnect, post before its message, disconnect before onDisconnect,
// a message before the reply it triggers). Events of two realms that merely
// happen near each other race in Chrome: a content script's post right after
// connect can come before or after the worker's onConnect.
func HaveEventsInOrder(queries ...*trace.Query) types.GomegaMatcher {
	if len(queries) == 0 {
		panic("harness: HaveEventsInOrder needs at least one query")
	}
	return newEventsMatcher(queries, true)
}

type eventsMatcher struct {
	queries []*trace.Query
	ordered bool
	// finder goes on from where the last Match on the same trace stopped.
	finder *trace.Finder

	// Set by Match, for the messages.
	tr      *trace.Trace  // the trace matched, or nil for a []Event
	events  []trace.Event // the events matched, for a []Event
	matched []trace.Event // the events matched so far, in order of the queries
}

func newEventsMatcher(queries []*trace.Query, ordered bool) *eventsMatcher {
	return &eventsMatcher{queries: queries, ordered: ordered, finder: trace.NewFinder(queries...)}
}

// traceOf returns the trace of actual, or its events.
func traceOf(actual any) (*trace.Trace, []trace.Event, error) {
	switch a := actual.(type) {
	case *trace.Trace:
		if a == nil {
			return nil, nil, fmt.Errorf("expected a *trace.Trace, got nil")
		}
		return a, nil, nil
	case []trace.Event:
		return nil, a, nil
	case interface{ Trace() *trace.Trace }: // a *harness.Browser
		if reflect.ValueOf(a).IsNil() {
			return nil, nil, fmt.Errorf("expected a %T, got nil", a)
		}
		return a.Trace(), nil, nil
	}
	return nil, nil, fmt.Errorf("event matchers need a *trace.Trace, a *harness.Browser or a []trace.Event, got %T", actual)
}

func (m *eventsMatcher) Match(actual any) (bool, error) {
	t, events, err := traceOf(actual)
	if err != nil {
		return false, err
	}
	m.tr, m.events = t, nil
	if t != nil {
		var ok bool
		m.matched, ok = m.finder.Find(t)
		return ok, nil
	}
	return m.scan(events), nil
}

// forMessage returns the events a failure message shows: those of a trace
// as it is now, matched again when rescan is set so that the message agrees
// with itself.
func (m *eventsMatcher) forMessage(rescan bool) []trace.Event {
	switch {
	case m.tr == nil:
	case rescan:
		m.scan(m.tr.Events())
	default:
		return m.tr.Events()
	}
	return m.events
}

// scan matches events, all of them.
func (m *eventsMatcher) scan(events []trace.Event) bool {
	m.events, m.matched = events, nil
	from := 0
	for _, q := range m.queries {
		found := -1
		for i := from; i < len(events); i++ {
			if q.Match(events[i]) {
				found = i
				break
			}
		}
		if found < 0 {
			return false
		}
		m.matched = append(m.matched, events[found])
		if m.ordered {
			from = found + 1
		}
	}
	return true
}

func (m *eventsMatcher) FailureMessage(any) string {
	events := m.forMessage(true)
	var b strings.Builder
	if len(m.matched) == len(m.queries) {
		// The last event came after the last Match.
		b.WriteString("The trace has the events now, but did not when last matched:\n")
		b.WriteString(trace.FormatEvents(m.matched))
		b.WriteString("\nWhole trace:\n")
		b.WriteString(trace.FormatEvents(events))
		return b.String()
	}
	missing := m.queries[len(m.matched)]
	if m.ordered && len(m.queries) > 1 {
		b.WriteString("Expected the trace to have these events in order:\n")
		for i, q := range m.queries {
			mark := "   "
			switch {
			case i < len(m.matched):
				mark = fmt.Sprintf("ok #%d", m.matched[i].Seq)
			case i == len(m.matched):
				mark = "MISSING"
			default:
				mark = "not checked"
			}
			fmt.Fprintf(&b, "  %d. %s  [%s]\n", i+1, q, mark)
		}
		if len(m.matched) > 0 {
			fmt.Fprintf(&b, "Step %d found no match after event #%d.\n", len(m.matched)+1, m.matched[len(m.matched)-1].Seq)
		}
	} else {
		fmt.Fprintf(&b, "Expected the trace to have an event %s\n", missing)
	}
	if closest := missing.Closest(events, 3); len(closest) > 0 {
		b.WriteString("Closest events:\n")
		b.WriteString(trace.FormatEvents(closest))
		b.WriteString("\n")
	}
	b.WriteString("Whole trace:\n")
	b.WriteString(trace.FormatEvents(events))
	return b.String()
}

func (m *eventsMatcher) NegatedFailureMessage(any) string {
	events := m.forMessage(false)
	var b strings.Builder
	if m.ordered && len(m.queries) > 1 {
		b.WriteString("Expected the trace not to have these events in order, but it does:\n")
	} else {
		b.WriteString("Expected the trace to have no event " + m.queries[0].String() + ", but it has:\n")
	}
	b.WriteString(trace.FormatEvents(m.matched))
	b.WriteString("\nWhole trace:\n")
	b.WriteString(trace.FormatEvents(events))
	return b.String()
}
