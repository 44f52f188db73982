// Package scenario runs declarative checks: a YAML or JSON file that names a
// browser, the unpacked extensions to load, the pages to serve, the steps to
// take (open a tab, click, click the toolbar action, navigate, reload, close,
// stop the worker, reload/disable/enable/uninstall the extension, wait for
// an event) and the port and message events expected, in the vocabulary of
// package trace's queries (Connect, OnConnect, Post, Message, ...; in,
// named, message, fields, sender, lastError, error).
//
// Load reads and checks a file without a browser; every mistake in it is an
// *InputError naming the file, the line and the field. Run plays the
// scenario in a browser it launches and closes, and reports the outcome as a
// Result whose Failure is the matcher's own text (matchers.HaveEvent,
// matchers.HaveEventsInOrder) or trace.WaitError's, with the trace so far.
// The command `portprobe check` is a thin layer over the two.
package scenario
