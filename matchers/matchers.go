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
func HaveEvent(q *trace.Query) types.GomegaMatcher {
	return &eventsMatcher{queries: []*trace.Query{q}}
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
	return &eventsMatcher{queries: queries, ordered: true}
}

type eventsMatcher struct {
	queries []*trace.Query
	ordered bool

	// Set by Match, for the messages.
	events  []trace.Event
	matched []trace.Event // the events matched so far, in order of the queries
}

func eventsOf(actual any) ([]trace.Event, error) {
	switch a := actual.(type) {
	case *trace.Trace:
		if a == nil {
			return nil, fmt.Errorf("expected a *trace.Trace, got nil")
		}
		return a.Events(), nil
	case []trace.Event:
		return a, nil
	case interface{ Trace() *trace.Trace }: // a *harness.Browser
		if reflect.ValueOf(a).IsNil() {
			return nil, fmt.Errorf("expected a %T, got nil", a)
		}
		return a.Trace().Events(), nil
	}
	return nil, fmt.Errorf("event matchers need a *trace.Trace, a *harness.Browser or a []trace.Event, got %T", actual)
}

func (m *eventsMatcher) Match(actual any) (bool, error) {
	events, err := eventsOf(actual)
	if err != nil {
		return false, err
	}
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
			return false, nil
		}
		m.matched = append(m.matched, events[found])
		if m.ordered {
			from = found + 1
		}
	}
	return true, nil
}

func (m *eventsMatcher) FailureMessage(any) string {
	var b strings.Builder
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
	if closest := missing.Closest(m.events, 3); len(closest) > 0 {
		b.WriteString("Closest events:\n")
		b.WriteString(trace.FormatEvents(closest))
		b.WriteString("\n")
	}
	b.WriteString("Whole trace:\n")
	b.WriteString(trace.FormatEvents(m.events))
	return b.String()
}

func (m *eventsMatcher) NegatedFailureMessage(any) string {
	var b strings.Builder
	if m.ordered && len(m.queries) > 1 {
		b.WriteString("Expected the trace not to have these events in order, but it does:\n")
	} else {
		b.WriteString("Expected the trace to have no event " + m.queries[0].String() + ", but it has:\n")
	}
	b.WriteString(trace.FormatEvents(m.matched))
	b.WriteString("\nWhole trace:\n")
	b.WriteString(trace.FormatEvents(m.events))
	return b.String()
}
