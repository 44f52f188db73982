package trace

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// The trace's benchmarks need no browser: go test -bench . -run '^$' ./trace.
// Their events are shaped as the harness makes them from a probe's batch:
// each with its own copies of the port's name, its kind and its message, as
// decoding JSON gives them.

var benchSizes = []int{10_000, 100_000, 1_000_000}

// benchBatch returns n events from event number first on, as a probe's
// batch: a post in the page and its message in the worker, in turn.
func benchBatch(page, worker Source, first, n int) []Event {
	events := make([]Event, n)
	for i := range events {
		k := first + i
		e := &events[i]
		e.At = time.UnixMicro(1_700_000_000_000_000 + int64(k)*10)
		e.Port = 1
		e.Name = string([]byte("bench"))
		e.Message = []byte(`{"i":` + strconv.Itoa(k/2) + `,"text":"message ` + strconv.Itoa(k/2) + `"}`)
		if k%2 == 0 {
			e.Realm, e.Kind = page, Kind([]byte("post"))
		} else {
			e.Realm, e.Kind = worker, Kind([]byte("message"))
		}
	}
	return events
}

// fillTrace adds n events in batches of 64, as a flood brings them.
func fillTrace(tr *Trace, n int) {
	page, worker := newPlace(PageRealm, testExtID), newPlace(WorkerRealm, testExtID)
	for i := 0; i < n; i += 64 {
		tr.AddBatch(benchBatch(page, worker, i, min(64, n-i)))
	}
}

// BenchmarkAdd adds one event at a time; ns/op and B/op are per event.
func BenchmarkAdd(b *testing.B) {
	page, worker := newPlace(PageRealm, testExtID), newPlace(WorkerRealm, testExtID)
	tr := New()
	events := benchBatch(page, worker, 0, 4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := events[i%len(events)]
		e.At = e.At.Add(time.Duration(i) * time.Second)
		tr.Add(e)
		i++
	}
}

// BenchmarkAddBatch adds batches of 64 events; ns/event is per event.
func BenchmarkAddBatch(b *testing.B) {
	page, worker := newPlace(PageRealm, testExtID), newPlace(WorkerRealm, testExtID)
	tr := New()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		batch := benchBatch(page, worker, n, 64)
		b.StartTimer()
		tr.AddBatch(batch)
		n += 64
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}

// BenchmarkWaitPending adds 100k events in batches of 64 with no Wait, with
// a Wait for the last event, and with one for an event that never comes.
// Every batch wakes a pending Wait; ns/event should not depend on it.
func BenchmarkWaitPending(b *testing.B) {
	const n = 100_000
	for _, wait := range []string{"none", "last", "never"} {
		b.Run(wait, func(b *testing.B) {
			page, worker := newPlace(PageRealm, testExtID), newPlace(WorkerRealm, testExtID)
			var batches [][]Event
			for i := 0; i < n; i += 64 {
				batches = append(batches, benchBatch(page, worker, i, min(64, n-i)))
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				tr := New()
				// Fresh copies: AddBatch keeps its batches.
				fresh := make([][]Event, len(batches))
				for i, batch := range batches {
					fresh[i] = append([]Event(nil), batch...)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				var q *Query
				switch wait {
				case "last":
					q = Message().WithField("i", n/2-1)
				case "never":
					q = Exception()
				}
				if q != nil {
					go func() { _, err := tr.Wait(ctx, q); done <- err }()
					for !tr.hasWaiter() {
						runtime.Gosched()
					}
				}
				b.StartTimer()
				for _, batch := range fresh {
					tr.AddBatch(batch)
				}
				if wait == "last" {
					if err := <-done; err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				cancel()
				if q != nil && wait != "last" {
					<-done
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}

// hasWaiter reports whether a Wait is pending, so that a benchmark counts
// its wake-ups.
func (t *Trace) hasWaiter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.waits) > 0
}

// BenchmarkTraceBytes reports the Go heap that a trace of 10k, 100k and 1M
// events holds per event (B/event), its message included (28 to 40 bytes of
// JSON here), once the garbage of adding them is collected.
func BenchmarkTraceBytes(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var perEvent float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				tr := New()
				fillTrace(tr, n)
				runtime.GC()
				runtime.ReadMemStats(&after)
				perEvent = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
				runtime.KeepAlive(tr)
			}
			b.ReportMetric(perEvent, "B/event")
		})
	}
}
