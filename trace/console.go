package trace

import (
	"fmt"
	"strings"
	"time"
)

// ConsoleEntry is one console message or uncaught exception of a probed
// realm, for reading after a failure.
type ConsoleEntry struct {
	At    time.Time
	Realm Source
	// Level is the console method ("log", "warning", "error", ...) or
	// "exception" for an uncaught exception.
	Level string
	// Text is the message: the arguments joined by spaces, or the
	// exception's "Name: message" and where it was thrown.
	Text string
}

// String formats the entry on one line, as the artifacts print it.
func (c ConsoleEntry) String() string {
	return fmt.Sprintf("%s %-9s %s: %s", c.At.Format("15:04:05.000000"), c.Level, nameOf(c.Realm), c.Text)
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

// AddConsole keeps a console entry of a realm whose events the trace takes;
// past 5000 entries it counts them instead.
func (t *Trace) AddConsole(c ConsoleEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.console) >= maxConsole {
		t.consoleDropped++
		return
	}
	t.console = append(t.console, c)
}

// WaitText is the trace as a failed wait prints it: the events, then the
// last uncaught exceptions of the realms (a worker whose top-level code
// threw runs on, but Chrome did not register it, so what the test waits
// for never comes).
func (t *Trace) WaitText() string {
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

// GomegaString keeps Gomega's failure messages short.
func (c ConsoleEntry) GomegaString() string { return c.String() }
