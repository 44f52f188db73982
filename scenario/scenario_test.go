package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portprobe/portprobe/trace"
)

const minimal = `
extensions: [ext]
steps:
  - open: /
expect:
  events: [{event: Connect}]
`

func TestParseReadsEveryPart(t *testing.T) {
	s, err := Parse("all.yml", []byte(`
browser: firefox
timeout: 15s
extensions: [a, ../b]
pages:
  /p.html: "<button id=go>go</button>"
steps:
  - open: /p.html
    as: main
  - click: "#go"
    tab: main
  - click_action: a
  - navigate: https://example.com/
  - reload: true
  - wait: {event: onDisconnect, in: content-script(b), lastError: ""}
  - stop_worker: b
  - reload_extension: a
  - disable_extension: a
  - enable_extension: a
  - uninstall_extension: b
  - open: /
    as: second
  - close: true
    tab: second
  - open_page: page.html
    of: b
    as: third
expect:
  in_order: true
  events:
    - {event: SendMessage, in: page, message: [1, "two", {three: 3}], via: runtime.sendMessage}
    - {event: Response, without_error: true, listener: 1}
  absent:
    - {event: Exception, error: TypeError}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Browser != "firefox" || s.Timeout != 15*time.Second || len(s.Extensions) != 2 || s.Pages["/p.html"] == "" {
		t.Errorf("top level: got %+v", s)
	}
	var actions []string
	for _, st := range s.Steps {
		actions = append(actions, st.action)
	}
	if got := strings.Join(actions, " "); got != "open click click_action navigate reload wait stop_worker reload_extension disable_extension enable_extension uninstall_extension open close open_page" {
		t.Errorf("actions: %s", got)
	}
	if s.Steps[2].ext != 0 || s.Steps[6].ext != 1 || s.Steps[0].Line != 8 || s.Steps[1].Line != 10 {
		t.Errorf("steps: ext %d %d, lines %d %d", s.Steps[2].ext, s.Steps[6].ext, s.Steps[0].Line, s.Steps[1].Line)
	}
	if st := s.Steps[13]; st.ext != 1 || st.OpenPage != "page.html" || st.As != "third" {
		t.Errorf("open_page: ext %d, page %q, as %q", st.ext, st.OpenPage, st.As)
	}
	if w := s.Steps[5].Wait; w.kind != "onDisconnect" || w.ext != 1 || w.realmKinds[0] != "content-script" {
		t.Errorf("wait: %+v", w)
	}
	if !s.Expect.InOrder || len(s.Expect.Events) != 2 || len(s.Expect.Absent) != 1 || s.Expect.Events[1].Line != 32 {
		t.Errorf("expect: %+v", s.Expect)
	}
}

// Each mistake is an InputError naming the file, the line and the field.
func TestParseMistakes(t *testing.T) {
	for _, tt := range []struct {
		name, file, text, want string
	}{
		{"extension of the file", "s.txt", minimal, `s.txt: unknown extension ".txt": want .yaml, .yml or .json`},
		{"unknown key", "s.yaml", minimal + "colour: red\n", `s.yaml:7: unknown key "colour"`},
		{"unknown key in a step", "s.yaml", strings.Replace(minimal, "open: /", "open: /\n    colour: red", 1), `s.yaml:5: unknown key "colour"`},
		{"unknown key in an event", "s.yaml", strings.Replace(minimal, "{event: Connect}", "{event: Connect, nmed: x}", 1), `s.yaml:6: unknown key "nmed"`},
		{"bad YAML", "s.yaml", "extensions: [a\n", "s.yaml:1: yaml: line 1: did not find expected ',' or ']'"},
		{"empty", "s.yaml", "", "s.yaml: empty scenario"},
		{"browser", "s.yaml", minimal + "browser: safari\n", `s.yaml:7: browser: "safari": want chrome or firefox`},
		{"no extension", "s.yaml", strings.Replace(minimal, "extensions: [ext]", "extensions: []", 1), "s.yaml:2: extensions: no extension folder given: want at least one"},
		{"no steps", "s.yaml", strings.Replace(minimal, "  - open: /\n", "", 1), "s.yaml:3: steps: no steps: want at least one, such as open: /"},
		{"two actions", "s.yaml", strings.Replace(minimal, "open: /", "open: /\n    reload: true", 1), "s.yaml:4: steps[0]: want one action (open, open_page, click, click_action, navigate, reload, close, stop_worker, reload_extension, disable_extension, enable_extension, uninstall_extension, wait), got 2: open, reload"},
		{"no action", "s.yaml", strings.Replace(minimal, "open: /", "tab: tab1", 1), "s.yaml:4: steps[0]: want one action (open, open_page, click, click_action, navigate, reload, close, stop_worker, reload_extension, disable_extension, enable_extension, uninstall_extension, wait), got 0: "},
		{"click before open", "s.yaml", strings.Replace(minimal, "open: /", "click: body", 1), "s.yaml:4: steps[0].click: no tab opened before: start with open: /"},
		{"unknown tab", "s.yaml", strings.Replace(minimal, "open: /", "open: /\n  - click: body\n    tab: other", 1), `s.yaml:5: steps[1].click: no tab named "other" opened before (name a tab with as: in its open step)`},
		{"as on a click", "s.yaml", strings.Replace(minimal, "open: /", "open: /\n  - click: body\n    as: x", 1), "s.yaml:5: steps[1].click: as names the tab of an open or open_page step only"},
		{"of on a click", "s.yaml", strings.Replace(minimal, "open: /", "open: /\n  - click: body\n    of: ext", 1), "s.yaml:5: steps[1].click: of names the extension of an open_page step only"},
		{"false extension", "s.yaml", strings.Replace(minimal, "open: /", "open: /\n  - stop_worker: false", 1), "s.yaml:5: steps[1].stop_worker: false: want true (the only extension) or an extension's name"},
		{"ambiguous extension", "s.yaml", strings.Replace(strings.Replace(minimal, "[ext]", "[a, b]", 1), "open: /", "open: /\n  - reload_extension: true", 1), "s.yaml:5: steps[1].reload_extension: true: there are 2 extensions; name one"},
		{"unknown event", "s.yaml", strings.Replace(minimal, "Connect}", "Conect}", 1), `s.yaml:6: expect.events[0]: event "Conect": want one of connect, onConnect, onConnectExternal, onUserScriptConnect, post, message, disconnect, onDisconnect, exception, sendMessage, response, onMessage, onMessageExternal, onUserScriptMessage, reply, keepOpen`},
		{"unknown realm kind", "s.yaml", strings.Replace(minimal, "Connect}", "Connect, in: iframe}", 1), `s.yaml:6: expect.events[0]: in "iframe": unknown realm kind "iframe", want one of background, worker, background-page, content-script, page, user-script, web-page, native-host`},
		{"bad realm", "s.yaml", strings.Replace(minimal, "Connect}", "Connect, in: page(ext}", 1), `s.yaml:6: expect.events[0]: in "page(ext": want a realm kind, optionally with an extension, such as content-script(my-extension)`},
		{"wrong type", "s.yaml", strings.Replace(minimal, "Connect}", "Connect, named: [1]}", 1), "s.yaml:6: cannot unmarshal !!seq into string"},
		{"bad timeout", "s.yaml", minimal + "timeout: soon\n", "s.yaml:7: cannot unmarshal !!str `soon` into time.Duration"},
		{"nothing expected", "s.yaml", strings.Replace(minimal, "  events: [{event: Connect}]\n", "  in_order: true\n", 1), "s.yaml:5: expect: nothing expected: want events, absent or both"},
		{"bad absent", "s.yaml", strings.Replace(minimal, "events: [{event: Connect}]", "absent: [{listener: -1}]", 1), "s.yaml:6: expect.absent[0]: listener -1: listeners count from 1"},
		{"bad JSON", "s.json", "{\n  \"extensions\": [\"a\"\n}", "s.json:3: not valid JSON: invalid character '}' after array element"},
		{"unknown key in JSON", "s.json", "{\n\t\"extensions\": [\"a\"],\n\t\"steps\": [{\"open\": \"/\"}],\n\t\"expect\": {\"events\": [{\"event\": \"Connect\", \"colour\": 1}]}\n}", `s.json:4: unknown key "colour"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file, []byte(tt.text))
			var in *InputError
			if !errors.As(err, &in) {
				t.Fatalf("got %v (%T), want an *InputError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	s, err := Parse("s.json", []byte("{\n\t\"extensions\": [\"a\"],\n\t\"timeout\": \"3s\",\n\t\"steps\": [\n\t\t{\"open\": \"/\"},\n\t\t{\"click_action\": true}\n\t],\n\t\"expect\": {\"events\": [{\"event\": \"message\", \"message\": null}]}\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Timeout != 3*time.Second || s.Steps[1].action != "click_action" || s.Steps[1].Line != 6 || !s.Expect.Events[0].hasMessage {
		t.Errorf("got %+v", s)
	}
}

// Load finds the extensions next to the scenario and resolves names by the
// manifest; a missing folder is an input error at the line of the folder.
func TestLoadResolvesExtensions(t *testing.T) {
	dir := t.TempDir()
	ext := filepath.Join(dir, "exts", "one")
	if err := os.MkdirAll(ext, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ext, "manifest.json"), []byte(`{"manifest_version": 3, "name": "First one", "version": "1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "s.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("extensions: [exts/one]\nsteps:\n  - open: /\n  - stop_worker: First one\nexpect:\n  events: [{in: page(First one)}]\n")
	s, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if s.ExtensionDir(0) != ext || s.Steps[1].ext != 0 || s.Expect.Events[0].ext != 0 {
		t.Errorf("got dir %s, step ext %d, event ext %d", s.ExtensionDir(0), s.Steps[1].ext, s.Expect.Events[0].ext)
	}
	write("extensions: [exts/one]\nsteps:\n  - open: /\n  - stop_worker: Second\nexpect:\n  events: [{}]\n")
	if _, err := Load(file); err == nil || err.Error() != file+`:4: steps[1].stop_worker: no extension named "Second": the scenario loads "First one" (exts/one)` {
		t.Errorf("unknown name: got %v", err)
	}
	write("extensions:\n  - exts/one\n  - exts/two\nsteps:\n  - open: /\nexpect:\n  events: [{}]\n")
	_, err = Load(file)
	var in *InputError
	if !errors.As(err, &in) || in.Line != 3 || in.Field != "extensions[1]" || !strings.Contains(err.Error(), `reading the extension "exts/two"`) {
		t.Errorf("missing folder: got %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.yaml")); !errors.As(err, &in) || !strings.Contains(err.Error(), "reading the scenario") {
		t.Errorf("missing file: got %v", err)
	}
}

func TestEventQueries(t *testing.T) {
	place := func(name string, kind trace.RealmKind, id string) *trace.Place {
		return &trace.Place{Name: name, Info: trace.SourceInfo{Kind: kind, ExtensionID: id}}
	}
	worker := place("worker(a)", trace.WorkerRealm, "ida")
	bgPage := place("background-page(a)", trace.BackgroundPageRealm, "ida")
	csB := place("content-script(b)@tab1", trace.ContentScriptRealm, "idb")
	s, err := Parse("q.yaml", []byte(`
extensions: [a, b]
steps: [{open: /}]
expect:
  events:
    - {event: onconnect, in: background, named: x}
    - {event: Message, in: content-script(b), message: {n: 1}}
    - {event: OnDisconnect, lastError: ""}
    - {event: OnDisconnect, lastError: "gone"}
    - {event: Response, error: "No receiver"}
    - {in: content-script(a)}
    - {event: onConnect, sender: {tab.id: 3}}
    - {in: page(My Extension)}
`))
	if err != nil {
		t.Fatal(err)
	}
	names := map[int][2]string{0: {"a", "ida"}, 1: {"b", "idb"}}
	ext := func(i int) (string, string) { return names[i][0], names[i][1] }
	q := func(i int) *trace.Query { return s.Expect.Events[i].Query(ext) }
	for _, tt := range []struct {
		q    int
		e    trace.Event
		want bool
	}{
		{0, trace.Event{Realm: worker, Kind: trace.KindOnConnect, Name: "x"}, true},
		{0, trace.Event{Realm: bgPage, Kind: trace.KindOnConnect, Name: "x"}, true},
		{0, trace.Event{Realm: csB, Kind: trace.KindOnConnect, Name: "x"}, false},
		{0, trace.Event{Realm: worker, Kind: trace.KindOnConnect, Name: "y"}, false},
		{1, trace.Event{Realm: csB, Kind: trace.KindMessage, Message: []byte(`{ "n" : 1.0 }`)}, true},
		{1, trace.Event{Realm: csB, Kind: trace.KindMessage, Message: []byte(`{"n":1,"m":2}`)}, false},
		{2, trace.Event{Realm: csB, Kind: trace.KindOnDisconnect}, true},
		{2, trace.Event{Realm: csB, Kind: trace.KindOnDisconnect, LastError: "gone"}, false},
		{3, trace.Event{Realm: csB, Kind: trace.KindOnDisconnect, LastError: "gone"}, true},
		{4, trace.Event{Realm: csB, Kind: trace.KindResponse, Error: "Could not establish connection."}, false},
		{4, trace.Event{Realm: csB, Kind: trace.KindResponse, Error: "Error: No receiver"}, true},
		{5, trace.Event{Realm: csB, Kind: trace.KindConnect}, false},
		{6, trace.Event{Realm: worker, Kind: trace.KindOnConnect, Sender: []byte(`{"tab":{"id":3}}`)}, true},
		{7, trace.Event{Realm: place("page(My Extension)/p.html@tab1", trace.PageRealm, "idc"), Kind: trace.KindConnect}, true},
		{7, trace.Event{Realm: place("page(Other)/p.html@tab1", trace.PageRealm, "idd"), Kind: trace.KindConnect}, false},
	} {
		if got := q(tt.q).Match(tt.e); got != tt.want {
			t.Errorf("%s on %s: got %v, want %v", q(tt.q), tt.e, got, tt.want)
		}
	}
	if got := q(1).String(); got != `message in content-script(b) with message {"n":1}` {
		t.Errorf("String: %s", got)
	}
}

// Check gives the matcher's own failure text: HaveEvent's for each event
// when not in order, its negation for an absent one.
func TestCheckMessages(t *testing.T) {
	s, err := Parse("c.yaml", []byte(`
extensions: [a]
steps: [{open: /}]
expect:
  events:
    - {event: Connect, named: p}
    - {event: Post, named: p}
  absent:
    - {event: Exception}
`))
	if err != nil {
		t.Fatal(err)
	}
	cs := &trace.Place{Name: "content-script(a)@tab1", Info: trace.SourceInfo{Kind: trace.ContentScriptRealm, ExtensionID: "ida"}}
	ext := func(int) (string, string) { return "a", "ida" }
	connect := trace.Event{Seq: 1, Realm: cs, Port: 1, Kind: trace.KindConnect, Name: "p"}
	post := trace.Event{Seq: 2, Realm: cs, Port: 1, Kind: trace.KindPost, Name: "p", Message: []byte(`1`)}
	threw := trace.Event{Seq: 3, Realm: cs, Kind: trace.KindException, Call: "postMessage", Error: "Error: x"}
	if got := s.Check([]trace.Event{post, connect}, ext); got != "" {
		t.Errorf("any order: %s", got)
	}
	got := s.Check([]trace.Event{connect}, ext)
	if !strings.HasPrefix(got, `Expected the trace to have an event post named "p"`) || !strings.Contains(got, "Whole trace:") {
		t.Errorf("missing post: %s", got)
	}
	got = s.Check([]trace.Event{connect, post, threw}, ext)
	if !strings.HasPrefix(got, "Expected the trace to have no event exception, but it has:\n") || !strings.Contains(got, `error="Error: x"`) {
		t.Errorf("an absent event there: %s", got)
	}
}
