// Package cdppipe is the CDP plumbing of the Chrome engine: a relay on the
// pipe between chromedp and Chrome that passes every message through and
// lets the harness speak on the sessions Chrome auto-attaches, which
// chromedp does not route.
package cdppipe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/cdp"
	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// The relay sits on the pipe between chromedp and Chrome. It passes every
// message through, and lets the harness speak on the sessions that Chrome
// auto-attaches (Target.setAutoAttach), which chromedp does not route: a page
// that Chrome holds before its first line (waitForDebuggerOnStart) is let go
// only by Runtime.runIfWaitingForDebugger on the session Chrome attached it
// to, not on a session of chromedp's. Every page Chrome creates (a tab of the
// harness, a window.open popup, an extension's popup, tab or offscreen
// document) and every cross-process iframe in one comes to the harness that
// way, is probed, and is let go.
//
// Messages of the harness's sessions never reach chromedp; replies to the
// relay's own commands carry IDs from firstRelayID up, far above chromedp's.
type Relay struct {
	toChrome   io.WriteCloser // Chrome reads its commands here
	fromChrome io.ReadCloser  // Chrome writes its answers and events here
	down       io.ReadCloser  // chromedp's commands
	up         io.WriteCloser // what chromedp reads

	childOnce sync.Once
	childEnds []io.Closer // Chrome's ends of the pipes, closed here once it runs

	// claim is asked, in the read loop, whether the harness takes a session
	// that Chrome attached (parent is the harness's session it belongs to,
	// or nil for the browser's). It returns the session's event handler, or
	// nil to leave the session to chromedp. It must not block.
	Claim func(parent *Session, ev *target.EventAttachedToTarget, s *Session) func(ev any)

	writeMu sync.Mutex // one message at a time to Chrome
	nextID  atomic.Int64

	mu       sync.Mutex
	pending  map[int64]chan *cdproto.Message
	sessions map[target.SessionID]*Session
	lost     chan struct{} // closed when the connection to Chrome ends
	lostErr  error
}

// firstRelayID is the first command ID of the relay's own commands. Chrome
// takes IDs that fit in 32 bits only; chromedp counts from 1 and never gets
// near.
const firstRelayID = 1 << 30

func NewRelay() *Relay {
	r := &Relay{
		pending:  map[int64]chan *cdproto.Message{},
		sessions: map[target.SessionID]*Session{},
		lost:     make(chan struct{}),
	}
	r.nextID.Store(firstRelayID)
	return r
}

// active reports whether the relay carries the connection.
// Lost is closed when the connection to Chrome ends.
func (r *Relay) Lost() <-chan struct{} { return r.lost }

func (r *Relay) Active() bool { return r != nil && r.toChrome != nil }

// start runs the two directions of the relay.
func (r *Relay) start() {
	go r.fromChromeLoop()
	go r.toChromeLoop()
}

func (r *Relay) closeChildEnds() {
	r.childOnce.Do(func() {
		for _, c := range r.childEnds {
			c.Close()
		}
	})
}

// toChromeLoop copies chromedp's commands to Chrome. When chromedp closes its
// end, Chrome gets end of file and exits, as it would without the relay.
func (r *Relay) toChromeLoop() {
	br := bufio.NewReaderSize(r.down, 64<<10)
	for {
		frame, err := br.ReadBytes(0)
		if err != nil {
			break
		}
		if err := r.write(frame); err != nil {
			break
		}
	}
	r.down.Close()
	r.toChrome.Close()
	r.closeChildEnds()
}

// write sends one framed message to Chrome.
func (r *Relay) write(frame []byte) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	_, err := r.toChrome.Write(frame)
	return err
}

// fromChromeLoop reads Chrome's messages, keeps those of the harness's
// sessions and passes the rest to chromedp.
func (r *Relay) fromChromeLoop() {
	br := bufio.NewReaderSize(r.fromChrome, 64<<10)
	var err error
	for {
		var frame []byte
		frame, err = br.ReadBytes(0)
		if err != nil {
			break
		}
		// Chrome runs: this process no longer needs its ends of the pipes,
		// and holding them would hide Chrome's exit from the reads.
		r.closeChildEnds()
		if r.take(frame[:len(frame)-1]) {
			continue
		}
		if _, werr := r.up.Write(frame); werr != nil {
			err = werr
			break
		}
	}
	r.mu.Lock()
	if r.lostErr == nil {
		r.lostErr = fmt.Errorf("the connection to Chrome ended: %w", err)
		close(r.lost)
	}
	sessions := r.sessions
	r.sessions = map[target.SessionID]*Session{}
	r.mu.Unlock()
	for _, s := range sessions {
		s.detach()
	}
	r.fromChrome.Close()
	r.up.Close()
}

// take handles a message from Chrome that is the harness's, and reports
// whether it was (then chromedp does not see it).
func (r *Relay) take(data []byte) bool {
	var m cdproto.Message
	if err := jsonv2.Unmarshal(data, &m, chromedp.DefaultUnmarshalOptions); err != nil {
		return false
	}
	if m.ID >= firstRelayID {
		r.mu.Lock()
		ch := r.pending[m.ID]
		delete(r.pending, m.ID)
		r.mu.Unlock()
		if ch != nil {
			ch <- &m
		}
		return true
	}
	if m.Method == "" {
		return false
	}
	var s *Session
	if m.SessionID != "" {
		r.mu.Lock()
		s = r.sessions[m.SessionID]
		r.mu.Unlock()
		if s == nil {
			return false
		}
	}
	switch m.Method {
	case cdproto.EventTargetAttachedToTarget:
		var ev target.EventAttachedToTarget
		if err := jsonv2.Unmarshal(m.Params, &ev, chromedp.DefaultUnmarshalOptions); err == nil {
			r.attached(s, &ev)
		}
	case cdproto.EventTargetDetachedFromTarget:
		var ev target.EventDetachedFromTarget
		if err := jsonv2.Unmarshal(m.Params, &ev, chromedp.DefaultUnmarshalOptions); err == nil {
			r.mu.Lock()
			gone := r.sessions[ev.SessionID]
			delete(r.sessions, ev.SessionID)
			r.mu.Unlock()
			if gone != nil {
				gone.detach()
			}
		}
	}
	if s == nil {
		return false // the browser's own events are chromedp's too
	}
	if ev, err := cdproto.UnmarshalMessage(&m, chromedp.DefaultUnmarshalOptions); err == nil && s.handle != nil {
		s.handle(ev)
	}
	return true
}

// attached offers a session that Chrome attached to the harness. A child
// of the harness's own session that it does not take still runs: Chrome
// holds it for the debugger like the ones it takes.
func (r *Relay) attached(parent *Session, ev *target.EventAttachedToTarget) {
	s := &Session{r: r, id: ev.SessionID, targetID: ev.TargetInfo.TargetID, parent: parent, detached: make(chan struct{})}
	var handle func(any)
	if r.Claim != nil {
		handle = r.Claim(parent, ev, s)
	}
	if handle == nil {
		if parent != nil && ev.WaitingForDebugger {
			go s.Call(context.Background(), "Runtime.runIfWaitingForDebugger", nil, nil)
		}
		return
	}
	s.handle = handle
	r.mu.Lock()
	r.sessions[s.id] = s
	r.mu.Unlock()
}

// Session is a session that Chrome attached and the harness took. It is a
// cdp.Session, so the harness's calls work on it as on chromedp's targets.
type Session struct {
	r        *Relay
	id       target.SessionID
	targetID target.ID
	parent   *Session
	handle   func(ev any) // runs in the relay's read loop: it must be quick

	detachOnce sync.Once
	detached   chan struct{} // closed when Chrome ends the session
}

func (s *Session) detach() { s.detachOnce.Do(func() { close(s.detached) }) }

// Detached is closed when Chrome ends the session.
func (s *Session) Detached() <-chan struct{} { return s.detached }

// Parent is the session this one was attached under, or nil for the
// browser's.
func (s *Session) Parent() *Session { return s.parent }

// TargetID is the target of the session.
func (s *Session) TargetID() target.ID { return s.targetID }

// ErrSessionDetached is the error of a call on a session Chrome ended.
var ErrSessionDetached = errors.New("the target's session ended (the target closed or crashed)")

// Call sends a command on the session and waits for its answer.
func (s *Session) Call(ctx context.Context, method string, params, res any) error {
	wait, err := s.Send(method, params)
	if err != nil {
		return err
	}
	return wait(ctx, res)
}

// Send writes a command on the session and returns a func that waits for its
// answer. Chrome runs a session's commands in the order they were written,
// so a caller can send several before it waits for any: a page that Chrome
// holds is set up in one round trip instead of one per command. Every
// returned wait must be called.
func (s *Session) Send(method string, params any) (wait func(ctx context.Context, res any) error, err error) {
	r := s.r
	id := r.nextID.Add(1)
	msg := cdproto.Message{ID: id, SessionID: s.id, Method: cdproto.MethodType(method)}
	if params != nil {
		buf, err := jsonv2.Marshal(params, chromedp.DefaultMarshalOptions)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", method, err)
		}
		msg.Params = buf
	}
	data, err := jsonv2.Marshal(&msg, chromedp.DefaultMarshalOptions)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", method, err)
	}
	ch := make(chan *cdproto.Message, 1)
	r.mu.Lock()
	if r.lostErr != nil {
		r.mu.Unlock()
		return nil, r.lostErr
	}
	r.pending[id] = ch
	r.mu.Unlock()
	forget := func() {
		r.mu.Lock()
		delete(r.pending, id)
		r.mu.Unlock()
	}
	if err := r.write(append(data, 0)); err != nil {
		forget()
		return nil, fmt.Errorf("sending %s: %w", method, err)
	}
	return func(ctx context.Context, res any) error {
		defer forget()
		select {
		case reply := <-ch:
			if reply.Error != nil {
				return reply.Error
			}
			if res != nil && len(reply.Result) > 0 {
				return jsonv2.Unmarshal(reply.Result, res, chromedp.DefaultUnmarshalOptions)
			}
			return nil
		case <-s.detached:
			return ErrSessionDetached
		case <-r.lost:
			return r.lostErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

// Subscribe is not supported: the harness takes a raw session's events
// through its handler. The channel is closed at once.
func (s *Session) Subscribe(string) (<-chan jsonv2.Value, func()) {
	ch := make(chan jsonv2.Value)
	close(ch)
	return ch, func() {}
}

var _ cdp.Session = (*Session)(nil)
