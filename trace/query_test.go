package trace

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	g "github.com/onsi/gomega"
)

func TestQueryKinds(t *testing.T) {
	tests := []struct {
		name string
		q    *Query
		kind Kind // "" for any
	}{
		{"AnyEvent", AnyEvent(), ""},
		{"Connected", Connect(), KindConnect},
		{"OnConnect", OnConnect(), KindOnConnect},
		{"OnConnectExternal", OnConnectExternal(), KindOnConnectExternal},
		{"Posted", Post(), KindPost},
		{"Received", Message(), KindMessage},
		{"Disconnected", Disconnect(), KindDisconnect},
		{"OnDisconnect", OnDisconnect(), KindOnDisconnect},
		{"Threw", Exception(), KindException},
	}
	all := []Kind{KindConnect, KindOnConnect, KindOnConnectExternal, KindPost, KindMessage, KindDisconnect, KindOnDisconnect, KindException, "other"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range all {
				want := tt.kind == "" || k == tt.kind
				if got := tt.q.Match(Event{Kind: k}); got != want {
					t.Errorf("%s.Match(kind %s) = %v, want %v", tt.name, k, got, want)
				}
			}
			wantString := string(tt.kind)
			if tt.kind == "" {
				wantString = "any event"
			}
			if got := tt.q.String(); got != wantString {
				t.Errorf("String() = %q, want %q", got, wantString)
			}
		})
	}
}

func TestQueryNarrowing(t *testing.T) {
	w := newPlace(WorkerRealm, testExtID)
	cs := newPlace(ContentScriptRealm, otherExtID)
	sender := json.RawMessage(`{"id":"` + otherExtID + `","url":"https://example.com/page","frameId":0,"documentLifecycle":"active","tab":{"id":5,"url":"https://example.com/","active":true,"mutedInfo":{"muted":false}}}`)

	tests := []struct {
		name  string
		q     *Query
		e     Event
		match bool
	}{
		// In
		{"In same realm", AnyEvent().In(w), Event{Realm: w}, true},
		{"In other realm", AnyEvent().In(w), Event{Realm: cs}, false},
		{"In other realm of same ID", AnyEvent().In(w), Event{Realm: newPlace(WorkerRealm, testExtID)}, false},
		{"In no realm", AnyEvent().In(w), Event{}, false},
		// Named
		{"Named", OnConnect().Named("x"), Event{Kind: KindOnConnect, Name: "x"}, true},
		{"Named other", OnConnect().Named("x"), Event{Kind: KindOnConnect, Name: "y"}, false},
		{"Named empty", OnConnect().Named(""), Event{Kind: KindOnConnect}, true},
		{"Named right, kind wrong", OnConnect().Named("x"), Event{Kind: KindConnect, Name: "x"}, false},
		// OnPort
		{"OnPort", AnyEvent().OnPort(Event{Realm: w, Port: 2}), Event{Realm: w, Port: 2}, true},
		{"OnPort other handle", AnyEvent().OnPort(Event{Realm: w, Port: 2}), Event{Realm: w, Port: 1}, false},
		{"OnPort other realm", AnyEvent().OnPort(Event{Realm: w, Port: 2}), Event{Realm: cs, Port: 2}, false},
		// WithMessage
		{"WithMessage map", Message().WithMessage(map[string]any{"greeting": "hi"}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"hi"}`)}, true},
		{"WithMessage key order", Message().WithMessage(map[string]any{"a": 1, "b": []int{1, 2}}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{ "b": [1, 2.0], "a": 1.0 }`)}, true},
		{"WithMessage number formats", Post().WithMessage(100),
			Event{Kind: KindPost, Message: json.RawMessage(`1e2`)}, true},
		{"WithMessage struct", Message().WithMessage(struct {
			Greeting string `json:"greeting"`
		}{"hi"}), Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"hi"}`)}, true},
		{"WithMessage raw JSON", Message().WithMessage(json.RawMessage(`{"x":[true,null]}`)),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"x":[true,null]}`)}, true},
		{"WithMessage extra field", Message().WithMessage(map[string]any{"greeting": "hi"}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"hi","x":1}`)}, false},
		{"WithMessage other value", Message().WithMessage(map[string]any{"greeting": "hi"}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"ho"}`)}, false},
		{"WithMessage string vs number", Message().WithMessage("1"),
			Event{Kind: KindMessage, Message: json.RawMessage(`1`)}, false},
		{"WithMessage null", Message().WithMessage(nil),
			Event{Kind: KindMessage, Message: json.RawMessage(`null`)}, true},
		{"WithMessage null, no message", Message().WithMessage(nil), Event{Kind: KindMessage}, false},
		{"WithMessage bad JSON in event", Message().WithMessage("x"),
			Event{Kind: KindMessage, Message: json.RawMessage(`{`)}, false},
		// WithField
		{"WithField", Message().WithField("greeting", "hi"),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"hi","other":[1]}`)}, true},
		{"WithField number", Message().WithField("n", 3),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"n":3.0}`)}, true},
		{"WithField object", Message().WithField("o", map[string]any{"b": 2, "a": 1}),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"o":{"a":1,"b":2}}`)}, true},
		{"WithField other value", Message().WithField("greeting", "hi"),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"ho"}`)}, false},
		{"WithField absent", Message().WithField("greeting", "hi"),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"other":"hi"}`)}, false},
		{"WithField null vs absent", Message().WithField("greeting", nil),
			Event{Kind: KindMessage, Message: json.RawMessage(`{}`)}, false},
		{"WithField null", Message().WithField("greeting", nil),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":null}`)}, true},
		{"WithField not an object", Message().WithField("greeting", "hi"),
			Event{Kind: KindMessage, Message: json.RawMessage(`"hi"`)}, false},
		{"WithField is not a path", Message().WithField("a.b", 1),
			Event{Kind: KindMessage, Message: json.RawMessage(`{"a":{"b":1}}`)}, false},
		{"WithField no message", Message().WithField("greeting", "hi"), Event{Kind: KindMessage}, false},
		// WithSender
		{"WithSender tab.url", OnConnect().WithSender("tab.url", "https://example.com/"),
			Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender frameId 0", OnConnect().WithSender("frameId", 0), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender frameId 1", OnConnect().WithSender("frameId", 1), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender tab.id", OnConnect().WithSender("tab.id", 5), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender deep", OnConnect().WithSender("tab.mutedInfo.muted", false), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender object", OnConnect().WithSender("tab.mutedInfo", map[string]bool{"muted": false}),
			Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender top level", OnConnect().WithSender("id", otherExtID), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender other url", OnConnect().WithSender("tab.url", "https://example.org/"),
			Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender absent", OnConnect().WithSender("origin", "https://example.com"),
			Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender through a string", OnConnect().WithSender("url.x", 1), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender no sender", OnConnect().WithSender("frameId", 0), Event{Kind: KindOnConnect}, false},
		{"WithSender null tab", OnConnect().WithSender("tab.url", "u"),
			Event{Kind: KindOnConnect, Sender: json.RawMessage(`{"tab":null}`)}, false},
		// WithoutSender
		{"WithoutSender absent", OnConnect().WithoutSender("origin"), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithoutSender present", OnConnect().WithoutSender("tab"), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithoutSender present, dotted", OnConnect().WithoutSender("tab.url"), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithoutSender absent, dotted", OnConnect().WithoutSender("tab.favIconUrl"), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithoutSender frameId 0 is present", OnConnect().WithoutSender("frameId"), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithoutSender no tab", OnConnectExternal().WithoutSender("tab"),
			Event{Kind: KindOnConnectExternal, Sender: json.RawMessage(`{"id":"x"}`)}, true},
		// WithLastError, WithoutLastError
		{"WithLastError", OnDisconnect().WithLastError("Could not establish connection."),
			Event{Kind: KindOnDisconnect, LastError: "Could not establish connection."}, true},
		{"WithLastError is exact", OnDisconnect().WithLastError("Could not"),
			Event{Kind: KindOnDisconnect, LastError: "Could not establish connection."}, false},
		{"WithLastError none set", OnDisconnect().WithLastError("x"), Event{Kind: KindOnDisconnect}, false},
		{"WithoutLastError", OnDisconnect().WithoutLastError(), Event{Kind: KindOnDisconnect}, true},
		{"WithoutLastError set", OnDisconnect().WithoutLastError(), Event{Kind: KindOnDisconnect, LastError: "x"}, false},
		{"WithoutLastError needs onDisconnect", AnyEvent().WithoutLastError(), Event{Kind: KindMessage}, false},
		// WithError
		{"WithError substring", Exception().WithError("disconnected port"),
			Event{Kind: KindException, Error: "Error: Attempting to use a disconnected port object"}, true},
		{"WithError whole", Exception().WithError("TypeError: x"), Event{Kind: KindException, Error: "TypeError: x"}, true},
		{"WithError case matters", Exception().WithError("typeerror"), Event{Kind: KindException, Error: "TypeError: x"}, false},
		{"WithError no error", Exception().WithError("x"), Event{Kind: KindException}, false},
		// Where
		{"Where true", AnyEvent().Where("port 3", func(e Event) bool { return e.Port == 3 }), Event{Port: 3}, true},
		{"Where false", AnyEvent().Where("port 3", func(e Event) bool { return e.Port == 3 }), Event{Port: 4}, false},
		// Combined: every part must match.
		{"all parts", OnConnect().In(w).Named("x").WithSender("frameId", 0).WithoutSender("origin"),
			Event{Kind: KindOnConnect, Realm: w, Name: "x", Sender: sender}, true},
		{"one part fails", OnConnect().In(w).Named("x").WithSender("frameId", 0).WithoutSender("origin"),
			Event{Kind: KindOnConnect, Realm: w, Name: "y", Sender: sender}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Match(tt.e); got != tt.match {
				t.Errorf("(%s).Match(%+v) = %v, want %v", tt.q, tt.e, got, tt.match)
			}
		})
	}
}

func TestQueryPanicsOnUnencodableValue(t *testing.T) {
	tests := []struct {
		name string
		make func()
		want string
	}{
		{"WithMessage", func() { Message().WithMessage(make(chan int)) }, "WithMessage"},
		{"WithField", func() { Message().WithField("k", func() {}) }, `WithField("k"`},
		{"WithSender", func() { OnConnect().WithSender("tab.url", make(chan int)) }, `WithSender("tab.url"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if !strings.Contains(s, tt.want) {
					t.Errorf("panic = %v, want a message containing %q", r, tt.want)
				}
			}()
			tt.make()
		})
	}
}

func TestQueryString(t *testing.T) {
	w := newPlace(WorkerRealm, testExtID)
	wName := "worker(" + testExtID + ")"
	tests := []struct {
		q    *Query
		want string
	}{
		{OnConnect().In(w).Named("x"), `onConnect in ` + wName + ` named "x"`},
		{AnyEvent().In(w), `any event in ` + wName},
		{Message().OnPort(Event{Realm: w, Port: 2}), `message on ` + wName + `#2`},
		{Post().WithMessage(map[string]any{"b": 1, "a": "x"}), `post with message {"a":"x","b":1}`},
		{Message().WithField("greeting", "hi"), `message with greeting="hi"`},
		{OnConnect().WithSender("tab.url", "https://example.com/"), `onConnect with sender.tab.url="https://example.com/"`},
		{OnConnect().WithSender("frameId", 0), `onConnect with sender.frameId=0`},
		{OnConnectExternal().WithoutSender("tab"), `onConnectExternal without sender.tab`},
		{OnDisconnect().WithLastError("gone"), `onDisconnect with lastError "gone"`},
		{OnDisconnect().WithoutLastError(), `onDisconnect without lastError`},
		{Exception().WithError("TypeError"), `exception with error containing "TypeError"`},
		{Disconnect().Where("after the reply", func(Event) bool { return true }), `disconnect after the reply`},
		{Connect().Named("a").Named("b"), `connect named "a" named "b"`},
	}
	for _, tt := range tests {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestQueryIsImmutable(t *testing.T) {
	w := newPlace(WorkerRealm, testExtID)
	// Several parts, so that an append on a shared slice would show.
	base := Message().In(w).OnPort(Event{Realm: w, Port: 1})
	baseString := base.String()
	a := base.Named("a")
	b := base.Named("b")
	a2 := a.WithField("n", 1)
	b2 := a.WithField("n", 2)

	for _, tt := range []struct {
		q    *Query
		want string
	}{
		{base, baseString},
		{a, baseString + ` named "a"`},
		{b, baseString + ` named "b"`},
		{a2, baseString + ` named "a" with n=1`},
		{b2, baseString + ` named "a" with n=2`},
	} {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}

	ev := func(name string, n int) Event {
		m, _ := json.Marshal(map[string]int{"n": n})
		return Event{Realm: w, Port: 1, Kind: KindMessage, Name: name, Message: m}
	}
	for _, tt := range []struct {
		name  string
		q     *Query
		e     Event
		match bool
	}{
		{"base a", base, ev("a", 1), true},
		{"base b", base, ev("b", 2), true},
		{"a a", a, ev("a", 1), true},
		{"a b", a, ev("b", 1), false},
		{"b b", b, ev("b", 1), true},
		{"b a", b, ev("a", 1), false},
		{"a2 n=1", a2, ev("a", 1), true},
		{"a2 n=2", a2, ev("a", 2), false},
		{"b2 n=2", b2, ev("a", 2), true},
		{"b2 n=1", b2, ev("a", 1), false},
	} {
		if got := tt.q.Match(tt.e); got != tt.match {
			t.Errorf("%s: (%s).Match = %v, want %v", tt.name, tt.q, got, tt.match)
		}
	}
}

func TestQueryClosestEvents(t *testing.T) {
	w := newPlace(WorkerRealm, testExtID)
	cs := newPlace(ContentScriptRealm, otherExtID)
	events := []Event{
		{Seq: 1, Realm: w, Kind: KindPost, Name: "x"},        // 2 (realm, name)
		{Seq: 2, Realm: cs, Kind: KindMessage, Name: "y"},    // 2 (kind)
		{Seq: 3, Realm: w, Kind: KindMessage, Name: "y"},     // 3 (kind, realm)
		{Seq: 4, Realm: cs, Kind: KindDisconnect},            // 0
		{Seq: 5, Realm: w, Kind: KindMessage, Name: "other"}, // 3
		{Seq: 6, Realm: cs, Kind: KindMessage, Name: "x"},    // 3 (kind, name)
	}
	q := Message().In(w).Named("x")
	seqs := func(es []Event) []int {
		var out []int
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	tests := []struct {
		n    int
		want []int
	}{
		{0, nil},
		{1, []int{3}},
		{3, []int{3, 5, 6}},
		{10, []int{3, 5, 6, 1, 2}}, // ties keep trace order
	}
	for _, tt := range tests {
		got := seqs(q.Closest(events, tt.n))
		if !slices.Equal(got, tt.want) {
			t.Errorf("Closest(n=%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	// A query without kind finds every event somewhat close.
	if got := seqs(AnyEvent().Named("zzz").Closest(events, 10)); len(got) != len(events) {
		t.Errorf("Closest(any event) = %v, want all", got)
	}
}

// upperMatcher is a Matcher of this package's own, not Gomega's, that
// describes itself.
type upperMatcher struct{}

func (upperMatcher) Match(actual any) (bool, error) {
	s, ok := actual.(string)
	if !ok {
		return false, fmt.Errorf("want a string, got %T", actual)
	}
	return s != "" && strings.ToUpper(s) == s, nil
}
func (upperMatcher) FailureMessage(any) string        { return "not upper case" }
func (upperMatcher) NegatedFailureMessage(any) string { return "upper case" }
func (upperMatcher) String() string                   { return "upper case" }

func TestQueryMatchers(t *testing.T) {
	sender := json.RawMessage(`{"id":"` + otherExtID + `","frameId":3,"tab":{"id":5,"url":"https://example.com/"}}`)
	top := json.RawMessage(`{"frameId":0,"tab":{"id":5}}`)
	msg := json.RawMessage(`{"greeting":"hi there","n":4,"list":[1,2]}`)
	tests := []struct {
		name  string
		q     *Query
		e     Event
		match bool
	}{
		// WithSender
		{"WithSender Not(BeZero)", OnConnect().WithSender("frameId", g.Not(g.BeZero())), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender Not(BeZero) of 0", OnConnect().WithSender("frameId", g.Not(g.BeZero())), Event{Kind: KindOnConnect, Sender: top}, false},
		{"WithSender BeNumerically", OnConnect().WithSender("tab.id", g.BeNumerically(">=", 5)), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender HavePrefix", OnConnect().WithSender("tab.url", g.HavePrefix("https://example.com")), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender HaveKey of an object", OnConnect().WithSender("tab", g.HaveKey("url")), Event{Kind: KindOnConnect, Sender: sender}, true},
		{"WithSender HaveKey, key absent", OnConnect().WithSender("tab", g.HaveKey("url")), Event{Kind: KindOnConnect, Sender: top}, false},
		{"WithSender absent is no match", OnConnect().WithSender("origin", g.Not(g.BeZero())), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender absent is no match, even for BeNil", OnConnect().WithSender("origin", g.BeNil()), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender null", OnConnect().WithSender("tab", g.BeNil()), Event{Kind: KindOnConnect, Sender: json.RawMessage(`{"tab":null}`)}, true},
		{"WithSender error is no match", OnConnect().WithSender("tab.url", g.BeNumerically(">", 0)), Event{Kind: KindOnConnect, Sender: sender}, false},
		{"WithSender no sender", OnConnect().WithSender("frameId", g.BeZero()), Event{Kind: KindOnConnect}, false},
		// WithField
		{"WithField ContainSubstring", Message().WithField("greeting", g.ContainSubstring("there")), Event{Kind: KindMessage, Message: msg}, true},
		{"WithField ContainSubstring other", Message().WithField("greeting", g.ContainSubstring("bye")), Event{Kind: KindMessage, Message: msg}, false},
		{"WithField number is float64", Message().WithField("n", g.Equal(4.0)), Event{Kind: KindMessage, Message: msg}, true},
		{"WithField And", Message().WithField("n", g.And(g.BeNumerically(">", 1), g.BeNumerically("<", 5))), Event{Kind: KindMessage, Message: msg}, true},
		{"WithField And, one fails", Message().WithField("n", g.And(g.BeNumerically(">", 1), g.BeNumerically("<", 4))), Event{Kind: KindMessage, Message: msg}, false},
		{"WithField array", Message().WithField("list", g.ConsistOf(2.0, 1.0)), Event{Kind: KindMessage, Message: msg}, true},
		{"WithField absent", Message().WithField("other", g.BeNil()), Event{Kind: KindMessage, Message: msg}, false},
		{"WithField own matcher", Message().WithField("greeting", upperMatcher{}), Event{Kind: KindMessage, Message: json.RawMessage(`{"greeting":"HI"}`)}, true},
		{"WithField own matcher's error", Message().WithField("n", upperMatcher{}), Event{Kind: KindMessage, Message: msg}, false},
		// WithMessage
		{"WithMessage HaveKeyWithValue", Message().WithMessage(g.HaveKeyWithValue("greeting", "hi there")), Event{Kind: KindMessage, Message: msg}, true},
		{"WithMessage HaveKey absent", Message().WithMessage(g.HaveKey("x")), Event{Kind: KindMessage, Message: msg}, false},
		{"WithMessage MatchJSON of a decoded value is an error", Message().WithMessage(g.MatchJSON(msg)), Event{Kind: KindMessage, Message: msg}, false},
		{"WithMessage string", Post().WithMessage(g.HaveSuffix("!")), Event{Kind: KindPost, Message: json.RawMessage(`"hi!"`)}, true},
		{"WithMessage none", Post().WithMessage(g.BeNil()), Event{Kind: KindPost}, false},
		{"WithMessage bad JSON in event", Post().WithMessage(g.Not(g.BeNil())), Event{Kind: KindPost, Message: json.RawMessage(`{`)}, false},
		// To
		{"To BeNumerically", SendMessage().To("tabId", g.BeNumerically(">", 0)), Event{Kind: KindSendMessage, To: json.RawMessage(`{"tabId":3}`)}, true},
		{"To BeNumerically of 0", SendMessage().To("tabId", g.BeNumerically(">", 0)), Event{Kind: KindSendMessage, To: json.RawMessage(`{"tabId":0}`)}, false},
		{"To absent", SendMessage().To("options.frameId", g.BeZero()), Event{Kind: KindSendMessage, To: json.RawMessage(`{"tabId":0}`)}, false},
		// Named
		{"Named HavePrefix", OnConnect().Named(g.HavePrefix("port-")), Event{Kind: KindOnConnect, Name: "port-from-cs"}, true},
		{"Named HavePrefix other", OnConnect().Named(g.HavePrefix("port-")), Event{Kind: KindOnConnect, Name: "x"}, false},
		{"Named BeEmpty", OnConnect().Named(g.BeEmpty()), Event{Kind: KindOnConnect}, true},
		// WithLastError
		{"WithLastError ContainSubstring", OnDisconnect().WithLastError(g.ContainSubstring("Receiving end")),
			Event{Kind: KindOnDisconnect, LastError: "Could not establish connection. Receiving end does not exist."}, true},
		{"WithLastError unset", OnDisconnect().WithLastError(g.Not(g.ContainSubstring("x"))), Event{Kind: KindOnDisconnect}, false},
		{"WithLastError needs onDisconnect", AnyEvent().WithLastError(g.ContainSubstring("x")), Event{Kind: KindException, LastError: "x"}, false},
		// WithError
		{"WithError MatchRegexp", Exception().WithError(g.MatchRegexp(`^TypeError: `)), Event{Kind: KindException, Error: "TypeError: x"}, true},
		{"WithError MatchRegexp other", Exception().WithError(g.MatchRegexp(`^TypeError: `)), Event{Kind: KindException, Error: "Error: x"}, false},
		{"WithError no error", Response().WithError(g.Not(g.ContainSubstring("x"))), Event{Kind: KindResponse}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Match(tt.e); got != tt.match {
				t.Errorf("(%s).Match(%+v) = %v, want %v", tt.q, tt.e, got, tt.match)
			}
		})
	}
}

func TestQueryMatcherString(t *testing.T) {
	tests := []struct {
		q    *Query
		want string
	}{
		{OnConnect().WithSender("frameId", g.Not(g.BeZero())), `onConnect with sender.frameId matching Not(BeZero())`},
		{SendMessage().To("tabId", g.BeNumerically(">", 0)), `sendMessage to tabId matching BeNumerically(">", 0)`},
		{Message().WithField("n", g.BeNumerically("~", 3.0, 0.1)), `message with n matching BeNumerically("~", 3, 0.1)`},
		{Message().WithField("greeting", g.ContainSubstring("hi")), `message with greeting matching ContainSubstring("hi")`},
		{Message().WithMessage(g.HaveKey("greeting")), `message with message matching HaveKey("greeting")`},
		{Message().WithMessage(g.And(g.HaveKey("a"), g.Not(g.HaveKey("b")))), `message with message matching And(HaveKey("a"), Not(HaveKey("b")))`},
		{Message().WithMessage(g.MatchJSON(`{"a":1}`)), "message with message matching MatchJSON(`{\"a\":1}`)"},
		{Message().WithField("ok", g.BeTrue()), `message with ok matching BeTrue()`},
		{Message().WithField("s", g.WithTransform(strings.ToUpper, g.Equal("HI"))), `message with s matching WithTransform(func(string) string, Equal("HI"))`},
		{Message().WithField("s", upperMatcher{}), `message with s matching upper case`},
		{OnConnect().Named(g.HavePrefix("port-")), `onConnect with name matching HavePrefix("port-")`},
		{OnDisconnect().WithLastError(g.ContainSubstring("gone")), `onDisconnect with lastError matching ContainSubstring("gone")`},
		{Exception().WithError(g.MatchRegexp("^TypeError")), `exception with error matching MatchRegexp("^TypeError")`},
		// Values read as before.
		{OnConnect().WithSender("frameId", 0).Named("x"), `onConnect with sender.frameId=0 named "x"`},
	}
	for _, tt := range tests {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	long := Message().WithField("s", g.ContainSubstring(strings.Repeat("x", 300))).String()
	if len(long) > 200 || !strings.HasSuffix(long, "…") {
		t.Errorf("String() of a query with a long matcher = %q, want it cut short", long)
	}
}

func TestQueryTextArgPanics(t *testing.T) {
	tests := []struct {
		name string
		make func()
		want string
	}{
		{"Named", func() { OnConnect().Named(5) }, "Named(5): want a string or a Matcher, got int"},
		{"WithLastError", func() { OnDisconnect().WithLastError(nil) }, "WithLastError(<nil>): want a string or a Matcher"},
		{"WithError", func() { Exception().WithError([]byte("x")) }, "WithError([]byte{0x78}): want a string or a Matcher, got []uint8"},
		{"To", func() { SendMessage().To("tabId", make(chan int)) }, `To("tabId", `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if !strings.Contains(s, tt.want) {
					t.Errorf("panic = %v, want a message containing %q", r, tt.want)
				}
			}()
			tt.make()
		})
	}
}

// TestQueryMatcherShared matches one query with a stateful matcher (And
// remembers which of its matchers failed) from several goroutines; run it
// with -race.
func TestQueryMatcherShared(t *testing.T) {
	q := Message().WithField("n", g.And(g.BeNumerically(">", 1), g.BeNumerically("<", 100)))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for n := range 200 {
				m, _ := json.Marshal(map[string]int{"n": n + i})
				want := n+i > 1 && n+i < 100
				if got := q.Match(Event{Kind: KindMessage, Message: m}); got != want {
					t.Errorf("Match(n=%d) = %v, want %v", n+i, got, want)
				}
			}
		})
	}
	wg.Wait()
}
