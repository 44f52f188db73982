package harness

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/portprobe/portprobe/trace"
)

// SendMessage calls runtime.sendMessage(args...) in the realm (each argument
// encoded as JSON; Undefined for undefined), waits for the response and
// returns it as JSON (nil when it is undefined):
//
//	resp, err := cs.SendMessage(ctx, map[string]any{"greeting": "hi"})
//	resp, err := page.SendMessage(ctx, otherID, "ping")
//
// The call is the realm's own, promise form, so the trace has its
// sendMessage and response events. When the sender gets an error (no
// receiver, the channel closed before a response), the error is a *JSError
// whose Text is Chrome's, such as "Error: Could not establish connection.
// Receiving end does not exist.".
func (r *Realm) SendMessage(ctx context.Context, args ...any) (json.RawMessage, error) {
	return r.callProbe(ctx, "sendMessage", args...)
}

// SendMessageJS calls runtime.sendMessage with arguments written in
// JavaScript, for what JSON cannot give (a callback, undefined in a list):
// SendMessageJS(ctx, `"hi", (r) => globalThis.got = r`). It returns what the
// call returned: the response for the promise form, nil with a callback.
func (r *Realm) SendMessageJS(ctx context.Context, args string) (json.RawMessage, error) {
	return r.callProbeFunc(ctx, "function () { return this.sendMessage("+args+"); }", "calling runtime.sendMessage("+abbreviate(args, 60)+")")
}

// SendTabMessage calls tabs.sendMessage(tabID, message, options...) in the
// realm and returns the response as SendMessage does. options is at most one
// object, such as map[string]any{"frameId": 0} or {"documentId": id}.
func (r *Realm) SendTabMessage(ctx context.Context, tabID int, message any, options ...any) (json.RawMessage, error) {
	if len(options) > 1 {
		return nil, fmt.Errorf("in %s: SendTabMessage: want at most one options object, got %d", r, len(options))
	}
	return r.callProbe(ctx, "tabsSendMessage", append([]any{tabID, message}, options...)...)
}

// ListenMessages adds a runtime.onMessage listener (kind KindOnMessage) or a
// runtime.onMessageExternal listener (KindOnMessageExternal) to the realm,
// whose answers Go decides: it keeps each message's channel open (it returns
// true), and ReplyTo(event).Send answers. Until then the sender waits, as it
// would for a listener that answers later.
func (r *Realm) ListenMessages(ctx context.Context, kind trace.Kind) error {
	if kind != trace.KindOnMessage && kind != trace.KindOnMessageExternal && kind != trace.KindOnUserScriptMessage {
		return fmt.Errorf("in %s: ListenMessages(%q): want %q, %q or %q", r, kind, trace.KindOnMessage, trace.KindOnMessageExternal, trace.KindOnUserScriptMessage)
	}
	_, err := r.callProbe(ctx, "listenMessages", string(kind))
	return err
}

// Responder answers one message that a realm received, through the listener of
// ListenMessages.
type Responder struct {
	// Realm received the message.
	Realm *Realm
	// Handle is the realm's number for the message (Event.Port).
	Handle int
}

// ReplyTo returns the answer to the message of an onMessage or
// onMessageExternal event.
func ReplyTo(e trace.Event) *Responder { return &Responder{Realm: realmOf(e.Realm), Handle: e.Port} }

// String names the message the responder answers, such as
// "the reply to worker(mdn-example)#3".
func (rp *Responder) String() string { return fmt.Sprintf("the reply to %s#%d", rp.Realm, rp.Handle) }

// GomegaString keeps Gomega's failure messages short.
func (rp *Responder) GomegaString() string { return rp.String() }

// Send calls sendResponse(response) for the message: the first answer to a
// message reaches its sender, later ones are ignored (Chrome's rule). The
// trace has it as a reply event. A message that ListenMessages did not see
// in that realm, or that was answered from Go already, is an error.
func (rp *Responder) Send(ctx context.Context, response any) error {
	_, err := rp.Realm.callProbe(ctx, "reply", rp.Handle, response)
	return err
}
