package harness

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/portprobe/portprobe/trace"
)

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
		tr.AddConsole(trace.ConsoleEntry{At: cdpTime(ev.Timestamp), Realm: r, Level: string(ev.Type), Text: strings.Join(args, " ")})
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := exceptionText(d)
		if d.URL != "" {
			text += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
		}
		tr.AddConsole(trace.ConsoleEntry{At: cdpTime(ev.Timestamp), Realm: r, Level: "exception", Text: text})
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
