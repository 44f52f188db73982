// Package rdp is a small client of Firefox's remote debugging protocol, the
// protocol of Firefox's DevTools: length-prefixed JSON packets ("42:{...}")
// exchanged with actors over one stream (a Unix socket here). Each request
// names an actor; the actor answers its requests in order, one reply each,
// and may send events (packets with a type that is not a reply) in between.
//
// There is no maintained Go client; this one keeps a queue of pending
// requests per actor, gives every request a deadline, delivers events to one
// handler in the order they arrive, and turns error replies into *Error.
package rdp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
)

// Packet is one packet as it arrived: the actor it is from, its type (empty
// for most replies) and the whole JSON.
type Packet struct {
	From string
	Type string
	Raw  json.RawMessage
}

// Decode decodes the packet's JSON into v.
func (p Packet) Decode(v any) error { return json.Unmarshal(p.Raw, v) }

// Error is an actor's error reply.
type Error struct {
	Actor   string
	Request string
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("firefox: %s to %s: %s: %s", e.Request, e.Actor, e.Code, e.Message)
}

// ErrClosed is the cause of requests that the connection's end interrupted.
var ErrClosed = errors.New("the connection to Firefox ended")

// eventTypes are the packet types that are events, never replies, even when
// a request to their actor is pending.
var eventTypes = map[string]bool{
	"paused": true, "resumed": true, "newSource": true,
	"target-available-form": true, "target-destroyed-form": true,
	"resources-available-array": true, "resources-updated-array": true, "resources-destroyed-array": true,
	"evaluationResult": true, "tabListChanged": true, "addonListChanged": true,
	"frameUpdate": true, "tabNavigated": true, "tabDetached": true, "descriptor-destroyed": true,
	"workerListChanged": true, "serviceWorkerRegistrationListChanged": true, "processListChanged": true,
	"forwardingCancelled": true, "consoleAPICall": true, "pageError": true,
}

type pending struct {
	request string
	reply   chan Packet
}

// Conn is a connection to Firefox's debugger server. It is safe for
// concurrent use.
type Conn struct {
	rw io.ReadWriteCloser

	writeMu sync.Mutex // one packet at a time

	// mu guards the fields below.
	mu      sync.Mutex
	queues  map[string][]pending // by actor, oldest first
	results map[string]chan Packet
	early   map[string]Packet // evaluationResults that came before their ack was read
	onEvent func(Packet)
	err     error // why the connection ended
	done    chan struct{}
}

// Dial connects to the debugger server listening on the Unix socket at path
// and reads its greeting.
func Dial(ctx context.Context, path string) (*Conn, Packet, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, Packet{}, fmt.Errorf("connecting to Firefox's debugger server at %s: %w", path, err)
	}
	return New(c)
}

// New runs the protocol over rw, reading the server's greeting first.
func New(rw io.ReadWriteCloser) (*Conn, Packet, error) {
	c := &Conn{rw: rw, queues: map[string][]pending{}, results: map[string]chan Packet{}, early: map[string]Packet{}, done: make(chan struct{})}
	r := bufio.NewReaderSize(rw, 64<<10)
	greeting, err := readPacket(r)
	if err != nil {
		rw.Close()
		return nil, Packet{}, fmt.Errorf("reading Firefox's greeting: %w", err)
	}
	go c.readLoop(r)
	return c, greeting, nil
}

// OnEvent sets the handler of events. It runs in the read loop, one event at
// a time: it must not block, nor wait for a reply.
func (c *Conn) OnEvent(fn func(Packet)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onEvent = fn
}

// Done is closed when the connection ends; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it runs.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection.
func (c *Conn) Close() error { return c.rw.Close() }

// Request sends a request of type typ to actor to, with the fields of params
// (a struct or map, or nil), waits for the actor's reply and decodes it into
// reply (when not nil). An error reply is an *Error.
func (c *Conn) Request(ctx context.Context, to, typ string, params, reply any) error {
	p, err := c.request(ctx, to, typ, params)
	if err != nil {
		return err
	}
	if reply != nil {
		if err := p.Decode(reply); err != nil {
			return fmt.Errorf("firefox: %s to %s: decoding the reply: %w", typ, to, err)
		}
	}
	return nil
}

func (c *Conn) request(ctx context.Context, to, typ string, params any) (Packet, error) {
	msg := map[string]any{}
	if params != nil {
		data, err := json.Marshal(params)
		if err != nil {
			return Packet{}, fmt.Errorf("firefox: %s to %s: encoding: %w", typ, to, err)
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			return Packet{}, fmt.Errorf("firefox: %s to %s: the parameters must be an object: %w", typ, to, err)
		}
	}
	msg["to"], msg["type"] = to, typ
	data, err := json.Marshal(msg)
	if err != nil {
		return Packet{}, err
	}
	ch := make(chan Packet, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return Packet{}, fmt.Errorf("firefox: %s to %s: %w", typ, to, err)
	}
	c.queues[to] = append(c.queues[to], pending{typ, ch})
	// The write happens under mu so that the queue's order is the order
	// the packets go out in.
	c.writeMu.Lock()
	c.mu.Unlock()
	_, werr := c.rw.Write(append([]byte(strconv.Itoa(len(data))+":"), data...))
	c.writeMu.Unlock()
	if werr != nil {
		c.fail(werr)
	}
	select {
	case p := <-ch:
		var e Error
		if json.Unmarshal(p.Raw, &e) == nil && e.Code != "" {
			e.Actor, e.Request = to, typ
			return p, &e
		}
		return p, nil
	case <-c.done:
		return Packet{}, fmt.Errorf("firefox: %s to %s: %w", typ, to, c.Err())
	case <-ctx.Done():
		// The reply will still come, and take this request's place in the
		// queue: ch is buffered, so the read loop does not block on it.
		return Packet{}, fmt.Errorf("firefox: %s to %s: no reply: %w", typ, to, context.Cause(ctx))
	}
}

// Evaluation is the result of evaluateJSAsync.
type Evaluation struct {
	// Result is the value's grip: a JSON primitive, or an object such as
	// {"type": "undefined"} or {"type": "object", "class": ..., "actor": ...}.
	Result json.RawMessage `json:"result"`
	// HasException says the code threw; ExceptionMessage is its text.
	HasException     bool            `json:"hasException"`
	Exception        json.RawMessage `json:"exception"`
	ExceptionMessage json.RawMessage `json:"exceptionMessage"`
	// Raw is the whole evaluationResult packet.
	Raw json.RawMessage `json:"-"`
}

// Evaluate runs evaluateJSAsync on a console actor with params (text,
// frameActor, ...) and waits for its result, which Firefox sends as an event
// after acknowledging the request.
func (c *Conn) Evaluate(ctx context.Context, consoleActor string, params any) (Evaluation, error) {
	var ack struct {
		ResultID string `json:"resultID"`
	}
	if err := c.Request(ctx, consoleActor, "evaluateJSAsync", params, &ack); err != nil {
		return Evaluation{}, err
	}
	c.mu.Lock()
	p, ok := c.early[ack.ResultID]
	delete(c.early, ack.ResultID)
	ch := make(chan Packet, 1)
	if !ok {
		c.results[ack.ResultID] = ch
	}
	c.mu.Unlock()
	if !ok {
		select {
		case p = <-ch:
		case <-c.done:
			return Evaluation{}, fmt.Errorf("firefox: evaluating in %s: %w", consoleActor, c.Err())
		case <-ctx.Done():
			c.mu.Lock()
			delete(c.results, ack.ResultID)
			c.mu.Unlock()
			return Evaluation{}, fmt.Errorf("firefox: evaluating in %s: no result: %w", consoleActor, context.Cause(ctx))
		}
	}
	var ev Evaluation
	if err := p.Decode(&ev); err != nil {
		return Evaluation{}, fmt.Errorf("firefox: evaluating in %s: decoding the result: %w", consoleActor, err)
	}
	ev.Raw = p.Raw
	return ev, nil
}

func (c *Conn) readLoop(r *bufio.Reader) {
	for {
		p, err := readPacket(r)
		if err != nil {
			c.fail(err)
			return
		}
		c.dispatch(p)
	}
}

func (c *Conn) dispatch(p Packet) {
	c.mu.Lock()
	if p.Type == "evaluationResult" {
		var id struct {
			ResultID string `json:"resultID"`
		}
		p.Decode(&id)
		if ch, ok := c.results[id.ResultID]; ok {
			delete(c.results, id.ResultID)
			c.mu.Unlock()
			ch <- p
			return
		}
		c.early[id.ResultID] = p
		c.mu.Unlock()
		return
	}
	if q := c.queues[p.From]; len(q) > 0 && !eventTypes[p.Type] {
		c.queues[p.From] = q[1:]
		if len(q) == 1 {
			delete(c.queues, p.From)
		}
		c.mu.Unlock()
		q[0].reply <- p
		return
	}
	fn := c.onEvent
	c.mu.Unlock()
	if fn != nil {
		fn(p)
	}
}

func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		err = ErrClosed
	}
	c.err = err
	close(c.done)
	c.rw.Close()
}

// maxPacket bounds a packet's length: a 64 MiB message and its quoting.
const maxPacket = 512 << 20

func readPacket(r *bufio.Reader) (Packet, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return Packet{}, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 0 || n > maxPacket {
		return Packet{}, fmt.Errorf("firefox sent a bad packet length %q", head)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Packet{}, err
	}
	var h struct {
		From string `json:"from"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(buf, &h); err != nil {
		return Packet{}, fmt.Errorf("firefox sent a packet that is not JSON: %w", err)
	}
	return Packet{From: h.From, Type: h.Type, Raw: buf}, nil
}
