package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// firefoxEngine is the engine of Firefox, over its remote debugging
// protocol (see firefox.go).
type firefoxEngine struct {
	b *Browser
	f *ffBrowser
}

var _ engine = firefoxEngine{}

func (e firefoxEngine) kind() Engine { return Firefox }
func (e firefoxEngine) name() string { return e.b.version }

func (e firefoxEngine) loadUnpacked(ctx context.Context, dir string) (string, error) {
	return e.f.loadExtension(ctx, dir)
}

// uninstall and setEnabled go through the AddonManager of Firefox's parent
// process: RDP has no request for them.
func (e firefoxEngine) uninstall(ctx context.Context, id string) error {
	_, err := e.f.parentEval(ctx, `(async () => { const {AddonManager} = ChromeUtils.importESModule("resource://gre/modules/AddonManager.sys.mjs"); const a = await AddonManager.getAddonByID(`+jsString(id)+`); if (!a) throw new Error("no add-on "+`+jsString(id)+`); await a.uninstall(); })()`)
	return err
}

func (e firefoxEngine) setEnabled(ctx context.Context, id string, on bool) error {
	method := "disable"
	if on {
		method = "enable"
	}
	_, err := e.f.parentEval(ctx, `(async () => { const {AddonManager} = ChromeUtils.importESModule("resource://gre/modules/AddonManager.sys.mjs"); const a = await AddonManager.getAddonByID(`+jsString(id)+`); await a.`+method+`(); })()`)
	return err
}

// stopBackground terminates the add-on's background page (an event page in
// Manifest V3), as Firefox does when it is idle.
func (e firefoxEngine) stopBackground(ctx context.Context, id string) error {
	e.f.mu.Lock()
	a := e.f.addons[id]
	e.f.mu.Unlock()
	if a == nil {
		return fmt.Errorf("no add-on %s in this Firefox", id)
	}
	return e.f.conn.Request(ctx, a.actor, "terminateBackgroundScript", nil, nil)
}

// ffRealm reaches a realm of Firefox through the console actor of its
// target. The probe's control object is a global of the realm named ctl.
type ffRealm struct {
	f       *ffBrowser
	console string
	ctl     string
}

var _ realmConn = (*ffRealm)(nil)

// evaluate runs expression, awaits its value, and returns it as JSON. It
// must be one expression: Chrome's Runtime.evaluate also takes statements
// ("stmt; true"), but here the text goes into an async function, and an
// indirect eval would be refused by an extension page's CSP.
func (c *ffRealm) evaluate(ctx context.Context, expression string) (json.RawMessage, string, error) {
	return c.run(ctx, "const v = await ("+expression+"\n);")
}

func (c *ffRealm) callProbe(ctx context.Context, decl string, args []json.RawMessage) (json.RawMessage, string, error) {
	v, exc, err := c.apply(ctx, decl, args)
	if err == nil {
		c.settle(ctx)
	}
	return v, exc, err
}

// apply calls the function decl on the probe's control object with args.
func (c *ffRealm) apply(ctx context.Context, decl string, args []json.RawMessage) (json.RawMessage, string, error) {
	list := "["
	for i, a := range args {
		if i > 0 {
			list += ","
		}
		if a == nil {
			list += "undefined"
		} else {
			list += string(a)
		}
	}
	list += "]"
	return c.run(ctx, "const v = await ("+decl+").apply(globalThis["+jsString(c.ctl)+"], "+list+");")
}

// settle waits until the events that the realm sent before now have
// reached the trace, so that a probe call returns with its events in the
// trace, as in Chrome (which delivers a session's events in order with its
// answers). Firefox sends the console messages that carry them apart from
// the answers to evaluations. It gives up after a few seconds: the call may
// have ended the realm (a page that closed itself).
func (c *ffRealm) settle(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c.mark(ctx)
}

// mark makes the probe send what it holds, then a marker, and waits until
// the marker has come back: the realm's events sent before it are in the
// trace then.
func (c *ffRealm) mark(ctx context.Context) error {
	id := randomHex(8)
	seen := c.f.b.waitMark(id)
	defer c.f.b.forgetMark(id)
	if _, exc, err := c.apply(ctx, "function (id) { this.mark(id); }", []json.RawMessage{json.RawMessage(jsString(id))}); err != nil {
		return err
	} else if exc != "" {
		return errors.New(exc)
	}
	select {
	case <-seen:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the probe's marker: %w", context.Cause(ctx))
	}
}

// run evaluates body, which sets v, and returns v as JSON text, or the
// text of what it threw. The answer is one string: "u" for undefined, "v"
// and the JSON, or "e" and "Name: message" (a rejected promise gives
// Firefox's console nothing to report but that it was rejected).
func (c *ffRealm) run(ctx context.Context, body string) (json.RawMessage, string, error) {
	text := "(async () => { try { " + body + " return v === undefined ? 'u' : 'v' + JSON.stringify(v); } " +
		"catch (e) { return 'e' + (e && typeof e === 'object' && 'message' in e ? (e.name ? e.name + ': ' : '') + e.message : String(e)); } })()"
	ev, err := c.f.conn.Evaluate(ctx, c.console, map[string]any{"text": text, "mapped": map[string]any{"await": true}})
	if err != nil {
		return nil, "", err
	}
	if ev.HasException {
		// The text itself did not compile (a statement where an
		// expression goes).
		var msg string
		if json.Unmarshal(ev.ExceptionMessage, &msg) != nil {
			msg = string(ev.ExceptionMessage)
		}
		return nil, msg, nil
	}
	answer, err := c.f.gripString(ctx, ev.Result)
	if err != nil {
		return nil, "", err
	}
	switch {
	case answer == "u":
		return nil, "", nil
	case strings.HasPrefix(answer, "v"):
		return json.RawMessage(answer[1:]), "", nil
	case strings.HasPrefix(answer, "e"):
		return nil, answer[1:], nil
	}
	return nil, "", fmt.Errorf("firefox: an evaluation answered %.80q", answer)
}

// gripString returns the string that a grip holds, asking for the whole
// of a long one.
func (f *ffBrowser) gripString(ctx context.Context, grip json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(grip, &s) == nil {
		return s, nil
	}
	var g struct {
		Type   string `json:"type"`
		Actor  string `json:"actor"`
		Length int    `json:"length"`
	}
	if err := json.Unmarshal(grip, &g); err != nil || g.Type != "longString" {
		return "", fmt.Errorf("firefox: an evaluation gave %.80s, not a string", grip)
	}
	var sub struct {
		Substring string `json:"substring"`
	}
	if err := f.conn.Request(ctx, g.Actor, "substring", map[string]any{"start": 0, "end": g.Length}, &sub); err != nil {
		return "", err
	}
	return sub.Substring, nil
}
