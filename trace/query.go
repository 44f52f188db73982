package trace

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/portprobe/portprobe/internal/jsonx"
)

// Query describes the port events a spec expects. Build one from a kind
// (OnConnect, Message, ...) and narrow it with methods that read like the
// behavior: OnConnect().In(worker).Named("port-from-cs"). The zero parts match
// anything. Each method returns a new query, so a query can be shared.
//
// The methods that test a field against a value (Named, WithMessage,
// WithField, WithSender, To, WithLastError, WithError) also take a Matcher,
// such as a Gomega matcher: WithSender("frameId", Not(BeZero())).
type Query struct {
	kinds []Kind
	parts []queryPart
}

type queryPart struct {
	desc  string
	match func(Event) bool
}

func kindQuery(kinds ...Kind) *Query { return &Query{kinds: kinds} }

// AnyEvent matches every event.
func AnyEvent() *Query { return kindQuery() }

// Connect matches a port returned by runtime.connect or tabs.connect.
func Connect() *Query { return kindQuery(KindConnect) }

// OnConnect matches runtime.onConnect firing.
func OnConnect() *Query { return kindQuery(KindOnConnect) }

// OnConnectExternal matches runtime.onConnectExternal firing.
func OnConnectExternal() *Query { return kindQuery(KindOnConnectExternal) }

// Post matches a postMessage call that returned.
func Post() *Query { return kindQuery(KindPost) }

// Message matches port.onMessage firing.
func Message() *Query { return kindQuery(KindMessage) }

// Disconnect matches a disconnect() call that returned.
func Disconnect() *Query { return kindQuery(KindDisconnect) }

// OnDisconnect matches port.onDisconnect firing.
func OnDisconnect() *Query { return kindQuery(KindOnDisconnect) }

// Exception matches a port call that threw.
func Exception() *Query { return kindQuery(KindException) }

// SendMessage matches a runtime.sendMessage or tabs.sendMessage call that
// returned.
func SendMessage() *Query { return kindQuery(KindSendMessage) }

// Response matches a sender getting the response to its message, or its
// error (narrow with WithError).
func Response() *Query { return kindQuery(KindResponse) }

// OnMessage matches runtime.onMessage firing.
func OnMessage() *Query { return kindQuery(KindOnMessage) }

// OnMessageExternal matches runtime.onMessageExternal firing.
func OnMessageExternal() *Query { return kindQuery(KindOnMessageExternal) }

// OnUserScriptMessage matches runtime.onUserScriptMessage firing.
func OnUserScriptMessage() *Query { return kindQuery(KindOnUserScriptMessage) }

// OnUserScriptConnect matches runtime.onUserScriptConnect firing.
func OnUserScriptConnect() *Query { return kindQuery(KindOnUserScriptConnect) }

// Reply matches a message listener answering (sendResponse, or the
// promise it returned settling).
func Reply() *Query { return kindQuery(KindReply) }

// KeepOpen matches a message listener returning true or a promise.
func KeepOpen() *Query { return kindQuery(KindKeepOpen) }

// Via narrows the query to events whose Call is call: "runtime.sendMessage"
// or "tabs.sendMessage" for sendMessage, "callback" or "promise" for a
// response, "sendResponse" or "promise" for a reply, "true" or "promise"
// for keepOpen.
func (q *Query) Via(call string) *Query {
	return q.with("via "+call, func(e Event) bool { return e.Call == call })
}

// ByListener narrows the query to events of message listener n (from 1, in
// the order the realm added them).
func (q *Query) ByListener(n int) *Query {
	return q.with(fmt.Sprintf("by listener %d", n), func(e Event) bool { return e.Listener == n })
}

// WithoutError narrows the query to events with no error: a response that
// carried a value.
func (q *Query) WithoutError() *Query {
	return q.with("without error", func(e Event) bool { return e.Error == "" })
}

// To narrows the query to sendMessage events whose target (Event.To) has v
// at path, such as To("tabId", 3) or To("options.frameId", 0). v may be a
// Matcher: To("tabId", BeNumerically(">", 0)).
func (q *Query) To(path string, v any) *Query {
	desc, match := jsonPart(fmt.Sprintf("To(%q, ", path), v, "=")
	return q.with("to "+path+desc, func(e Event) bool {
		got, ok := jsonx.At(e.To, path)
		return ok && match(got)
	})
}

func (q *Query) with(desc string, match func(Event) bool) *Query {
	n := &Query{kinds: q.kinds, parts: append(append([]queryPart(nil), q.parts...), queryPart{desc, match})}
	return n
}

// In narrows the query to events of realm r.
func (q *Query) In(r Source) *Query {
	return q.with("in "+r.String(), func(e Event) bool { return e.Realm == r })
}

// Named narrows the query to ports named name, a string or a Matcher of
// the name: Named("port-from-cs"), Named(HavePrefix("port-")).
func (q *Query) Named(name any) *Query {
	if m, ok := name.(Matcher); ok {
		match := matchValue(m)
		return q.with("with name matching "+describeMatcher(m), func(e Event) bool { return match(e.Name) })
	}
	s := textArg("Named", name)
	return q.with(fmt.Sprintf("named %q", s), func(e Event) bool { return e.Name == s })
}

// OnPort narrows the query to events of port p.
func (q *Query) OnPort(p Endpoint) *Query {
	r, handle := p.Endpoint()
	return q.with(fmt.Sprintf("on %s#%d", r, handle), func(e Event) bool { return e.Realm == r && e.Port == handle })
}

// WithMessage narrows the query to messages equal to v once both are JSON:
// WithMessage(map[string]any{"greeting": "hi"}) matches {"greeting":"hi"}.
// v may be a Matcher, given the message as JSON decodes into Go:
// WithMessage(HaveKeyWithValue("greeting", "hi")).
func (q *Query) WithMessage(v any) *Query {
	desc, match := jsonPart("WithMessage(", v, " ")
	return q.with("with message"+desc, func(e Event) bool {
		return len(e.Message) > 0 && match(e.Message)
	})
}

// WithField narrows the query to messages whose top-level field key equals v
// once both are JSON: WithField("greeting", "hi") matches {"greeting":"hi",...}.
// v may be a Matcher of the field, which must be there:
// WithField("greeting", ContainSubstring("hi")).
func (q *Query) WithField(key string, v any) *Query {
	desc, match := jsonPart(fmt.Sprintf("WithField(%q, ", key), v, "=")
	return q.with("with "+key+desc, func(e Event) bool {
		var m map[string]json.RawMessage
		if json.Unmarshal(e.Message, &m) != nil {
			return false
		}
		got, ok := m[key]
		return ok && match(got)
	})
}

// WithSender narrows the query to onConnect events whose port.sender has v at
// path, a dotted path of fields: WithSender("tab.url", url), WithSender("frameId", 0).
// v may be a Matcher of the field, which must be there:
// WithSender("frameId", Not(BeZero())).
func (q *Query) WithSender(path string, v any) *Query {
	desc, match := jsonPart(fmt.Sprintf("WithSender(%q, ", path), v, "=")
	return q.with("with sender."+path+desc, func(e Event) bool {
		got, ok := jsonx.At(e.Sender, path)
		return ok && match(got)
	})
}

// WithoutSender narrows the query to events whose port.sender has nothing at
// path (the field is absent).
func (q *Query) WithoutSender(path string) *Query {
	return q.with(fmt.Sprintf("without sender.%s", path), func(e Event) bool {
		_, ok := jsonx.At(e.Sender, path)
		return !ok
	})
}

// WithLastError narrows the query to onDisconnect events whose
// runtime.lastError.message is text, a string or a Matcher of the message
// (which is set): WithLastError(ContainSubstring("Receiving end")).
func (q *Query) WithLastError(text any) *Query {
	if m, ok := text.(Matcher); ok {
		match := matchValue(m)
		return q.with("with lastError matching "+describeMatcher(m), func(e Event) bool {
			return e.Kind == KindOnDisconnect && e.LastError != "" && match(e.LastError)
		})
	}
	s := textArg("WithLastError", text)
	return q.with(fmt.Sprintf("with lastError %q", s), func(e Event) bool { return e.Kind == KindOnDisconnect && e.LastError == s })
}

// WithoutLastError narrows the query to onDisconnect events with no
// runtime.lastError.
func (q *Query) WithoutLastError() *Query {
	return q.with("without lastError", func(e Event) bool { return e.Kind == KindOnDisconnect && e.LastError == "" })
}

// WithError narrows the query to events whose error (Event.Error) contains
// text, or, when text is a Matcher, to events with an error that it matches:
// WithError(MatchRegexp("^TypeError: ")).
func (q *Query) WithError(text any) *Query {
	if m, ok := text.(Matcher); ok {
		match := matchValue(m)
		return q.with("with error matching "+describeMatcher(m), func(e Event) bool { return e.Error != "" && match(e.Error) })
	}
	s := textArg("WithError", text)
	return q.with(fmt.Sprintf("with error containing %q", s), func(e Event) bool { return strings.Contains(e.Error, s) })
}

// Where narrows the query with any test; desc says what it checks.
func (q *Query) Where(desc string, match func(Event) bool) *Query {
	return q.with(desc, match)
}

// Match reports whether e matches every part of the query.
func (q *Query) Match(e Event) bool { return q.matchPtr(&e) }

// matchPtr is Match without a copy of the event for the test of its kind,
// which rules out most events of a trace.
func (q *Query) matchPtr(e *Event) bool {
	if len(q.kinds) > 0 && !slices.Contains(q.kinds, e.Kind) {
		return false
	}
	for _, p := range q.parts {
		if !p.match(*e) {
			return false
		}
	}
	return true
}

// score counts the parts of the query that e matches, the kind counting
// double; the matchers use it to show the closest events.
func (q *Query) score(e Event) int {
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
func (q *Query) String() string {
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

// GomegaString is String, for Gomega's failure messages.
func (q *Query) GomegaString() string { return q.String() }

// Closest returns up to n of events that match the most parts of q, best
// first, and none that match nothing: what a failure message shows when no
// event matches.
func (q *Query) Closest(events []Event, n int) []Event {
	type scored struct {
		e Event
		s int
	}
	var all []scored
	for _, e := range events {
		if s := q.score(e); s > 0 {
			all = append(all, scored{e, s})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].s > all[j].s })
	var out []Event
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, all[i].e)
	}
	return out
}
