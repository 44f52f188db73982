package harness

import (
	"context"
	"encoding/json"
)

// The browser seam.
//
// The core (Browser, Extension, Tab, Realm, Port, the trace and the waits)
// asks a browser engine for what only the engine can do through the two
// interfaces below, and the engine tells the core what it finds through
// three calls of the core: addRealm when a realm has its probe (before the
// realm's first line of code ran), record when a realm's probe reports
// events, and Realm.markGone when a realm's context ends.
//
// The Chrome engine drives Chrome over the DevTools protocol: engine_chrome.go
// implements engine; chrome_targets.go and chrome_worker.go (with the frame
// sessions of tab.go) pause and probe workers, tabs and frames before their
// first line; package internal/cdppipe is the relay on the pipe that takes
// the sessions Chrome auto-attaches. A second engine, Firefox over its
// remote debugging protocol, implements the same: a realm there is an actor
// reached with evaluateJSAsync, a pause is the event breakpoint on a
// script's first statement, and the background is an event page, not a
// worker.
//
// What an engine does not support is an error that names the engine and
// the call, never a silent no-op.

// Engine names a browser engine, for tests whose expectations differ by
// engine (Browser.Engine).
type Engine string

// The engines.
const (
	// Chrome is Chrome, Chromium, Edge and the other Chromium browsers,
	// driven over the DevTools protocol.
	Chrome Engine = "chrome"
	// Firefox is Firefox ESR, driven over its remote debugging protocol
	// (first steps: see firefox.go).
	Firefox Engine = "firefox"
)

// engine is what the core asks of a browser engine for an extension.
type engine interface {
	// kind says which engine this is.
	kind() Engine
	// name names the engine and its version for messages, such as
	// "Chromium 156.0.8078.79".
	name() string
	// loadUnpacked loads the unpacked extension in the absolute folder
	// dir, or reloads it when it is loaded, and returns its ID. When the
	// browser refuses the extension, the error is a *refusedError with the
	// browser's words.
	loadUnpacked(ctx context.Context, dir string) (id string, err error)
	// uninstall removes the extension with its storage.
	uninstall(ctx context.Context, id string) error
	// setEnabled enables or disables the extension.
	setEnabled(ctx context.Context, id string, on bool) error
	// stopBackground stops the extension's background context now, as the
	// browser does when it is idle (Chrome: its service worker).
	stopBackground(ctx context.Context, id string) error
}

// realmConn is how the core reaches one realm's JavaScript. A call returns
// the value as JSON (nil for undefined), or the text of the exception the
// code threw ("Name: message"), or an error when the call did not happen
// or its answer did not come.
type realmConn interface {
	// evaluate runs expression in the realm, awaiting it when it is a
	// promise.
	evaluate(ctx context.Context, expression string) (value json.RawMessage, exception string, err error)
	// callProbe calls the JavaScript function decl with the realm's probe
	// as this and args (each JSON; nil is undefined), awaiting a promise.
	callProbe(ctx context.Context, decl string, args []json.RawMessage) (value json.RawMessage, exception string, err error)
}

// refusedError is an engine's error for an extension that the browser
// refused to load, in the browser's words ("Manifest is not valid JSON.").
type refusedError struct{ message string }

func (e *refusedError) Error() string { return e.message }
