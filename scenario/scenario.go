package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/portprobe/portprobe/manifest"
)

// Scenario is one check: what to load, what to do, what must happen. Its
// zero parts take their defaults: the browser of harness.OptionsFromEnv
// (PORTPROBE_BROWSER, then Chrome), the harness's Timeout. Load and Parse
// make one (and check it); Run takes no other.
type Scenario struct {
	// File is where the scenario was read from; extension folders are
	// relative to its folder.
	File string `yaml:"-"`
	// Browser is "chrome" or "firefox"; "" leaves the choice to the caller's
	// harness.Options.
	Browser string `yaml:"browser"`
	// Timeout bounds each wait: a wait step, and the expectations (not the
	// harness's own waits, such as loading an extension).
	Timeout time.Duration `yaml:"timeout"`
	// Extensions are the unpacked extension folders, relative to File. At
	// least one.
	Extensions []string `yaml:"extensions"`
	// Pages are served by the harness's local page server
	// (http://127.0.0.1:<port>/path): path → HTML.
	Pages map[string]string `yaml:"pages"`
	// Steps run in order.
	Steps []Step `yaml:"steps"`
	// Expect is what the trace must show once the steps ran.
	Expect Expect `yaml:"expect"`

	// manifests are the extensions' manifests, in the order of Extensions.
	manifests []*manifest.Manifest
	// doc is the file's tree of nodes, for the lines of mistakes.
	doc *yaml.Node
}

// Step is one action. Exactly one of its action fields is set; Tab and As
// qualify it.
type Step struct {
	// Open opens a tab on a URL, or on a path of Pages ("/", "/frames.html").
	Open string `yaml:"open"`
	// OpenPage opens a tab on a page of an extension ("popup.html"): the
	// only extension's, or Of's.
	OpenPage string `yaml:"open_page"`
	// Of names the extension of OpenPage, when there are several.
	Of string `yaml:"of"`
	// As names the tab Open or OpenPage opens, for Tab in later steps.
	As string `yaml:"as"`
	// Tab names the tab a step acts on (default: the last tab opened).
	Tab string `yaml:"tab"`
	// Click clicks the element that this CSS selector finds in the tab.
	Click string `yaml:"click"`
	// ClickAction clicks an extension's toolbar action with the tab active:
	// true for the only extension, or its name.
	ClickAction any `yaml:"click_action"`
	// Navigate loads a URL or a path of Pages in the tab.
	Navigate string `yaml:"navigate"`
	// Reload loads the tab's page again.
	Reload bool `yaml:"reload"`
	// Close closes the tab.
	Close bool `yaml:"close"`
	// StopWorker stops an extension's service worker (true for the only
	// extension, or its name), as Chrome does when it idles out.
	StopWorker any `yaml:"stop_worker"`
	// ReloadExtension, DisableExtension, EnableExtension and
	// UninstallExtension are the harness's extension faults (true for the
	// only extension, or its name).
	ReloadExtension    any `yaml:"reload_extension"`
	DisableExtension   any `yaml:"disable_extension"`
	EnableExtension    any `yaml:"enable_extension"`
	UninstallExtension any `yaml:"uninstall_extension"`
	// Wait waits until the trace has an event that matches and that
	// happened since the last step that is not a wait began (an event of
	// the steps before does not count).
	Wait *Event `yaml:"wait"`

	// Line is the step's line in File.
	Line int `yaml:"-"`
	// action is the name of the action field that is set.
	action string
	// ext is the index in Extensions of the extension the step acts on.
	ext int
}

// Expect is what the trace must show.
type Expect struct {
	// InOrder asks for Events in that order (matchers.HaveEventsInOrder);
	// otherwise each must be there (matchers.HaveEvent).
	InOrder bool `yaml:"in_order"`
	// Events must be in the trace.
	Events []Event `yaml:"events"`
	// Absent must not be in the trace once the steps ran and Events were
	// found.
	Absent []Event `yaml:"absent"`
}

// Event describes the events that match, as a trace.Query does; its zero
// fields match anything.
type Event struct {
	// Event is the kind, as package trace names its query or its Kind:
	// Connect or connect, OnConnect, Post, Message, Disconnect,
	// OnDisconnect, Exception, SendMessage, Response, OnMessage, Reply, ...
	Event string `yaml:"event"`
	// In is the realm kind (background, worker, background-page,
	// content-script, page, user-script, web-page, native-host),
	// optionally of one extension: "content-script(mdn-example)".
	// background is the worker on Chrome and the background page on
	// Firefox.
	In string `yaml:"in"`
	// Named is the port's name (Query.Named).
	Named *string `yaml:"named"`
	// Message is the whole message, compared as JSON (Query.WithMessage).
	Message any `yaml:"message"`
	// Fields are top-level fields of the message, compared as JSON
	// (Query.WithField).
	Fields map[string]any `yaml:"fields"`
	// Sender are fields of port.sender at dotted paths, compared as JSON
	// (Query.WithSender): {"tab.url": ..., "frameId": 0}.
	Sender map[string]any `yaml:"sender"`
	// LastError is the onDisconnect's runtime.lastError.message
	// (Query.WithLastError); "" means none (Query.WithoutLastError).
	LastError *string `yaml:"lastError"`
	// Error is text the event's error contains (Query.WithError).
	Error *string `yaml:"error"`
	// WithoutError asks for an event with no error (Query.WithoutError).
	WithoutError bool `yaml:"without_error"`
	// Via is how the call was made (Query.Via): runtime.sendMessage,
	// tabs.sendMessage, callback, promise, sendResponse, true.
	Via string `yaml:"via"`
	// Listener is the message listener's number (Query.ByListener).
	Listener int `yaml:"listener"`

	// Line is the event's line in File.
	Line int `yaml:"-"`
	// hasMessage is set when the file has a message key (even null).
	hasMessage bool
	kind       string
	realmKinds []string
	ext        int    // -1 for any extension, -2 for one Load has not resolved yet
	extName    string // the extension as In names it
}

// InputError is a mistake in a scenario: what a person must fix before it
// can run.
type InputError struct {
	// File is the scenario's file.
	File string
	// Line is the line of the mistake, 0 when unknown.
	Line int
	// Field is where in the scenario, such as "steps[2].click", or "".
	Field string
	// Err is the cause.
	Err error
}

func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *InputError) Unwrap() error { return e.Err }

// Load reads the scenario in file (YAML for .yaml and .yml, JSON for
// .json), checks it, and reads its extensions' manifests. Every mistake is
// an *InputError.
func Load(file string) (*Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &InputError{File: file, Err: fmt.Errorf("reading the scenario: %w", err)}
	}
	s, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	if err := s.readManifests(); err != nil {
		return nil, err
	}
	return s, nil
}

// Parse decodes a scenario from data, as JSON when name ends in .json and
// as YAML when it ends in .yaml or .yml, and checks it. Unknown keys are
// mistakes. It reads no file: the extensions' folders are checked by Load.
func Parse(name string, data []byte) (*Scenario, error) {
	fail := func(line int, field string, err error) error {
		return &InputError{File: name, Line: line, Field: field, Err: err}
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
	case ".json":
		// YAML reads JSON too, with lines; encoding/json says first whether it
		// is JSON at all.
		if err := json.Unmarshal(data, new(any)); err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return nil, fail(lineAt(data, syn.Offset), "", fmt.Errorf("not valid JSON: %w", err))
			}
			return nil, fail(0, "", fmt.Errorf("not valid JSON: %w", err))
		}
		// Tabs indent JSON but not YAML; in JSON they only separate tokens.
		data = bytes.ReplaceAll(data, []byte("\t"), []byte(" "))
	default:
		return nil, fail(0, "", fmt.Errorf("unknown extension %q: want .yaml, .yml or .json", filepath.Ext(name)))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fail(yamlLine(err), "", err)
	}
	if len(root.Content) == 0 {
		return nil, fail(0, "", errors.New("empty scenario"))
	}
	s := &Scenario{File: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		return nil, fail(yamlLine(err), "", yamlCause(err))
	}
	s.File = name
	doc := root.Content[0]
	s.doc = doc
	for i := range s.Steps {
		s.Steps[i].Line = lineOf(doc, "steps", i)
	}
	for i := range s.Expect.Events {
		s.Expect.Events[i].Line = lineOf(doc, "expect", "events", i)
		s.Expect.Events[i].hasMessage = nodeAt(doc, "expect", "events", i, "message") != nil
	}
	for i := range s.Expect.Absent {
		s.Expect.Absent[i].Line = lineOf(doc, "expect", "absent", i)
		s.Expect.Absent[i].hasMessage = nodeAt(doc, "expect", "absent", i, "message") != nil
	}
	for i := range s.Steps {
		if w := s.Steps[i].Wait; w != nil {
			w.Line = lineOf(doc, "steps", i, "wait")
			w.hasMessage = nodeAt(doc, "steps", i, "wait", "message") != nil
		}
	}
	if err := s.check(doc); err != nil {
		return nil, err
	}
	return s, nil
}

// check checks what decoding cannot.
func (s *Scenario) check(doc *yaml.Node) error {
	fail := func(line int, field string, format string, args ...any) error {
		return &InputError{File: s.File, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
	}
	switch s.Browser {
	case "", "chrome", "firefox":
	default:
		return fail(lineOf(doc, "browser"), "browser", "%q: want chrome or firefox", s.Browser)
	}
	if s.Timeout < 0 {
		return fail(lineOf(doc, "timeout"), "timeout", "%v: want a positive duration such as 20s", s.Timeout)
	}
	if len(s.Extensions) == 0 {
		return fail(lineOf(doc, "extensions"), "extensions", "no extension folder given: want at least one")
	}
	for path := range s.Pages {
		if !strings.HasPrefix(path, "/") {
			return fail(lineOf(doc, "pages", path), "pages", "%q: a path starts with /", path)
		}
	}
	if len(s.Steps) == 0 {
		return fail(lineOf(doc, "steps"), "steps", "no steps: want at least one, such as open: /")
	}
	tabs := map[string]bool{}
	opened := false
	for i := range s.Steps {
		st := &s.Steps[i]
		field := fmt.Sprintf("steps[%d]", i)
		actions := st.actions()
		if len(actions) != 1 {
			return fail(st.Line, field, "want one action (open, open_page, click, click_action, navigate, reload, close, stop_worker, reload_extension, disable_extension, enable_extension, uninstall_extension, wait), got %d: %s",
				len(actions), strings.Join(actions, ", "))
		}
		st.action = actions[0]
		field += "." + st.action
		if st.As != "" && st.action != "open" && st.action != "open_page" {
			return fail(st.Line, field, "as names the tab of an open or open_page step only")
		}
		if st.Of != "" && st.action != "open_page" {
			return fail(st.Line, field, "of names the extension of an open_page step only")
		}
		if st.Tab != "" && !tabs[st.Tab] {
			return fail(st.Line, field, "no tab named %q opened before (name a tab with as: in its open step)", st.Tab)
		}
		switch st.action {
		case "open", "open_page":
			if st.Tab != "" {
				return fail(st.Line, field, "open makes a new tab; name it with as:, not tab:")
			}
			opened = true
			if st.As != "" {
				tabs[st.As] = true
			}
		case "click", "navigate", "reload", "close", "click_action":
			if !opened {
				return fail(st.Line, field, "no tab opened before: start with open: /")
			}
		}
		switch st.action {
		case "open_page", "click_action", "stop_worker", "reload_extension", "disable_extension", "enable_extension", "uninstall_extension":
			ext, err := s.extensionRef(st.extValue())
			if err != nil {
				return fail(st.Line, field, "%v", err)
			}
			st.ext = ext
		case "wait":
			if err := s.checkEvent(st.Wait); err != nil {
				return fail(st.Wait.Line, field, "%v", err)
			}
		}
	}
	if len(s.Expect.Events) == 0 && len(s.Expect.Absent) == 0 {
		return fail(lineOf(doc, "expect"), "expect", "nothing expected: want events, absent or both")
	}
	for i := range s.Expect.Events {
		if err := s.checkEvent(&s.Expect.Events[i]); err != nil {
			return fail(s.Expect.Events[i].Line, fmt.Sprintf("expect.events[%d]", i), "%v", err)
		}
	}
	for i := range s.Expect.Absent {
		if err := s.checkEvent(&s.Expect.Absent[i]); err != nil {
			return fail(s.Expect.Absent[i].Line, fmt.Sprintf("expect.absent[%d]", i), "%v", err)
		}
	}
	return nil
}

// actions names the action fields that are set.
func (st *Step) actions() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(st.Open != "", "open")
	add(st.OpenPage != "", "open_page")
	add(st.Click != "", "click")
	add(st.ClickAction != nil, "click_action")
	add(st.Navigate != "", "navigate")
	add(st.Reload, "reload")
	add(st.Close, "close")
	add(st.StopWorker != nil, "stop_worker")
	add(st.ReloadExtension != nil, "reload_extension")
	add(st.DisableExtension != nil, "disable_extension")
	add(st.EnableExtension != nil, "enable_extension")
	add(st.UninstallExtension != nil, "uninstall_extension")
	add(st.Wait != nil, "wait")
	return out
}

// extValue is the value of the step's extension action.
func (st *Step) extValue() any {
	switch st.action {
	case "open_page":
		if st.Of != "" {
			return st.Of
		}
		return true
	case "click_action":
		return st.ClickAction
	case "stop_worker":
		return st.StopWorker
	case "reload_extension":
		return st.ReloadExtension
	case "disable_extension":
		return st.DisableExtension
	case "enable_extension":
		return st.EnableExtension
	}
	return st.UninstallExtension
}

// extensionRef returns the index of the extension that v names: true for
// the only one, or a name (the manifest's, once Load read it, or the
// folder as written).
func (s *Scenario) extensionRef(v any) (int, error) {
	switch v := v.(type) {
	case bool:
		if !v {
			return 0, errors.New("false: want true (the only extension) or an extension's name")
		}
		if len(s.Extensions) > 1 {
			return 0, fmt.Errorf("true: there are %d extensions; name one", len(s.Extensions))
		}
		return 0, nil
	case string:
		return s.extensionNamed(v)
	}
	return 0, fmt.Errorf("%v: want true (the only extension) or an extension's name", v)
}

// extensionNamed returns the index of the extension whose folder (as
// written, or its base name) or, once the manifests are read, manifest name
// is name. Before Load read the manifests, an unknown name is left for it to
// check, and -2 stands for it.
func (s *Scenario) extensionNamed(name string) (int, error) {
	for i, dir := range s.Extensions {
		if name == dir || name == filepath.Base(filepath.Clean(dir)) {
			return i, nil
		}
	}
	for i, m := range s.manifests {
		if m != nil && m.Name == name {
			return i, nil
		}
	}
	if s.manifests == nil {
		return -2, nil
	}
	var names []string
	for i, dir := range s.Extensions {
		names = append(names, fmt.Sprintf("%q (%s)", s.manifests[i].Name, dir))
	}
	return 0, fmt.Errorf("no extension named %q: the scenario loads %s", name, strings.Join(names, ", "))
}

// knownKinds are the event kinds of package trace.
var knownKinds = []string{"connect", "onConnect", "onConnectExternal", "onUserScriptConnect", "post", "message",
	"disconnect", "onDisconnect", "exception", "sendMessage", "response", "onMessage", "onMessageExternal",
	"onUserScriptMessage", "reply", "keepOpen"}

// realmKinds are what In may name, and the trace.RealmKinds each stands for.
var realmKinds = map[string][]string{
	"background":      {"worker", "background-page"},
	"worker":          {"worker"},
	"background-page": {"background-page"},
	"content-script":  {"content-script"},
	"page":            {"page"},
	"user-script":     {"user-script"},
	"web-page":        {"web-page"},
	"native-host":     {"native-host"},
}

// checkEvent checks an event and works out its kind and realm.
func (s *Scenario) checkEvent(e *Event) error {
	e.ext = -1
	if e.Event != "" {
		for _, k := range knownKinds {
			if strings.EqualFold(k, e.Event) {
				e.kind = k
			}
		}
		if e.kind == "" {
			return fmt.Errorf("event %q: want one of %s", e.Event, strings.Join(knownKinds, ", "))
		}
	}
	if e.In != "" {
		kind, ext, hasExt := strings.Cut(e.In, "(")
		if hasExt {
			if !strings.HasSuffix(ext, ")") {
				return fmt.Errorf("in %q: want a realm kind, optionally with an extension, such as content-script(my-extension)", e.In)
			}
			ext = strings.TrimSuffix(ext, ")")
			e.extName = ext
		}
		kinds, ok := realmKinds[kind]
		if !ok {
			return fmt.Errorf("in %q: unknown realm kind %q, want one of background, worker, background-page, content-script, page, user-script, web-page, native-host", e.In, kind)
		}
		e.realmKinds = kinds
		if hasExt {
			i, err := s.extensionNamed(ext)
			if err != nil {
				return fmt.Errorf("in %q: %w", e.In, err)
			}
			e.ext = i
		}
	}
	if e.Listener < 0 {
		return fmt.Errorf("listener %d: listeners count from 1", e.Listener)
	}
	for _, v := range []any{e.Message, e.Fields, e.Sender} {
		if _, err := json.Marshal(v); err != nil {
			return fmt.Errorf("a value JSON cannot hold: %w", err)
		}
	}
	return nil
}

// readManifests reads each extension's manifest, so that a missing folder or
// a bad manifest is an input error, and names resolve to manifest names.
func (s *Scenario) readManifests() error {
	doc := s.doc
	s.manifests = make([]*manifest.Manifest, len(s.Extensions))
	for i, dir := range s.Extensions {
		m, err := manifest.Read(s.ExtensionDir(i))
		if err != nil {
			return &InputError{File: s.File, Line: lineOf(doc, "extensions", i), Field: fmt.Sprintf("extensions[%d]", i),
				Err: fmt.Errorf("reading the extension %q: %w", dir, err)}
		}
		s.manifests[i] = m
	}
	// Names left open by Parse resolve now.
	for i := range s.Steps {
		st := &s.Steps[i]
		if st.ext == -2 {
			ext, err := s.extensionRef(st.extValue())
			if err != nil {
				return &InputError{File: s.File, Line: st.Line, Field: fmt.Sprintf("steps[%d].%s", i, st.action), Err: err}
			}
			st.ext = ext
		}
		if st.Wait != nil && st.Wait.ext == -2 {
			if err := s.checkEvent(st.Wait); err != nil {
				return &InputError{File: s.File, Line: st.Wait.Line, Field: fmt.Sprintf("steps[%d].wait", i), Err: err}
			}
		}
	}
	for name, list := range map[string][]Event{"expect.events": s.Expect.Events, "expect.absent": s.Expect.Absent} {
		for i := range list {
			if list[i].ext == -2 {
				if err := s.checkEvent(&list[i]); err != nil {
					return &InputError{File: s.File, Line: list[i].Line, Field: fmt.Sprintf("%s[%d]", name, i), Err: err}
				}
			}
		}
	}
	return nil
}

// ExtensionDir returns the folder of extension i, relative to the scenario's
// folder unless absolute.
func (s *Scenario) ExtensionDir(i int) string {
	dir := s.Extensions[i]
	if filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join(filepath.Dir(s.File), dir)
}

// nodeAt returns the node at path (map keys and sequence indexes) under n,
// or nil.
func nodeAt(n *yaml.Node, path ...any) *yaml.Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch p := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return nil
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
				}
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || p >= len(n.Content) {
				return nil
			}
			n = n.Content[p]
		}
	}
	return n
}

// lineOf returns the line of the node at path, or of its nearest parent
// that is there; 0 without a tree.
func lineOf(n *yaml.Node, path ...any) int {
	for len(path) > 0 {
		if m := nodeAt(n, path...); m != nil {
			// A key's line, not its value's (which may be on the next).
			if key, ok := path[len(path)-1].(string); ok {
				if parent := nodeAt(n, path[:len(path)-1]...); parent != nil && parent.Kind == yaml.MappingNode {
					for i := 0; i+1 < len(parent.Content); i += 2 {
						if parent.Content[i].Value == key {
							return parent.Content[i].Line
						}
					}
				}
			}
			return m.Line
		}
		path = path[:len(path)-1]
	}
	if n == nil {
		return 0
	}
	return n.Line
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// yamlLine returns the first line number a YAML error names, or 0.
func yamlLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var yamlUnknownRE = regexp.MustCompile(`^line \d+: field (\S+) not found in type \S+$`)

// yamlCause words a decoding error without its line (the InputError has
// it): an unknown key, or YAML's own text.
func yamlCause(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		if m := yamlUnknownRE.FindStringSubmatch(te.Errors[0]); m != nil {
			return fmt.Errorf("unknown key %q", m[1])
		}
		msg := te.Errors[0]
		if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "line ") && i > 0 {
			msg = msg[i+2:]
		}
		return errors.New(msg)
	}
	return err
}

// lineAt returns the line of a byte offset of data.
func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}
