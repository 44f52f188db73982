package scenario

import (
	"slices"
	"sort"
	"strings"

	"github.com/portprobe/portprobe/trace"
)

// kindQueries are package trace's queries, by kind.
var kindQueries = map[string]func() *trace.Query{
	"connect": trace.Connect, "onConnect": trace.OnConnect, "onConnectExternal": trace.OnConnectExternal,
	"onUserScriptConnect": trace.OnUserScriptConnect, "post": trace.Post, "message": trace.Message,
	"disconnect": trace.Disconnect, "onDisconnect": trace.OnDisconnect, "exception": trace.Exception,
	"sendMessage": trace.SendMessage, "response": trace.Response, "onMessage": trace.OnMessage,
	"onMessageExternal": trace.OnMessageExternal, "onUserScriptMessage": trace.OnUserScriptMessage,
	"reply": trace.Reply, "keepOpen": trace.KeepOpen,
}

// Query returns the trace.Query the event stands for. ext names the
// extension that In names, by its index in Scenario.Extensions, with its
// manifest name and ID; it is not called when In names none. A scenario
// that Parse read but Load did not may name an extension by manifest name
// that Parse could not resolve: then the realm's name must hold it, as
// "content-script(my-extension)@tab1" does.
func (e *Event) Query(ext func(i int) (name, id string)) *trace.Query {
	q := trace.AnyEvent()
	if e.kind != "" {
		q = kindQueries[e.kind]()
	}
	if len(e.realmKinds) > 0 {
		kinds := slices.Clone(e.realmKinds)
		what, _, _ := strings.Cut(e.In, "(")
		id, byName := "", ""
		switch {
		case e.ext >= 0:
			var name string
			name, id = ext(e.ext)
			what += "(" + name + ")"
		case e.ext == -2:
			// Parsed but not loaded: the realm's name says the extension's.
			byName = "(" + e.extName + ")"
			what += byName
		}
		q = q.Where("in "+what, func(ev trace.Event) bool {
			if ev.Realm == nil {
				return false
			}
			info := ev.Realm.Describe()
			return slices.Contains(kinds, string(info.Kind)) && (id == "" || info.ExtensionID == id) &&
				(byName == "" || strings.Contains(ev.Realm.String(), byName))
		})
	}
	if e.Named != nil {
		q = q.Named(*e.Named)
	}
	if e.hasMessage {
		q = q.WithMessage(e.Message)
	}
	for _, k := range sortedKeys(e.Fields) {
		q = q.WithField(k, e.Fields[k])
	}
	for _, k := range sortedKeys(e.Sender) {
		q = q.WithSender(k, e.Sender[k])
	}
	if e.LastError != nil {
		if *e.LastError == "" {
			q = q.WithoutLastError()
		} else {
			q = q.WithLastError(*e.LastError)
		}
	}
	if e.Error != nil {
		q = q.WithError(*e.Error)
	}
	if e.WithoutError {
		q = q.WithoutError()
	}
	if e.Via != "" {
		q = q.Via(e.Via)
	}
	if e.Listener > 0 {
		q = q.ByListener(e.Listener)
	}
	return q
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
