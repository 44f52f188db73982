package trace

// A Finder finds events in a trace that grows, looking at each event about
// once: the first event that matches its first query, then the first after
// it that matches the second, and so on. Each call of Find goes on from where
// the last one stopped, so polling a long trace (a Gomega matcher under
// Eventually, a Wait woken by every batch) costs what is new, not the whole
// trace again.
//
// Events can arrive out of order (see Trace.Add), landing before the place a
// Finder had reached; the trace tells it the lowest place that changed, and
// Find looks again from there. Its result is always what one scan of the
// whole trace would give.
//
// A Finder is for one goroutine at a time. Given another trace, it starts
// again.
type Finder struct {
	queries []*Query

	// The state, about trace t, guarded by t.mu while Find runs.
	t       *Trace
	matched []Event // the events matched so far, one per query in turn
	at      []int   // their absolute places (see Trace.dropped)
	next    int     // absolute: the events from the last match to next do not match queries[len(matched)]
	gen     uint64  // t.inserts when the state was last brought up to date
}

// NewFinder returns a Finder of the queries in order; it panics with none.
func NewFinder(queries ...*Query) *Finder {
	if len(queries) == 0 {
		panic("trace: NewFinder needs at least one query")
	}
	return &Finder{queries: queries}
}

// Find returns the events matched so far in t, one per query from the
// first, and whether every query has its event.
func (f *Finder) Find(t *Trace) ([]Event, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ok := f.advanceLocked(t, len(t.events))
	return append([]Event(nil), f.matched...), ok
}

// advanceLocked brings the state up to date with the events of t before
// index end, and reports whether every query has its event.
func (f *Finder) advanceLocked(t *Trace, end int) bool {
	if f.t != t {
		f.t, f.matched, f.at, f.next, f.gen = t, f.matched[:0], f.at[:0], 0, t.inserts
	} else if f.gen != t.inserts {
		low := t.lowestChangeLocked(f.gen, f.next)
		f.gen = t.inserts
		k := len(f.at)
		for k > 0 && f.at[k-1] >= low {
			k--
		}
		f.matched, f.at = f.matched[:k], f.at[:k]
		// The events from the last match kept to low were looked at for
		// the next query: a match after low would not have been kept.
		f.next = min(f.next, low)
		if k > 0 {
			f.next = max(f.next, f.at[k-1]+1)
		}
	}
	i := max(f.next-t.dropped, 0)
	for len(f.matched) < len(f.queries) && i < end {
		q := f.queries[len(f.matched)]
		for i < end && !q.matchPtr(t.events[i]) {
			i++
		}
		if i == end {
			break
		}
		f.matched = append(f.matched, *t.events[i]) // a copy: the stored event's Seq changes
		f.at = append(f.at, i+t.dropped)
		i++
	}
	if i+t.dropped > f.next {
		f.next = i + t.dropped
	}
	return len(f.matched) == len(f.queries)
}
