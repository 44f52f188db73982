package harness

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/runtime"
)

// ConsoleEntry is one console message or uncaught exception of a probed
// realm, for reading after a failure.
type ConsoleEntry struct {
	At    time.Time
	Realm *Realm
	// Level is the console method ("log", "warning", "error", ...) or
	// "exception" for an uncaught exception.
	Level string
	// Text is the message: the arguments joined by spaces, or the
	// exception's "Name: message" and where it was thrown.
	Text string
}

func (c ConsoleEntry) String() string {
	return fmt.Sprintf("%s %-9s %s: %s", c.At.Format("15:04:05.000000"), c.Level, c.Realm, c.Text)
}

// maxConsole bounds the console entries a trace keeps; later ones are
// counted, not kept.
const maxConsole = 5000

// Console returns the console messages and uncaught exceptions of the realms
// whose events the trace takes, in the order they reached the harness.
func (t *Trace) Console() []ConsoleEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]ConsoleEntry(nil), t.console...)
	if t.consoleDropped > 0 {
		out = append(out, ConsoleEntry{At: time.Now(), Level: "portprobe", Text: fmt.Sprintf("%d more entries not kept", t.consoleDropped)})
	}
	return out
}

func (t *Trace) addConsole(c ConsoleEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.console) >= maxConsole {
		t.consoleDropped++
		return
	}
	t.console = append(t.console, c)
}

// recordConsole adds a console event of realm r to the trace that takes r.
func (b *Browser) recordConsole(r *Realm, ev any) {
	if r == nil {
		return
	}
	tr := b.traceFor(r)
	if tr == nil {
		return
	}
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			args = append(args, remoteText(a))
		}
		tr.addConsole(ConsoleEntry{At: cdpTime(ev.Timestamp), Realm: r, Level: string(ev.Type), Text: strings.Join(args, " ")})
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := exceptionText(d)
		if d.URL != "" {
			text += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
		}
		tr.addConsole(ConsoleEntry{At: cdpTime(ev.Timestamp), Realm: r, Level: "exception", Text: text})
	}
}

// remoteText renders a console argument as the console would, briefly.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	if p := o.Preview; p != nil && (p.Type == "object") {
		var parts []string
		for _, prop := range p.Properties {
			parts = append(parts, prop.Name+": "+prop.Value)
		}
		if p.Overflow {
			parts = append(parts, "…")
		}
		if p.Subtype == "array" {
			return "[" + strings.Join(parts, ", ") + "]"
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Type)
}

// cdpTime converts a Runtime timestamp (ms since the epoch) to a time, or now.
func cdpTime(ts runtime.Timestamp) time.Time {
	if ts == 0 {
		return time.Now()
	}
	return time.UnixMicro(int64(ts.Float64() * 1000))
}

// waitText is the trace as a failed wait prints it: the events, then the
// last uncaught exceptions of the realms (a worker whose top-level code
// threw runs on, but Chrome did not register it, so what the test waits
// for never comes).
func (t *Trace) waitText() string {
	const most = 5
	var exc []string
	for _, c := range t.Console() {
		if c.Level == "exception" {
			exc = append(exc, "  "+c.String())
		}
	}
	text := t.String()
	if len(exc) == 0 {
		return text
	}
	if len(exc) > most {
		exc = append([]string{fmt.Sprintf("  (%d earlier ones left out)", len(exc)-most)}, exc[len(exc)-most:]...)
	}
	return text + "\nuncaught exceptions:\n" + strings.Join(exc, "\n")
}
