package harness

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/portprobe/portprobe/manifest"
	"github.com/portprobe/portprobe/trace"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/extensions"
)

// Extension is an unpacked extension loaded into the browser.
type Extension struct {
	// ID is the extension's ID, as Chrome gave it.
	ID string
	// Name is the manifest's name.
	Name string
	// Dir is the absolute path of the extension's folder.
	Dir string
	// Manifest is the parsed manifest.json.
	Manifest *manifest.Manifest

	b *Browser
}

// String names the extension, such as `extension "mdn-example" (abcd…)`.
func (e *Extension) String() string { return fmt.Sprintf("extension %q (%s)", e.Name, e.ID) }

// GomegaString keeps Gomega's failure messages short: String, not the
// manifest and the browser.
func (e *Extension) GomegaString() string { return e.String() }

// ExtensionLoadError is the error of an extension that Chrome did not load.
type ExtensionLoadError struct {
	// Dir is the folder as the caller gave it.
	Dir string
	// Chrome is Chrome's own message.
	Chrome string
	// Hint is what the harness adds, such as the file the manifest names.
	Hint string
}

func (e *ExtensionLoadError) Error() string {
	s := fmt.Sprintf("loading extension %q: %s", e.Dir, e.Chrome)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// LoadExtension loads the unpacked extension in dir with Extensions.loadUnpacked.
// When Chrome refuses it, the error is an *ExtensionLoadError with Chrome's
// message and what the harness knows besides.
func (b *Browser) LoadExtension(ctx context.Context, dir string) (*Extension, error) {
	defer b.clock.since(spentLoad, time.Now())
	ctx, cancel := b.bound(ctx)
	defer cancel()
	if err := b.lost(); err != nil {
		return nil, fmt.Errorf("loading extension %q: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("loading extension %q: %w", dir, err)
	}
	if b.ff != nil {
		return b.loadInFirefox(ctx, dir, abs)
	}
	// Chrome too would block on a manifest.json that is a FIFO, or read a
	// huge one: refuse those before asking it. A missing or broken one is
	// Chrome's to report.
	if _, err := manifest.ReadFile(filepath.Join(abs, "manifest.json")); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("loading extension %q: %w", dir, err)
	}
	if id, err := manifest.PredictID(abs); err == nil && b.extensionByID(id) != nil {
		// Chrome would replace the loaded one, and two handles would share
		// one ID (the first one's Worker running the second one's code).
		return nil, b.alreadyLoaded(dir, id)
	} else if err == nil && b.wasLoaded(id) {
		// An extension uninstalled a moment ago can still be stopping its
		// worker; Chrome then aborts the start of the new one, which would
		// never run until an event wakes it. An ID this browser never
		// loaded has no worker: its profile is new.
		if err := b.waitWorkersStopped(ctx, id); err != nil {
			return nil, fmt.Errorf("loading extension %q: %w", dir, err)
		}
	}
	// The ServiceWorker domain must know each worker before it stops (see
	// chromeEngine.uninstall). Opened only then, it sometimes reported no
	// worker at all for 30 s, under load; opened now, in the background, it
	// watches the worker start.
	b.startControl()
	if b.opts.IdleWorkers {
		// The worker's history starts with its first status.
		if _, err := b.serviceWorkers(ctx); err != nil {
			return nil, fmt.Errorf("loading extension %q: %w", dir, err)
		}
	}
	if id, err := manifest.PredictID(abs); err == nil {
		// A new load: its worker gets a verdict of its own.
		b.mu.Lock()
		delete(b.workerFailed, id)
		b.mu.Unlock()
	}
	id, err := b.eng.loadUnpacked(ctx, abs)
	if err != nil {
		var refused *refusedError
		if !errors.As(err, &refused) {
			return nil, fmt.Errorf("loading extension %q: %w", dir, err)
		}
		return nil, &ExtensionLoadError{Dir: dir, Chrome: refused.message, Hint: explainLoadError(abs, refused.message)}
	}
	m, err := manifest.Read(abs)
	if err != nil {
		return nil, fmt.Errorf("loading extension %q: Chrome loaded it as %s, but: %w", dir, id, err)
	}
	if b.extensionByID(id) != nil {
		return nil, b.alreadyLoaded(dir, id)
	}
	e := &Extension{ID: id, Name: m.Name, Dir: abs, Manifest: m, b: b}
	b.mu.Lock()
	b.extensions = append(b.extensions, e)
	b.loaded[e.ID] = true
	b.changed.Notify()
	b.mu.Unlock()
	return e, nil
}

// alreadyLoaded is the error of loading an ID that is loaded, unless the
// browser is gone (Chrome died a moment ago): then that is the error.
func (b *Browser) alreadyLoaded(dir, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
	defer cancel()
	if _, err := callBrowser(ctx, b, cdpbrowser.GetVersion, cdp.Empty{}); err != nil {
		return fmt.Errorf("loading extension %q: %w", dir, err)
	}
	old := b.extensionByID(id)
	return fmt.Errorf("loading extension %q: its ID %s is already loaded, as %s from %s (folders with the same manifest key get the same ID); to load a folder again, Reload it or Uninstall it first", dir, id, old, old.Dir)
}

// explainLoadError adds what the harness knows to a vague message of Chrome.
func explainLoadError(dir, chromeMsg string) string {
	if st, err := os.Stat(dir); errors.Is(err, fs.ErrPermission) {
		return permissionHint("the folder's parent cannot be searched", dir)
	} else if err != nil {
		return "the folder does not exist"
	} else if !st.IsDir() {
		return "it is a file, not a folder"
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); errors.Is(err, fs.ErrPermission) {
		return permissionHint("the folder cannot be searched (it lacks the x permission)", dir)
	} else if err != nil {
		return "the folder has no manifest.json"
	}
	m, err := manifest.Read(dir)
	if errors.Is(err, fs.ErrPermission) {
		return permissionHint("manifest.json cannot be read", dir)
	}
	if err != nil {
		if strings.Contains(strings.ToLower(chromeMsg), "manifest") {
			return "" // Chrome said it already
		}
		return err.Error()
	}
	if missing := m.MissingFiles(dir); len(missing) > 0 {
		return fmt.Sprintf("the manifest names files that do not exist: %s", strings.Join(missing, ", "))
	}
	return ""
}

// permissionHint says that a file system permission stops Chrome, which runs
// as this process's user, from reading the extension.
func permissionHint(what, dir string) string {
	who := "this user"
	if u, err := user.Current(); err == nil {
		who = "user " + u.Username
	}
	return fmt.Sprintf("permission denied: %s by %s (Chrome runs as the same user); make the extension readable: chmod -R u+rX %s", what, who, dir)
}

// Extensions returns the loaded extensions, in load order.
func (b *Browser) Extensions() []*Extension {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*Extension(nil), b.extensions...)
}

// Extension returns the loaded extension with the ID or name, or an error that
// lists the loaded ones.
func (b *Browser) Extension(idOrName string) (*Extension, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	for _, e := range b.extensions {
		if e.ID == idOrName || e.Name == idOrName {
			return e, nil
		}
		names = append(names, fmt.Sprintf("%q (%s)", e.Name, e.ID))
	}
	return nil, fmt.Errorf("no loaded extension has the ID or name %q; loaded: %s", idOrName, orNone(names))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// wasLoaded reports whether this browser has loaded the extension ID before.
func (b *Browser) wasLoaded(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.loaded[id]
}

func (b *Browser) extensionByID(id string) *Extension {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.extensions {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// URL returns the chrome-extension:// URL of a file of the extension.
func (e *Extension) URL(path string) string {
	if e.b != nil && e.b.ff != nil {
		// Firefox serves an add-on's files from a UUID of the profile's.
		return "moz-extension://" + e.b.ff.uuidFor(e.ID) + "/" + strings.TrimPrefix(path, "/")
	}
	return "chrome-extension://" + e.ID + "/" + strings.TrimPrefix(path, "/")
}

// Worker waits for the extension's running service worker and returns its
// realm. A worker that restarts is a new realm. In Firefox, where the
// background is a page (an event page in Manifest V3), it returns that
// page's realm (trace.BackgroundPageRealm).
func (e *Extension) Worker(ctx context.Context) (*Realm, error) {
	defer e.b.clock.since(spentWorker, time.Now())
	if e.b.ff != nil {
		// Firefox runs the background as a page (an event page in
		// Manifest V3), not a worker.
		return e.b.waitRealm(ctx, fmt.Sprintf("the background page of %s", e), func(r *Realm) bool {
			return r.Kind == trace.BackgroundPageRealm && r.ExtensionID == e.ID
		})
	}
	if e.Manifest.Background == nil || e.Manifest.Background.ServiceWorker == "" {
		return nil, fmt.Errorf("%s has no background service worker in its manifest", e)
	}
	if e.b.opts.IdleWorkers {
		return nil, fmt.Errorf("the service worker of %s: the browser leaves workers unprobed (Options.IdleWorkers); follow it with WorkerHistory and WaitWorkerStatus", e)
	}
	return e.b.waitRealmUnless(ctx, fmt.Sprintf("the service worker of %s", e), func(r *Realm) bool {
		return r.Kind == trace.WorkerRealm && r.ExtensionID == e.ID
	}, func() error { return e.b.workerFailed[e.ID] })
}

// FrameOption narrows which frame's realm ContentScript returns.
type FrameOption func(*frameFilter)

type frameFilter struct {
	frame string
}

// InFrame selects the frame with this CDP frame ID; the default is the tab's
// main frame.
func InFrame(id string) FrameOption { return func(f *frameFilter) { f.frame = id } }

// ContentScript waits for the extension's content-script world in tab (its main
// frame, or the frame InFrame names) and returns its realm. Content scripts run
// at document_idle by default, so this may wait past the load event.
func (e *Extension) ContentScript(ctx context.Context, tab *Tab, opts ...FrameOption) (*Realm, error) {
	f := frameFilter{frame: string(tab.TargetID)}
	for _, o := range opts {
		o(&f)
	}
	what := fmt.Sprintf("the content script of %s in %s frame %s", e, tab, f.frame)
	return e.b.waitRealm(ctx, what, func(r *Realm) bool {
		return r.Kind == trace.ContentScriptRealm && r.ExtensionID == e.ID && r.Tab == tab && string(r.FrameID) == f.frame
	})
}

// UserScript waits for the extension's user-script world in tab (its main
// frame, or the frame InFrame names; see AllowUserScripts) and returns its
// realm. User scripts registered with a file and with code are both
// probed before their first line.
func (e *Extension) UserScript(ctx context.Context, tab *Tab, opts ...FrameOption) (*Realm, error) {
	f := frameFilter{frame: string(tab.TargetID)}
	for _, o := range opts {
		o(&f)
	}
	what := fmt.Sprintf("the user script of %s in %s frame %s", e, tab, f.frame)
	return e.b.waitRealm(ctx, what, func(r *Realm) bool {
		return r.Kind == trace.UserScriptRealm && r.ExtensionID == e.ID && r.Tab == tab && string(r.FrameID) == f.frame
	})
}

// OpenPage opens the extension's page at path (such as "page.html") in a new
// tab and returns the tab and the page's realm.
func (e *Extension) OpenPage(ctx context.Context, path string) (*Tab, *Realm, error) {
	tab, err := e.b.OpenTab(ctx, e.URL(path))
	if err != nil {
		return nil, nil, err
	}
	r, err := e.PageIn(ctx, tab)
	if err != nil {
		return tab, nil, err
	}
	return tab, r, nil
}

// ClickAction clicks the extension's toolbar action in tab, as a user would:
// action.onClicked fires in the worker with that tab (or the popup opens).
func (e *Extension) ClickAction(ctx context.Context, tab *Tab) error {
	if e.b.ff != nil {
		ctx, cancel := e.b.bound(ctx)
		defer cancel()
		if err := e.b.ff.clickAction(ctx, e.ID, tab); err != nil {
			return fmt.Errorf("clicking the action of %s: %w", e, err)
		}
		return nil
	}
	ctx, cancel := e.b.bound(ctx)
	defer cancel()
	if tab.tabTargetID == "" {
		return fmt.Errorf("clicking the action of %s in %s: the tab's tab target is unknown (another tab opened while the harness opened this one; open a new tab for the click)", e, tab)
	}
	_, err := callBrowser(ctx, e.b, extensions.TriggerAction, extensions.TriggerActionParams{ID: e.ID, TargetID: string(tab.tabTargetID)})
	if err != nil {
		return fmt.Errorf("clicking the action of %s in %s: %w", e, tab, err)
	}
	return nil
}

// loadInFirefox is LoadExtension in Firefox: the add-on's ID is its
// manifest's browser_specific_settings.gecko.id, or one Firefox makes up.
func (b *Browser) loadInFirefox(ctx context.Context, dir, abs string) (*Extension, error) {
	// A missing or broken manifest is Firefox's to report, as it is
	// Chrome's.
	id, err := b.eng.loadUnpacked(ctx, abs)
	if err != nil {
		var refused *refusedError
		if errors.As(err, &refused) {
			return nil, &ExtensionLoadError{Dir: dir, Chrome: refused.message}
		}
		return nil, fmt.Errorf("loading extension %q: %w", dir, err)
	}
	m, err := manifest.Read(abs)
	if err != nil {
		return nil, fmt.Errorf("loading extension %q: Firefox loaded it as %s, but: %w", dir, id, err)
	}
	e := &Extension{ID: id, Name: m.Name, Dir: abs, Manifest: m, b: b}
	b.mu.Lock()
	b.extensions = append(b.extensions, e)
	b.loaded[e.ID] = true
	b.mu.Unlock()
	b.changed.Notify()
	return e, nil
}
