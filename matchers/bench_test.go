package matchers

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/portprobe/portprobe/trace"
)

// filledTrace returns a trace of n events, posts in a page and their
// messages in the worker, added in batches of 64 as a flood brings them.
func filledTrace(n int) (*trace.Trace, trace.Source) {
	page := &trace.Place{Name: "page(bench)", Info: trace.SourceInfo{Kind: trace.PageRealm}}
	worker := &trace.Place{Name: "worker(bench)", Info: trace.SourceInfo{Kind: trace.WorkerRealm}}
	tr := trace.New()
	for i := 0; i < n; i += 64 {
		batch := make([]trace.Event, min(64, n-i))
		for j := range batch {
			k := i + j
			e := &batch[j]
			e.At, e.Port, e.Name = time.UnixMicro(1_700_000_000_000_000+int64(k)*10), 1, "bench"
			e.Message = []byte(`{"i":` + strconv.Itoa(k/2) + `}`)
			e.Realm, e.Kind = page, trace.KindPost
			if k%2 == 1 {
				e.Realm, e.Kind = worker, trace.KindMessage
			}
		}
		tr.AddBatch(batch)
	}
	return tr, worker
}

// BenchmarkHaveEvent polls HaveEvent, as Eventually does, on traces of
// 10k, 100k and 1M events, for an event that is not there (the worker's
// disconnect), in three ways:
//
//   - first: a new matcher's first Match, which looks at the whole trace;
//   - next: a Match of the same matcher after one more batch of 64 events,
//     which looks at those alone (what each poll of Eventually costs);
//   - slice: a Match of the trace's Events, the scan of a copy of the whole
//     trace that every poll cost before the matchers kept their place.
func BenchmarkHaveEvent(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		tr, worker := filledTrace(n)
		q := trace.Disconnect().In(worker)
		b.Run(fmt.Sprintf("first/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := HaveEvent(q).Match(tr); ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(fmt.Sprintf("next/%d", n), func(b *testing.B) {
			m := HaveEvent(q)
			if ok, err := m.Match(tr); ok || err != nil {
				b.Fatal(ok, err)
			}
			more, _ := filledTrace(64)
			batch := more.Events()
			last := tr.Events()[tr.Len()-1].At
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				next := append([]trace.Event(nil), batch...)
				for i := range next {
					last = last.Add(time.Microsecond)
					next[i].At = last
				}
				tr.AddBatch(next)
				b.StartTimer()
				if ok, err := m.Match(tr); ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(fmt.Sprintf("slice/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := HaveEvent(q).Match(tr.Events()); ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
