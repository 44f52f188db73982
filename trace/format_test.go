package trace

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/onsi/gomega/format"
)

// TestFormatIsOneLine checks that Gomega prints each public type of the
// package as one short line of its own words, not as its fields (a trace's
// mutex and events, an event's raw JSON bytes).
func TestFormatIsOneLine(t *testing.T) {
	worker := newPlace(WorkerRealm, testExtID)
	tr := New()
	ev := tr.Add(Event{At: at(1), Realm: worker, Port: 1, Kind: KindMessage, Name: "p", Message: json.RawMessage(`{"greeting":"hi"}`)})
	tr.Add(Event{At: at(2), Realm: worker, Port: 1, Kind: KindDisconnect})
	one := New()
	one.Add(ev)

	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"Trace", tr, "trace of 2 events"},
		{"Trace of one event", one, "trace of 1 event"},
		{"Query", OnConnect().In(worker).Named("x"), `onConnect in worker(` + testExtID + `) named "x"`},
		{"Event", ev, `message           worker(` + testExtID + `)#1 name="p" message={"greeting":"hi"}`},
		{"ConsoleEntry", ConsoleEntry{At: at(3), Realm: worker, Level: "log", Text: "hello"}, "log       worker(" + testExtID + "): hello"},
		{"Place", worker, "worker(" + testExtID + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := format.Object(tt.value, 0)
			if strings.Contains(got, "\n") || len(got) > 200 || strings.Contains(got, "Mutex") || strings.Contains(got, "mu:") {
				t.Errorf("format.Object(%s) =\n%s\nwant one short line", tt.name, got)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("format.Object(%s) = %q, want it to contain %q", tt.name, got, tt.want)
			}
		})
	}

	// An error's message comes first, whole; what follows is one line.
	we := &WaitError{What: "event post", Cause: context.DeadlineExceeded, Trace: tr.String()}
	got := format.Object(we, 0)
	last := got[strings.LastIndex(got, "\n")+1:]
	if want := "waiting for event post: context deadline exceeded"; !strings.Contains(last, want) || strings.Contains(last, "trace so far") {
		t.Errorf("format.Object(WaitError) ends with %q, want one line with %q", last, want)
	}
}
