package rdp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"
)

// fakeFirefox is the server end of a connection, driven by the test.
type fakeFirefox struct {
	t  *testing.T
	c  net.Conn
	r  *bufio.Reader
	in chan map[string]any
}

func newFake(t *testing.T) (*Conn, *fakeFirefox) {
	t.Helper()
	client, server := net.Pipe()
	f := &fakeFirefox{t: t, c: server, r: bufio.NewReader(server), in: make(chan map[string]any, 16)}
	go f.send(map[string]any{"from": "root", "applicationType": "browser"})
	conn, greeting, err := New(client)
	if err != nil {
		t.Fatal(err)
	}
	if greeting.From != "root" {
		t.Fatalf("greeting from %q", greeting.From)
	}
	go func() {
		for {
			p, err := readPacket(f.r)
			if err != nil {
				close(f.in)
				return
			}
			var m map[string]any
			json.Unmarshal(p.Raw, &m)
			f.in <- m
		}
	}()
	t.Cleanup(func() { conn.Close(); server.Close() })
	return conn, f
}

func (f *fakeFirefox) send(m map[string]any) {
	data, _ := json.Marshal(m)
	f.c.Write(append([]byte(strconv.Itoa(len(data))+":"), data...))
}

func (f *fakeFirefox) next() map[string]any {
	select {
	case m := <-f.in:
		return m
	case <-time.After(5 * time.Second):
		f.t.Fatal("no request came")
		return nil
	}
}

// Replies go to requests in order per actor; an event in between goes to the
// handler, and an error reply is an *Error naming the request.
func TestRepliesEventsAndErrors(t *testing.T) {
	conn, f := newFake(t)
	events := make(chan Packet, 4)
	conn.OnEvent(func(p Packet) { events <- p })
	ctx := t.Context()

	type res struct {
		v   map[string]any
		err error
	}
	first, second := make(chan res, 1), make(chan res, 1)
	go func() {
		var v map[string]any
		err := conn.Request(ctx, "tab1", "getWatcher", map[string]any{"isServerTargetSwitchingEnabled": true}, &v)
		first <- res{v, err}
	}()
	if m := f.next(); m["to"] != "tab1" || m["type"] != "getWatcher" || m["isServerTargetSwitchingEnabled"] != true {
		t.Fatalf("request = %v", m)
	}
	go func() {
		err := conn.Request(ctx, "tab1", "navigateTo", map[string]any{"url": "x"}, nil)
		second <- res{nil, err}
	}()
	f.next()
	f.send(map[string]any{"from": "tab1", "type": "tabNavigated", "url": "x"})
	f.send(map[string]any{"from": "tab1", "actor": "watcher1"})
	f.send(map[string]any{"from": "tab1", "error": "noSuchActor", "message": "gone"})
	if r := <-first; r.err != nil || r.v["actor"] != "watcher1" {
		t.Errorf("first reply = %v, %v", r.v, r.err)
	}
	r := <-second
	var e *Error
	if !errors.As(r.err, &e) || e.Code != "noSuchActor" || e.Request != "navigateTo" || e.Actor != "tab1" {
		t.Errorf("second reply error = %v", r.err)
	}
	select {
	case p := <-events:
		if p.Type != "tabNavigated" {
			t.Errorf("event %s", p.Type)
		}
	case <-time.After(5 * time.Second):
		t.Error("the event did not reach the handler")
	}
}

// evaluateJSAsync's result comes as an event after the ack, possibly in the
// same read as the ack.
func TestEvaluate(t *testing.T) {
	conn, f := newFake(t)
	for _, resultFirst := range []bool{false, true} {
		done := make(chan Evaluation, 1)
		go func() {
			ev, err := conn.Evaluate(t.Context(), "console1", map[string]any{"text": "1+1"})
			if err != nil {
				t.Error(err)
			}
			done <- ev
		}()
		m := f.next()
		if m["type"] != "evaluateJSAsync" || m["text"] != "1+1" {
			t.Fatalf("request = %v", m)
		}
		result := map[string]any{"from": "console1", "type": "evaluationResult", "resultID": "r1", "result": 2}
		ack := map[string]any{"from": "console1", "resultID": "r1"}
		if resultFirst {
			// Both in one write, as Firefox often does: the result may be
			// read before Evaluate has seen its ack, and is held for it.
			a, _ := json.Marshal(ack)
			b, _ := json.Marshal(result)
			f.c.Write([]byte(strconv.Itoa(len(a)) + ":" + string(a) + strconv.Itoa(len(b)) + ":" + string(b)))
		} else {
			f.send(ack)
			f.send(result)
		}
		select {
		case ev := <-done:
			if string(ev.Result) != "2" {
				t.Errorf("result = %s", ev.Result)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no evaluation result")
		}
	}
}

// A request whose context ends fails at once and names itself; the reply
// that comes later does not go to the next request.
func TestRequestDeadline(t *testing.T) {
	conn, f := newFake(t)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := conn.Request(ctx, "a", "slow", nil, nil)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	f.next()
	done := make(chan map[string]any, 1)
	go func() {
		var v map[string]any
		conn.Request(t.Context(), "a", "fast", nil, &v)
		done <- v
	}()
	f.next()
	f.send(map[string]any{"from": "a", "which": "slow"})
	f.send(map[string]any{"from": "a", "which": "fast"})
	if v := <-done; v["which"] != "fast" {
		t.Errorf("the second request got %v", v)
	}
}

// When Firefox goes, pending requests fail with ErrClosed.
func TestConnectionEnd(t *testing.T) {
	conn, f := newFake(t)
	errc := make(chan error, 1)
	go func() { errc <- conn.Request(t.Context(), "a", "x", nil, nil) }()
	f.next()
	f.c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("err = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request hangs after the connection ended")
	}
	if err := conn.Request(t.Context(), "a", "y", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("a request after the end: %v", err)
	}
}
