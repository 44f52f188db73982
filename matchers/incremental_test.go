package matchers

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/portprobe/portprobe/trace"
)

// TestMatchPolledEqualsFullScan polls the same matchers, as Eventually does,
// on traces that grow with events arriving out of order, and switches to a
// new trace halfway (as ResetTrace does): each Match must say what the
// matcher says of the trace's events as a slice, which it scans whole.
func TestMatchPolledEqualsFullScan(t *testing.T) {
	fb := newFakeBrowser(t)
	kinds := []trace.Kind{trace.KindPost, trace.KindMessage, trace.KindConnect, trace.KindDisconnect}
	newMatchers := func() []*eventsMatcher {
		return []*eventsMatcher{
			HaveEvent(trace.Message().WithMessage(2)).(*eventsMatcher),
			HaveEvent(trace.Disconnect().Where("port 3", func(e trace.Event) bool { return e.Port == 3 })).(*eventsMatcher),
			HaveEventsInOrder(trace.Connect(), trace.Post().WithMessage(1), trace.Message().WithMessage(1)).(*eventsMatcher),
			HaveEventsInOrder(trace.Post(), trace.Post(), trace.Post(), trace.Post()).(*eventsMatcher),
		}
	}
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		polled, scanned := newMatchers(), newMatchers()
		fb.Browser.t = trace.New()
		ms := 100
		for step := range 60 {
			if step == 30 {
				fb.Browser.t = trace.New()
			}
			batch := make([]trace.Event, 1+r.IntN(4))
			for i := range batch {
				batch[i] = trace.Event{At: at(ms - r.IntN(10)), Realm: fb.worker, Port: 1 + r.IntN(4),
					Kind: kinds[r.IntN(len(kinds))], Message: json.RawMessage(fmt.Sprint(r.IntN(4)))}
			}
			fb.Browser.t.AddBatch(batch)
			ms += r.IntN(5)
			events := fb.Browser.t.Events()
			for i := range polled {
				got, err := polled[i].Match(fb.Browser)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := scanned[i].Match(events)
				if got != want || seqsOf(polled[i].matched) != seqsOf(scanned[i].matched) {
					t.Fatalf("seed %d step %d, matcher %d: polled %v %s, full scan %v %s\ntrace:\n%s", seed, step, i,
						got, seqsOf(polled[i].matched), want, seqsOf(scanned[i].matched), trace.FormatEvents(events))
				}
			}
		}
	}
}

func seqsOf(events []trace.Event) string {
	s := ""
	for _, e := range events {
		s += fmt.Sprintf(" #%d", e.Seq)
	}
	return s
}
