// Package wake is how portprobe waits until a state holds: a realm appears, an
// event is in the trace, a worker stops. The code that changes a state calls
// Signal.Notify after the change; a waiter calls Until with a check of the
// state, and sleeps between checks until the next Notify, the end of the
// state's owner or the end of its context. There is no polling and no sleep.
//
// A waiter never touches the Signal's channel: Until takes it before each
// check, so a change made after a check that missed it wakes the waiter. The
// one rule is on the other side: Notify comes after the change is visible to
// the check (after the write, under the lock that guards it or once that lock
// is released), never before it.
package wake

import (
	"context"
	"errors"
	"sync"
)

// ErrDone is the error of Until when its done channel closed before the state
// held: the owner of the state ended, and the caller says why.
var ErrDone = errors.New("wake: the owner of the awaited state ended")

// Signal wakes the goroutines that wait for a change of some state. Its zero
// value is ready to use; a Signal must not be copied after first use.
//
// Its lock is a leaf: Notify takes nothing else, so it may be called with
// any other lock held, and Until takes it with none.
type Signal struct {
	mu sync.Mutex
	// ch is closed by the next Notify, which then drops it; nil while
	// nobody waits, so that a Notify with no waiter costs a lock and no
	// allocation (a trace notifies at each of its events).
	ch chan struct{}
}

// Notify wakes every goroutine waiting on s at the time of the call. Call it
// after the change, never before: a waiter that checked the state before the
// change then wakes and checks again.
func (s *Signal) Notify() {
	s.mu.Lock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
	s.mu.Unlock()
}

// next returns a channel that the next Notify closes.
func (s *Signal) next() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Until waits until check reports that the state holds, and returns check's
// value. It calls check once at once, then again after each Notify of s: the
// channel for the next Notify is taken before each call of check, so no
// change is missed. check runs in the calling goroutine with no lock of
// Until's held; it takes the locks that guard the state itself, and may make
// browser round trips (it then honours ctx).
//
// Until ends without the state when:
//   - check returns an error: Until returns it as it is;
//   - done closes (the owner of the state ended): Until returns ErrDone,
//     which the caller replaces with the owner's cause. A nil done never
//     closes;
//   - ctx ends: Until returns context.Cause(ctx).
//
// A check that holds is returned even when ctx or done ended already: the
// state is checked first. When a Notify, done and ctx are all ready Until
// may take any of them, as select does, so a caller must not rely on which.
func Until[T any](ctx context.Context, s *Signal, done <-chan struct{}, check func() (T, bool, error)) (T, error) {
	for {
		next := s.next()
		v, ok, err := check()
		if err != nil || ok {
			return v, err
		}
		select {
		case <-next:
		case <-done:
			var zero T
			return zero, ErrDone
		case <-ctx.Done():
			var zero T
			return zero, context.Cause(ctx)
		}
	}
}
