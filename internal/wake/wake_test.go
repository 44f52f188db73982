package wake

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counter is a state guarded by a lock of its own, as the harness's are.
type counter struct {
	mu      sync.Mutex
	n       int
	changed Signal
}

func (c *counter) add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	c.changed.Notify()
}

func (c *counter) atLeast(n int) func() (int, bool, error) {
	return func() (int, bool, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.n, c.n >= n, nil
	}
}

func TestUntilHoldsAtOnce(t *testing.T) {
	var s Signal
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	close(done)
	// The state is checked first: a state that holds wins over an ended
	// ctx and owner.
	v, err := Until(ctx, &s, done, func() (string, bool, error) { return "here", true, nil })
	if err != nil || v != "here" {
		t.Fatalf("Until = %q, %v; want \"here\", nil", v, err)
	}
}

func TestUntilWakesOnNotify(t *testing.T) {
	c := &counter{}
	go func() {
		for range 3 {
			runtime.Gosched() // let the waiter block between the changes
			c.add()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Until(ctx, &c.changed, nil, c.atLeast(3))
	if err != nil || n != 3 {
		t.Fatalf("Until = %d, %v; want 3, nil", n, err)
	}
}

func TestUntilDoesNotPoll(t *testing.T) {
	var s Signal
	var calls atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := Until(ctx, &s, nil, func() (int, bool, error) {
		calls.Add(1)
		return 0, false, nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Until = %v; want context.DeadlineExceeded", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("check ran %d times with no Notify; want 1", n)
	}
}

func TestUntilCheckRunsAgainAfterEachNotify(t *testing.T) {
	var s Signal
	checked := make(chan int)
	var calls int
	result := make(chan error, 1)
	go func() {
		_, err := Until(context.Background(), &s, nil, func() (int, bool, error) {
			calls++
			checked <- calls
			return calls, calls == 3, nil
		})
		result <- err
	}()
	for want := 1; want <= 3; want++ {
		if got := <-checked; got != want {
			t.Fatalf("check call %d; want %d", got, want)
		}
		if want < 3 {
			s.Notify()
		}
	}
	if err := <-result; err != nil {
		t.Fatalf("Until = %v", err)
	}
}

func TestUntilContextCause(t *testing.T) {
	var s Signal
	cause := errors.New("the spec ended")
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(5*time.Millisecond, func() { cancel(cause) })
	v, err := Until(ctx, &s, nil, func() (*int, bool, error) { return nil, false, nil })
	if err != cause {
		t.Fatalf("Until = %v; want the context's cause %v", err, cause)
	}
	if v != nil {
		t.Errorf("Until's value = %v; want the zero value", v)
	}
}

func TestUntilDeadline(t *testing.T) {
	var s Signal
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	_, err := Until(ctx, &s, nil, func() (int, bool, error) { return 0, false, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Until = %v; want context.DeadlineExceeded", err)
	}
}

func TestUntilDone(t *testing.T) {
	var s Signal
	done := make(chan struct{})
	time.AfterFunc(5*time.Millisecond, func() { close(done) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := Until(ctx, &s, done, func() (string, bool, error) { return "partial", false, nil })
	if err != ErrDone {
		t.Fatalf("Until = %v; want ErrDone", err)
	}
	if v != "" {
		t.Errorf("Until's value = %q; want the zero value", v)
	}
}

func TestUntilCheckError(t *testing.T) {
	var s Signal
	failure := errors.New("the realm cannot come")
	calls := 0
	v, err := Until(context.Background(), &s, nil, func() (int, bool, error) {
		calls++
		return 7, false, failure
	})
	if err != failure {
		t.Fatalf("Until = %v; want check's error as it is", err)
	}
	if v != 7 || calls != 1 {
		t.Errorf("Until = %d after %d checks; want check's value 7 after 1", v, calls)
	}
}

func TestNotifyWithoutWaitersAllocatesNothing(t *testing.T) {
	var s Signal
	if n := testing.AllocsPerRun(100, s.Notify); n != 0 {
		t.Errorf("Notify with no waiter allocates %v times; want 0", n)
	}
}

func TestNotifyWakesEveryWaiter(t *testing.T) {
	c := &counter{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const waiters = 50
	var started, wg sync.WaitGroup
	errs := make(chan error, waiters)
	started.Add(waiters)
	for range waiters {
		wg.Go(func() {
			first := true
			_, err := Until(ctx, &c.changed, nil, func() (int, bool, error) {
				if first {
					first = false
					started.Done()
				}
				return c.atLeast(1)()
			})
			errs <- err
		})
	}
	started.Wait()
	c.add() // one Notify, after every waiter checked once
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a waiter missed the one Notify: %v", err)
		}
	}
}

// TestPingPong has two goroutines hand a turn back and forth, each waiting
// for the other's change: one missed wake-up stops the game.
func TestPingPong(t *testing.T) {
	const rounds = 20000
	var mu sync.Mutex
	var s Signal
	turn := 0 // whose turn: 0 or 1
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for me := range 2 {
		wg.Go(func() {
			for i := range rounds {
				_, err := Until(ctx, &s, nil, func() (struct{}, bool, error) {
					mu.Lock()
					mine := turn == me
					mu.Unlock()
					// Let the other side run between the check and
					// what Until does next: a Signal whose channel
					// were taken after the check would miss its
					// Notify here.
					runtime.Gosched()
					return struct{}{}, mine, nil
				})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				turn = 1 - me
				// Half the rounds notify under the state's lock, half
				// after it: both are allowed.
				if i%2 == 0 {
					s.Notify()
					mu.Unlock()
				} else {
					mu.Unlock()
					s.Notify()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a wake-up was missed: %v", err)
	}
}

// TestStress has many goroutines change one state and many wait for values
// of it while the changes go on; every waiter must see its value.
func TestStress(t *testing.T) {
	const (
		notifiers = 16
		adds      = 500
		waiters   = 64
	)
	c := &counter{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, waiters)
	for i := range waiters {
		target := 1 + i*notifiers*adds/waiters
		wg.Go(func() {
			n, err := Until(ctx, &c.changed, nil, c.atLeast(target))
			if err == nil && n < target {
				err = errors.New("Until returned before the state held")
			}
			errs <- err
		})
	}
	for range notifiers {
		wg.Go(func() {
			for range adds {
				c.add()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a waiter did not see its value of %d changes: %v", notifiers*adds, err)
		}
	}
}

func ExampleUntil() {
	// The state and its lock, and the Signal its changes notify.
	var (
		mu      sync.Mutex
		ready   []string
		changed Signal
	)
	go func() {
		mu.Lock()
		ready = append(ready, "worker")
		mu.Unlock()
		changed.Notify() // after the change
	}()
	ended := make(chan struct{}) // closed when the owner of the state ends
	name, err := Until(context.Background(), &changed, ended, func() (string, bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(ready) == 0 {
			return "", false, nil
		}
		return ready[0], true, nil
	})
	if errors.Is(err, ErrDone) {
		err = errors.New("the browser closed") // the owner's cause
	}
	fmt.Println(name, err)
	// Output: worker <nil>
}
