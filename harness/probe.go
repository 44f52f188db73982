package harness

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/debugger"
	"github.com/chromedp/cdproto/runtime"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/portprobe/portprobe/trace"
)

//go:embed probe.js
var probeSource string

// probeExpression is the expression that installs the probe; its value is the
// probe's control object.
func (b *Browser) probeExpression() string {
	return "(" + probeSource + ")(" + jsString(b.bindingName) + "," + jsString(b.probeSecret) + ")"
}

// addBindingParams adds the probe's binding to one execution context only.
// cdproto leaves out executionContextId, which Chrome still honors; a binding
// by context name would reach every world of that name.
type addBindingParams struct {
	Name               string                     `json:"name"`
	ExecutionContextID runtime.ExecutionContextID `json:"executionContextId,omitzero"`
}

var addBinding = cdp.Command[addBindingParams, cdp.Empty]{Method: runtime.CommandAddBinding}

// installProbeOnFrame installs the probe into the context of a paused call
// frame and returns the control object. userScript, when not nil, is set to
// whether the probe found itself in a user-script world (its chrome.runtime
// has no getURL), which it tells by its control object's class.
func (b *Browser) installProbeOnFrame(ctx context.Context, sess cdp.Session, contextID runtime.ExecutionContextID, frame debugger.CallFrameID, userScript *bool) (runtime.RemoteObjectID, error) {
	if _, err := callOn(ctx, sess, addBinding, addBindingParams{Name: b.bindingName, ExecutionContextID: contextID}); err != nil {
		return "", fmt.Errorf("adding the probe's binding: %w", err)
	}
	res, err := callOn(ctx, sess, debugger.EvaluateOnCallFrame, debugger.EvaluateOnCallFrameParams{
		CallFrameID: frame,
		Expression:  b.probeExpression(),
		Silent:      new(true),
	})
	if userScript != nil && res.Result != nil {
		*userScript = res.Result.ClassName == "PortprobeUserScriptControl"
	}
	return probeObject(res.Result, res.ExceptionDetails, err)
}

// installProbeInContext installs the probe into a running context (uniqueID
// empty: the target's only context, as in a worker).
func (b *Browser) installProbeInContext(ctx context.Context, sess cdp.Session, contextID runtime.ExecutionContextID, uniqueID string) (runtime.RemoteObjectID, error) {
	if _, err := callOn(ctx, sess, addBinding, addBindingParams{Name: b.bindingName, ExecutionContextID: contextID}); err != nil {
		return "", fmt.Errorf("adding the probe's binding: %w", err)
	}
	res, err := callOn(ctx, sess, runtime.Evaluate, runtime.EvaluateParams{
		Expression:      b.probeExpression(),
		UniqueContextID: uniqueID,
		Silent:          new(true),
	})
	return probeObject(res.Result, res.ExceptionDetails, err)
}

func probeObject(obj *runtime.RemoteObject, exc *runtime.ExceptionDetails, err error) (runtime.RemoteObjectID, error) {
	if err != nil {
		return "", fmt.Errorf("installing the probe: %w", err)
	}
	if exc != nil {
		return "", fmt.Errorf("installing the probe: %s", exceptionText(exc))
	}
	if obj == nil || obj.ObjectID == "" {
		return "", fmt.Errorf("installing the probe: it returned no control object")
	}
	return obj.ObjectID, nil
}

// probeEvent is what the probe sends through the binding.
type probeEvent struct {
	Kind      trace.Kind     `json:"k"`
	Port      int            `json:"p"`
	Time      float64        `json:"t"` // ms since the epoch, on the realm's clock
	Name      *string        `json:"n"`
	Sender    jsontext.Value `json:"s"` // absent: no sender
	Message   jsontext.Value `json:"m"` // absent: no message (undefined)
	LastError *string        `json:"le"`
	Call      string         `json:"call"`
	Error     string         `json:"error"`
	To        jsontext.Value `json:"to"` // absent: the own extension
	Listener  int            `json:"li"`
}

var knownKinds = map[trace.Kind]bool{
	trace.KindConnect: true, trace.KindOnConnect: true, trace.KindOnConnectExternal: true, trace.KindPost: true,
	trace.KindMessage: true, trace.KindDisconnect: true, trace.KindOnDisconnect: true, trace.KindException: true,
	trace.KindSendMessage: true, trace.KindResponse: true, trace.KindOnMessage: true, trace.KindOnMessageExternal: true,
	trace.KindReply: true, trace.KindKeepOpen: true, trace.KindOnUserScriptConnect: true, trace.KindOnUserScriptMessage: true,
}

// record adds the events that realm r's probe sent to the trace: a JSON
// array of events (the probe sends one array per task), or one event.
func (b *Browser) record(r *Realm, payload string) {
	// Only the probe knows the secret. A call without it comes from code of
	// the realm's own that took the binding before the probe hid it.
	text, ok := strings.CutPrefix(payload, b.probeSecret)
	if !ok || b.probeSecret == "" {
		b.logf("ignoring a call of the probe's binding in %s without the probe's secret (the realm's own code took the binding): %.200s", r, payload)
		return
	}
	if id, ok := strings.CutPrefix(text, "!"); ok {
		b.marked(id)
		return
	}
	b.recordText(r, text)
}

// recordText adds the events of a probe's batch (or one event) to the trace.
func (b *Browser) recordText(r *Realm, payload string) {
	// json/v2 decodes a flood of events several times faster than
	// encoding/json, and the decoding is most of what the harness spends
	// on a traced message.
	var batch []probeEvent
	if strings.HasPrefix(payload, "[") {
		if err := jsonv2.Unmarshal([]byte(payload), &batch); err != nil {
			b.logf("ignoring malformed probe events from %s: %.200s", r, payload)
			return
		}
	} else {
		var pe probeEvent
		if err := jsonv2.Unmarshal([]byte(payload), &pe); err != nil {
			b.logf("ignoring a malformed probe event from %s: %.200s", r, payload)
			return
		}
		batch = append(batch, pe)
	}
	t := b.traceFor(r)
	events := make([]trace.Event, 0, len(batch))
	for _, pe := range batch {
		if !knownKinds[pe.Kind] {
			b.logf("ignoring a probe event of unknown kind %q from %s", pe.Kind, r)
			continue
		}
		events = append(events, pe.event(r))
	}
	if t != nil {
		t.AddBatch(events)
	}
}

// event makes the trace's event of what the probe sent.
func (pe probeEvent) event(r *Realm) trace.Event {
	e := trace.Event{
		// Chrome's clocks give at best microseconds; rounding there keeps
		// float64 noise out of the times.
		At:       time.UnixMicro(int64(math.Round(pe.Time * 1000))),
		Realm:    r,
		Port:     pe.Port,
		Kind:     pe.Kind,
		Call:     pe.Call,
		Error:    pe.Error,
		Listener: pe.Listener,
	}
	if pe.To != nil {
		e.To = json.RawMessage(pe.To)
	}
	if pe.Name != nil {
		e.Name = *pe.Name
	}
	if pe.Sender != nil {
		e.Sender = json.RawMessage(pe.Sender)
	}
	if pe.Message != nil {
		e.Message = json.RawMessage(pe.Message)
	}
	if pe.LastError != nil {
		e.LastError = *pe.LastError
	}
	return e
}

// Port is a port that a realm holds, as the probe sees it.
type Port struct {
	// Realm holds the port.
	Realm *Realm
	// Handle is the realm's number for the port, from 1.
	Handle int
}

// String names the port as the trace does, such as "worker(mdn-example)#1".
func (p *Port) String() string { return fmt.Sprintf("%s#%d", p.Realm, p.Handle) }

// GomegaString keeps Gomega's failure messages short.
func (p *Port) GomegaString() string { return p.String() }

// Endpoint returns the port's realm and handle, for trace.Query.OnPort.
func (p *Port) Endpoint() (trace.Source, int) { return p.Realm, p.Handle }

// PortOf returns the port of an event, so Go can drive a port that a realm
// received: PortOf(onConnectEvent).Post(ctx, "reply"). The port of an event
// that is not from a realm of a browser (a trace.Place) fails every call.
func PortOf(e trace.Event) *Port {
	return &Port{Realm: realmOf(e.Realm), Handle: e.Port}
}

// Connect calls runtime.connect in the realm with args (each encoded as JSON;
// Undefined for undefined) and returns the port it returned:
//
//	port, err := cs.Connect(ctx, map[string]any{"name": "port-from-cs"})
//	port, err := page.Connect(ctx, otherID, map[string]any{"name": "x"})
//
// When connect throws, the error is a *JSError with Chrome's text, and the
// trace has the exception.
func (r *Realm) Connect(ctx context.Context, args ...any) (*Port, error) {
	return r.connect(ctx, "connect", args)
}

// ConnectJS calls runtime.connect in the realm with arguments written in
// JavaScript, for values JSON cannot give: ConnectJS(ctx, `{name: 42}`),
// ConnectJS(ctx, `undefined, {name: "x"}`), ConnectJS(ctx, “) for no argument.
func (r *Realm) ConnectJS(ctx context.Context, args string) (*Port, error) {
	raw, err := r.callProbeFunc(ctx, "function () { return this.connect("+args+"); }", "calling runtime.connect("+abbreviate(args, 60)+")")
	return r.portFrom(raw, err, "connect")
}

// ConnectTab calls tabs.connect(tabID, args...) in the realm.
func (r *Realm) ConnectTab(ctx context.Context, tabID int, args ...any) (*Port, error) {
	return r.connect(ctx, "tabsConnect", append([]any{tabID}, args...))
}

func (r *Realm) connect(ctx context.Context, method string, args []any) (*Port, error) {
	raw, err := r.callProbe(ctx, method, args...)
	return r.portFrom(raw, err, method)
}

func (r *Realm) portFrom(raw json.RawMessage, err error, method string) (*Port, error) {
	if err != nil {
		return nil, err
	}
	var h int
	if err := json.Unmarshal(raw, &h); err != nil || h == 0 {
		return nil, fmt.Errorf("in %s: %s returned no port (%s)", r, method, raw)
	}
	return &Port{Realm: r, Handle: h}, nil
}

// ListenConnect adds a runtime.onConnect listener (kind "onConnect") or a
// runtime.onConnectExternal listener ("onConnectExternal") in the realm, so
// the realm receives connections. The probe traces each one.
func (r *Realm) ListenConnect(ctx context.Context, kind trace.Kind) error {
	if kind != trace.KindOnConnect && kind != trace.KindOnConnectExternal && kind != trace.KindOnUserScriptConnect {
		return fmt.Errorf("in %s: ListenConnect(%q): want %q, %q or %q", r, kind, trace.KindOnConnect, trace.KindOnConnectExternal, trace.KindOnUserScriptConnect)
	}
	_, err := r.callProbe(ctx, "listen", string(kind))
	return err
}

// Post calls port.postMessage(message) in the port's realm. An exception
// (such as a disconnected port) becomes a *JSError.
func (p *Port) Post(ctx context.Context, message any) error {
	_, err := p.Realm.callProbe(ctx, "post", p.Handle, message)
	return err
}

// PostJS calls port.postMessage with a message written in JavaScript, for
// values JSON cannot give: PostJS(ctx, `new Map([[1, 2]])`), PostJS(ctx, “)
// for no argument.
func (p *Port) PostJS(ctx context.Context, message string) error {
	_, err := p.Realm.callProbeFunc(ctx, "function (h) { this.port(h).postMessage("+message+"); }",
		"calling postMessage("+abbreviate(message, 60)+")", p.Handle)
	return err
}

// Disconnect calls port.disconnect() in the port's realm.
func (p *Port) Disconnect(ctx context.Context) error {
	_, err := p.Realm.callProbe(ctx, "disconnect", p.Handle)
	return err
}

// findProbe finds the control object of a probe installed earlier in a
// context whose handles were lost (a page restored from the back/forward
// cache): the probe keeps it in a private field of the global object, which
// only DevTools can read.
func (b *Browser) findProbe(ctx context.Context, sess cdp.Session, contextID runtime.ExecutionContextID, uniqueID string) (runtime.RemoteObjectID, error) {
	// Chrome forgot the binding when it cleared the contexts; the probe
	// still holds the old binding function, which reports again once the
	// binding is added back. The new function on the global goes at once.
	if _, err := callOn(ctx, sess, addBinding, addBindingParams{Name: b.bindingName, ExecutionContextID: contextID}); err != nil {
		return "", fmt.Errorf("adding the probe's binding again: %w", err)
	}
	if _, err := callOn(ctx, sess, runtime.Evaluate, runtime.EvaluateParams{
		Expression:      "delete globalThis[" + jsString(b.bindingName) + "]",
		UniqueContextID: uniqueID,
		Silent:          new(true),
	}); err != nil {
		return "", fmt.Errorf("hiding the probe's binding again: %w", err)
	}
	global, err := callOn(ctx, sess, runtime.Evaluate, runtime.EvaluateParams{
		Expression:      "globalThis",
		UniqueContextID: uniqueID,
		Silent:          new(true),
	})
	if err != nil {
		return "", fmt.Errorf("finding the probe: %w", err)
	}
	if global.Result == nil || global.Result.ObjectID == "" {
		return "", fmt.Errorf("finding the probe: no global object")
	}
	props, err := callOn(ctx, sess, runtime.GetProperties, runtime.GetPropertiesParams{ObjectID: global.Result.ObjectID, OwnProperties: new(true)})
	if err != nil {
		return "", fmt.Errorf("finding the probe: %w", err)
	}
	for _, p := range props.PrivateProperties {
		if p.Name == "#portprobeControl" && p.Value != nil && p.Value.ObjectID != "" {
			return p.Value.ObjectID, nil
		}
	}
	return "", fmt.Errorf("finding the probe: the global object has no probe")
}

// marks are the probes' markers that Realm.flush waits for, by ID.
type marks struct {
	mu      sync.Mutex // guards waiting; never held across a call
	waiting map[string]chan struct{}
}

// waitMark returns a channel closed when the marker id comes back.
func (b *Browser) waitMark(id string) <-chan struct{} {
	b.marks.mu.Lock()
	defer b.marks.mu.Unlock()
	if b.marks.waiting == nil {
		b.marks.waiting = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	b.marks.waiting[id] = ch
	return ch
}

// forgetMark stops waiting for the marker id.
func (b *Browser) forgetMark(id string) {
	b.marks.mu.Lock()
	defer b.marks.mu.Unlock()
	delete(b.marks.waiting, id)
}

// marked takes a marker that a probe sent.
func (b *Browser) marked(id string) {
	b.marks.mu.Lock()
	defer b.marks.mu.Unlock()
	if ch, ok := b.marks.waiting[id]; ok {
		close(ch)
		delete(b.marks.waiting, id)
	}
}
