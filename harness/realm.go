package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/portprobe/portprobe/trace"
)

// ErrRealmGone is wrapped by the errors of calls on a realm whose context no
// longer exists: its worker stopped, its tab closed or navigated.
var ErrRealmGone = errors.New("realm is gone")

// Realm is one JavaScript context of an extension that has a probe: a service
// worker, a content script's isolated world in one frame, or an extension
// page. Go evaluates code in it and drives ports from it. A realm lasts as
// long as its context; a restarted worker or a reloaded page is a new realm.
type Realm struct {
	// Kind is what kind of context this is.
	Kind trace.RealmKind
	// ExtensionID is the ID of the extension the realm belongs to.
	ExtensionID string
	// Tab is the tab of a content script or page realm; nil for a worker.
	Tab *Tab
	// FrameID is the frame of a content script or page realm.
	FrameID cdp.FrameID
	// URL is the worker's script URL, or the frame's URL when the probe was
	// installed.
	URL string

	b    *Browser
	conn realmConn // how the engine reaches the realm's JavaScript

	gen      atomic.Int32 // how many realms had its baseName, itself included; set by addRealm
	goneOnce sync.Once
	gone     chan struct{}
}

func newRealm(b *Browser, kind trace.RealmKind, extID string) *Realm {
	return &Realm{Kind: kind, ExtensionID: extID, b: b, gone: make(chan struct{})}
}

// Extension returns the realm's extension handle, or nil when the extension
// was not loaded through this harness.
func (r *Realm) Extension() *Extension {
	if r == nil || r.b == nil {
		return nil // a Realm made by hand, as in an Event{} of a test
	}
	return r.b.extensionByID(r.ExtensionID)
}

// String names the realm for traces and errors, such as "worker(mdn-example)"
// or "content-script(mdn-example)@tab1". A realm named like one before it (a
// restarted worker, the content script of the tab's next document) gets a
// count: "worker(mdn-example)~2".
func (r *Realm) String() string {
	if r == nil {
		return "(no realm)"
	}
	if gen := r.gen.Load(); gen > 1 {
		return r.baseName() + "~" + strconv.Itoa(int(gen))
	}
	return r.baseName()
}

// baseName is String without the count.
func (r *Realm) baseName() string {
	name := r.ExtensionID
	if e := r.Extension(); e != nil {
		name = e.Name
	}
	if r.Kind == trace.WebPageRealm || r.Kind == trace.NativeHostRealm {
		name = r.URL
	}
	s := fmt.Sprintf("%s(%s)", r.Kind, name)
	if r.Kind == trace.PageRealm {
		if i := strings.Index(r.URL, r.ExtensionID); i >= 0 {
			s += r.URL[i+len(r.ExtensionID):]
		}
	}
	if r.Tab != nil {
		s += "@" + r.Tab.String()
		if r.FrameID != "" && string(r.FrameID) != string(r.Tab.TargetID) {
			s += "/frame:" + string(r.FrameID)[:min(8, len(r.FrameID))]
		}
	}
	return s
}

// GomegaString keeps Gomega's failure messages short.
func (r *Realm) GomegaString() string { return r.String() }

// Describe says what the realm is, for the trace and its diagram.
func (r *Realm) Describe() trace.SourceInfo {
	info := trace.SourceInfo{Kind: r.Kind, ExtensionID: r.ExtensionID, URL: r.URL}
	if r.Tab != nil {
		info.Tab = r.Tab.String()
		if r.FrameID != "" && string(r.FrameID) != string(r.Tab.TargetID) {
			info.Frame = string(r.FrameID)
		}
	}
	return info
}

// Gone reports whether the realm's context no longer exists.
func (r *Realm) Gone() bool {
	select {
	case <-r.gone:
		return true
	default:
		return false
	}
}

// Done returns a channel that closes when the realm's context goes away.
func (r *Realm) Done() <-chan struct{} { return r.gone }

func (r *Realm) markGone() {
	r.goneOnce.Do(func() {
		close(r.gone)
		r.b.changed.Notify()
	})
}

// JSError is an exception thrown by code that Go ran in a realm.
type JSError struct {
	// Realm is where it was thrown.
	Realm *Realm
	// Text is the exception as "Name: message".
	Text string
}

func (e *JSError) Error() string { return fmt.Sprintf("in %s: %s", e.Realm, e.Text) }

// Eval evaluates a JavaScript expression in the realm, awaits it when it is a
// promise, and returns its value as JSON. An exception becomes a *JSError.
func (r *Realm) Eval(ctx context.Context, expression string) (json.RawMessage, error) {
	ctx, cancel := r.b.bound(ctx)
	defer cancel()
	if err := r.alive(); err != nil {
		return nil, err
	}
	value, exc, err := r.conn.evaluate(ctx, expression)
	if err == nil {
		// The events the expression made are in the trace when Eval returns.
		r.flush(ctx)
	}
	return r.result(value, exc, err, "evaluating "+abbreviate(expression, 80))
}

// EvalAs evaluates expression in r as Eval does and decodes the value into T.
func EvalAs[T any](ctx context.Context, r *Realm, expression string) (T, error) {
	var v T
	raw, err := r.Eval(ctx, expression)
	if err != nil {
		return v, err
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("in %s: decoding the value of %s: %w", r, abbreviate(expression, 80), err)
	}
	return v, nil
}

// Undefined passed as an argument to Connect, Post and the like becomes the
// JavaScript value undefined, where a Go nil becomes null.
var Undefined = undefinedArg{}

type undefinedArg struct{}

// callProbe calls the probe's method with args and returns its value as JSON.
func (r *Realm) callProbe(ctx context.Context, method string, args ...any) (json.RawMessage, error) {
	return r.callProbeFunc(ctx, "function (...args) { return this."+method+"(...args); }", "calling the probe's "+method, args...)
}

// callProbeFunc calls a JavaScript function (source) with the probe's control
// object as this, and returns its value as JSON.
func (r *Realm) callProbeFunc(ctx context.Context, decl, doing string, args ...any) (json.RawMessage, error) {
	ctx, cancel := r.b.bound(ctx)
	defer cancel()
	if err := r.alive(); err != nil {
		return nil, err
	}
	callArgs := make([]json.RawMessage, len(args))
	for i, a := range args {
		if _, ok := a.(undefinedArg); ok {
			continue // nil: undefined
		}
		v, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("in %s: %s: encoding argument %#v: %w", r, doing, a, err)
		}
		callArgs[i] = v
	}
	// The probe sends the call's events before the call returns, so they
	// are in the trace when Go has the answer (Chrome delivers a session's
	// events in order with its answers).
	value, exc, err := r.conn.callProbe(ctx, "function (...args) { try { return ("+decl+").apply(this, args); } finally { this.flush(); } }", callArgs)
	return r.result(value, exc, err, doing)
}

// flush makes the probe send the events it holds, before a fault takes the
// realm away. A realm already gone has nothing to send.
func (r *Realm) flush(ctx context.Context) {
	if c, ok := r.conn.(*ffRealm); ok {
		// Firefox answers an evaluation apart from the console messages
		// that carry the events: wait for a marker sent after them.
		if err := c.mark(ctx); err != nil && !r.Gone() {
			r.b.logf("%s: flushing the probe's events: %v", r, err)
		}
		return
	}
	if _, err := r.callProbeFunc(ctx, "function () {}", "flushing"); err != nil && !r.Gone() {
		r.b.logf("%s: flushing the probe's events: %v", r, err)
	}
}

func (r *Realm) alive() error {
	if r == nil || r.b == nil {
		return errors.New("no realm of a browser: the event or port was made by hand, or read back from a file")
	}
	if r.Kind == trace.NativeHostRealm {
		return fmt.Errorf("%s: a native host runs Go (its NativeHost.Serve), not JavaScript", r)
	}
	if r.conn == nil {
		return fmt.Errorf("%s: the engine gave the realm no connection", r)
	}
	if r.Gone() {
		if err := r.b.lost(); err != nil {
			return fmt.Errorf("%s: %w: %w", r, ErrRealmGone, err)
		}
		return fmt.Errorf("%s: %w: its context was destroyed (worker stopped, tab closed or navigated)", r, ErrRealmGone)
	}
	return nil
}

// result turns the answer of an evaluation into its JSON value or an error.
func (r *Realm) result(value json.RawMessage, exc string, err error, doing string) (json.RawMessage, error) {
	if err != nil {
		if lerr := r.b.lost(); lerr != nil {
			return nil, fmt.Errorf("in %s: %s: %w", r, doing, lerr)
		}
		if r.Gone() {
			return nil, fmt.Errorf("in %s: %s: %w", r, doing, ErrRealmGone)
		}
		return nil, fmt.Errorf("in %s: %s: %w", r, doing, err)
	}
	if exc != "" {
		return nil, &JSError{Realm: r, Text: exc}
	}
	return value, nil
}

// exceptionText returns "Name: message" for an exception.
func exceptionText(exc *runtime.ExceptionDetails) string {
	if exc.Exception != nil {
		if exc.Exception.Description != "" {
			// The description is the stack; its first line is "Name: message".
			first, _, _ := strings.Cut(exc.Exception.Description, "\n    at ")
			return first
		}
		if len(exc.Exception.Value) > 0 {
			return "Uncaught " + string(exc.Exception.Value)
		}
	}
	return exc.Text
}

// abbreviate cuts s to n bytes for an error message, saying how long it was.
func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
}

// realmOf returns the realm an event happened in, or nil when it is not a
// realm of a browser (a trace.Place).
func realmOf(s trace.Source) *Realm {
	r, _ := s.(*Realm)
	return r
}
