package harness

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// EventQuery describes the port events a spec expects. Build one from a kind
// (OnConnect, Received, ...) and narrow it with methods that read like the
// behavior: OnConnect().In(worker).Named("port-from-cs"). The zero parts match
// anything. Each method returns a new query, so a query can be shared.
type EventQuery struct {
	kinds []EventKind
	parts []queryPart
}

type queryPart struct {
	desc  string
	match func(Event) bool
}

func kindQuery(kinds ...EventKind) *EventQuery { return &EventQuery{kinds: kinds} }

// AnyEvent matches every event.
func AnyEvent() *EventQuery { return kindQuery() }

// Connected matches a port returned by runtime.connect or tabs.connect.
func Connected() *EventQuery { return kindQuery(KindConnect) }

// OnConnect matches runtime.onConnect firing.
func OnConnect() *EventQuery { return kindQuery(KindOnConnect) }

// OnConnectExternal matches runtime.onConnectExternal firing.
func OnConnectExternal() *EventQuery { return kindQuery(KindOnConnectExternal) }

// Posted matches a postMessage call that returned.
func Posted() *EventQuery { return kindQuery(KindPost) }

// Received matches port.onMessage firing.
func Received() *EventQuery { return kindQuery(KindMessage) }

// Disconnected matches a disconnect() call that returned.
func Disconnected() *EventQuery { return kindQuery(KindDisconnect) }

// OnDisconnect matches port.onDisconnect firing.
func OnDisconnect() *EventQuery { return kindQuery(KindOnDisconnect) }

// Threw matches a port call that threw.
func Threw() *EventQuery { return kindQuery(KindException) }

// SentMessage matches a runtime.sendMessage or tabs.sendMessage call that
// returned.
func SentMessage() *EventQuery { return kindQuery(KindSendMessage) }

// Responded matches a sender getting the response to its message, or its
// error (narrow with WithError).
func Responded() *EventQuery { return kindQuery(KindResponse) }

// OnMessage matches runtime.onMessage firing.
func OnMessage() *EventQuery { return kindQuery(KindOnMessage) }

// OnMessageExternal matches runtime.onMessageExternal firing.
func OnMessageExternal() *EventQuery { return kindQuery(KindOnMessageExternal) }

// OnUserScriptMessage matches runtime.onUserScriptMessage firing.
func OnUserScriptMessage() *EventQuery { return kindQuery(KindOnUserScriptMessage) }

// OnUserScriptConnect matches runtime.onUserScriptConnect firing.
func OnUserScriptConnect() *EventQuery { return kindQuery(KindOnUserScriptConnect) }

// Replied matches a message listener answering (sendResponse, or the
// promise it returned settling).
func Replied() *EventQuery { return kindQuery(KindReply) }

// KeptOpen matches a message listener returning true or a promise.
func KeptOpen() *EventQuery { return kindQuery(KindKeepOpen) }

// Via narrows the query to events whose Call is call: "runtime.sendMessage"
// or "tabs.sendMessage" for sendMessage, "callback" or "promise" for a
// response, "sendResponse" or "promise" for a reply, "true" or "promise"
// for keepOpen.
func (q *EventQuery) Via(call string) *EventQuery {
	return q.with("via "+call, func(e Event) bool { return e.Call == call })
}

// ByListener narrows the query to events of message listener n (from 1, in
// the order the realm added them).
func (q *EventQuery) ByListener(n int) *EventQuery {
	return q.with(fmt.Sprintf("by listener %d", n), func(e Event) bool { return e.Listener == n })
}

// WithoutError narrows the query to events with no error: a response that
// carried a value.
func (q *EventQuery) WithoutError() *EventQuery {
	return q.with("without error", func(e Event) bool { return e.Error == "" })
}

// To narrows the query to sendMessage events whose target (Event.To) has v
// at path, such as To("tabId", 3) or To("options.frameId", 0).
func (q *EventQuery) To(path string, v any) *EventQuery {
	want, err := json.Marshal(v)
	return q.with(fmt.Sprintf("to %s=%s", path, want), func(e Event) bool {
		got, ok := jsonAt(e.To, path)
		return err == nil && ok && jsonEqual(got, want)
	})
}

func (q *EventQuery) with(desc string, match func(Event) bool) *EventQuery {
	n := &EventQuery{kinds: q.kinds, parts: append(append([]queryPart(nil), q.parts...), queryPart{desc, match})}
	return n
}

// In narrows the query to events of realm r.
func (q *EventQuery) In(r *Realm) *EventQuery {
	return q.with("in "+r.String(), func(e Event) bool { return e.Realm == r })
}

// Named narrows the query to ports named name.
func (q *EventQuery) Named(name string) *EventQuery {
	return q.with(fmt.Sprintf("named %q", name), func(e Event) bool { return e.Name == name })
}

// OnPort narrows the query to events of port p.
func (q *EventQuery) OnPort(p *Port) *EventQuery {
	return q.with("on "+p.String(), func(e Event) bool { return e.Realm == p.Realm && e.Port == p.Handle })
}

// WithMessage narrows the query to messages equal to v once both are JSON:
// WithMessage(map[string]any{"greeting": "hi"}) matches {"greeting":"hi"}.
func (q *EventQuery) WithMessage(v any) *EventQuery {
	want, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("harness: WithMessage(%#v): %v", v, err))
	}
	return q.with("with message "+string(want), func(e Event) bool {
		return len(e.Message) > 0 && jsonEqual(e.Message, want)
	})
}

// WithField narrows the query to messages whose top-level field key equals v
// once both are JSON: WithField("greeting", "hi") matches {"greeting":"hi",...}.
func (q *EventQuery) WithField(key string, v any) *EventQuery {
	want, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("harness: WithField(%q, %#v): %v", key, v, err))
	}
	return q.with(fmt.Sprintf("with %s=%s", key, want), func(e Event) bool {
		var m map[string]json.RawMessage
		if json.Unmarshal(e.Message, &m) != nil {
			return false
		}
		got, ok := m[key]
		return ok && jsonEqual(got, want)
	})
}

// WithSender narrows the query to onConnect events whose port.sender has v at
// path, a dotted path of fields: WithSender("tab.url", url), WithSender("frameId", 0).
func (q *EventQuery) WithSender(path string, v any) *EventQuery {
	want, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("harness: WithSender(%q, %#v): %v", path, v, err))
	}
	return q.with(fmt.Sprintf("with sender.%s=%s", path, want), func(e Event) bool {
		got, ok := jsonAt(e.Sender, path)
		return ok && jsonEqual(got, want)
	})
}

// WithoutSender narrows the query to events whose port.sender has nothing at
// path (the field is absent).
func (q *EventQuery) WithoutSender(path string) *EventQuery {
	return q.with(fmt.Sprintf("without sender.%s", path), func(e Event) bool {
		_, ok := jsonAt(e.Sender, path)
		return !ok
	})
}

// jsonAt returns the JSON at a dotted path of object fields in doc.
func jsonAt(doc json.RawMessage, path string) (json.RawMessage, bool) {
	cur := doc
	for _, key := range strings.Split(path, ".") {
		var m map[string]json.RawMessage
		if json.Unmarshal(cur, &m) != nil {
			return nil, false
		}
		next, ok := m[key]
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// WithLastError narrows the query to onDisconnect events whose
// runtime.lastError.message is text.
func (q *EventQuery) WithLastError(text string) *EventQuery {
	return q.with(fmt.Sprintf("with lastError %q", text), func(e Event) bool { return e.Kind == KindOnDisconnect && e.LastError == text })
}

// WithoutLastError narrows the query to onDisconnect events with no
// runtime.lastError.
func (q *EventQuery) WithoutLastError() *EventQuery {
	return q.with("without lastError", func(e Event) bool { return e.Kind == KindOnDisconnect && e.LastError == "" })
}

// WithError narrows the query to exceptions whose text contains text.
func (q *EventQuery) WithError(text string) *EventQuery {
	return q.with(fmt.Sprintf("with error containing %q", text), func(e Event) bool { return strings.Contains(e.Error, text) })
}

// Where narrows the query with any test; desc says what it checks.
func (q *EventQuery) Where(desc string, match func(Event) bool) *EventQuery {
	return q.with(desc, match)
}

// Match reports whether e matches every part of the query.
func (q *EventQuery) Match(e Event) bool {
	if len(q.kinds) > 0 {
		ok := false
		for _, k := range q.kinds {
			ok = ok || e.Kind == k
		}
		if !ok {
			return false
		}
	}
	for _, p := range q.parts {
		if !p.match(e) {
			return false
		}
	}
	return true
}

// score counts the parts of the query that e matches, the kind counting
// double; the matchers use it to show the closest events.
func (q *EventQuery) score(e Event) int {
	n := 0
	if len(q.kinds) == 0 {
		n += 2
	}
	for _, k := range q.kinds {
		if e.Kind == k {
			n += 2
		}
	}
	for _, p := range q.parts {
		if p.match(e) {
			n++
		}
	}
	return n
}

// String describes the query, such as `onConnect in worker(mdn) named "x"`.
func (q *EventQuery) String() string {
	var b strings.Builder
	if len(q.kinds) == 0 {
		b.WriteString("any event")
	}
	for i, k := range q.kinds {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(string(k))
	}
	for _, p := range q.parts {
		b.WriteByte(' ')
		b.WriteString(p.desc)
	}
	return b.String()
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
