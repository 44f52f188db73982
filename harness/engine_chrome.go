package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/cdp"
	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/extensions"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/portprobe/portprobe/trace"
)

// chromeEngine is the engine of Chrome and Chromium, over the DevTools
// protocol (see engine.go).
type chromeEngine struct{ b *Browser }

var _ engine = chromeEngine{}

func (c chromeEngine) kind() Engine { return Chrome }
func (c chromeEngine) name() string { return c.b.version }

func (c chromeEngine) loadUnpacked(ctx context.Context, dir string) (string, error) {
	res, err := callBrowser(ctx, c.b, extensions.LoadUnpacked, extensions.LoadUnpackedParams{Path: dir})
	if cerr := (*cdproto.Error)(nil); errors.As(err, &cerr) {
		return "", &refusedError{cerr.Message}
	}
	return res.ID, err
}

func (c chromeEngine) uninstall(ctx context.Context, id string) error {
	if c.b.hasLiveWorker(id) {
		// A later load of the same ID waits for this worker to stop
		// (waitWorkersStopped), which only the ServiceWorker domain
		// reports. That domain reports what exists some time after it
		// opens, so it must know this worker before the worker goes: a
		// domain opened only at the next load found nothing yet, and the
		// new worker's start was aborted by the old one's stop.
		if err := c.b.knowWorker(ctx, id); err != nil {
			return err
		}
	}
	_, err := callBrowser(ctx, c.b, extensions.Uninstall, extensions.UninstallParams{ID: id})
	return err
}

// hasLiveWorker reports whether the harness holds a live worker realm of
// the extension.
func (b *Browser) hasLiveWorker(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.realms {
		if r.Kind == trace.WorkerRealm && r.ExtensionID == id && !r.Gone() {
			return true
		}
	}
	return false
}

// knowWorker waits until the ServiceWorker domain has reported a version of
// the extension's worker.
func (b *Browser) knowWorker(ctx context.Context, id string) error {
	s, err := b.serviceWorkers(ctx)
	if err != nil {
		return err
	}
	_, err = untilSW(ctx, b, s, func() (struct{}, bool, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, v := range s.versions {
			if extensionIDOf(v.ScriptURL) == id {
				return struct{}{}, true, nil
			}
		}
		return struct{}{}, false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the ServiceWorker domain to report the worker of %s (it reported: %s): %w", id, s.describe(), err)
	}
	return nil
}

// describe lists the worker versions the ServiceWorker domain reported, for
// an error: "none", or each one's script and status.
func (s *swState) describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	for _, v := range s.versions {
		parts = append(parts, fmt.Sprintf("%s %s/%s", v.ScriptURL, v.Status, v.RunningStatus))
	}
	if len(parts) == 0 {
		return "none"
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// setEnabled goes through chrome.management in the harness's helper
// extension: CDP has no command for it.
func (c chromeEngine) setEnabled(ctx context.Context, id string, on bool) error {
	m, err := c.b.manager(ctx)
	if err != nil {
		return err
	}
	_, err = m.Eval(ctx, fmt.Sprintf("chrome.management.setEnabled(%s, %v)", jsString(id), on))
	return err
}

// stopBackground stops the running version of the extension's service
// worker, which the ServiceWorker domain reports on the control page.
func (c chromeEngine) stopBackground(ctx context.Context, id string) error {
	s, err := c.b.serviceWorkers(ctx)
	if err != nil {
		return err
	}
	scope := "chrome-extension://" + id + "/"
	version, err := untilSW(ctx, c.b, s, func() (string, bool, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var version string
		for vid, v := range s.versions {
			if strings.HasPrefix(s.regs[v.RegistrationID], scope) && v.RunningStatus == serviceworker.VersionRunningStatusRunning {
				version = vid
			}
		}
		return version, version != "", nil
	})
	if err != nil {
		return fmt.Errorf("no running version reported by the ServiceWorker domain: %w", err)
	}
	_, err = callIn(ctx, c.b.controlCtx, serviceworker.StopWorker, serviceworker.StopWorkerParams{VersionID: version})
	return err
}

// cdpRealm reaches a realm of Chrome: an execution context on the session
// of its target.
type cdpRealm struct {
	sess     cdp.Session // the session with the realm's target
	uniqueID string      // empty for a worker: it has one context
	api      runtime.RemoteObjectID
}

var _ realmConn = (*cdpRealm)(nil)

func (c *cdpRealm) evaluate(ctx context.Context, expression string) (json.RawMessage, string, error) {
	res, err := callOn(ctx, c.sess, runtime.Evaluate, runtime.EvaluateParams{
		Expression:      expression,
		UniqueContextID: c.uniqueID,
		AwaitPromise:    new(true),
		ReturnByValue:   new(true),
	})
	return cdpValue(res.Result, res.ExceptionDetails, err)
}

func (c *cdpRealm) callProbe(ctx context.Context, decl string, args []json.RawMessage) (json.RawMessage, string, error) {
	callArgs := make([]*runtime.CallArgument, len(args))
	for i, a := range args {
		callArgs[i] = &runtime.CallArgument{Value: jsonv2.Value(a)}
	}
	res, err := callOn(ctx, c.sess, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: decl,
		ObjectID:            c.api,
		Arguments:           callArgs,
		ReturnByValue:       new(true),
		AwaitPromise:        new(true),
	})
	return cdpValue(res.Result, res.ExceptionDetails, err)
}

// cdpValue turns the answer of an evaluation into a value or an exception.
func cdpValue(obj *runtime.RemoteObject, exc *runtime.ExceptionDetails, err error) (json.RawMessage, string, error) {
	switch {
	case err != nil:
		return nil, "", err
	case exc != nil:
		return nil, exceptionText(exc), nil
	case obj == nil || obj.Type == "undefined":
		return nil, "", nil
	}
	return json.RawMessage(obj.Value), "", nil
}

// cdp returns the Chrome side of a realm.
func (r *Realm) cdp() *cdpRealm {
	c, _ := r.conn.(*cdpRealm)
	return c
}
