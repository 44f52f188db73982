package specs_test

import (
	. "github.com/onsi/ginkgo/v2"

	. "github.com/portprobe/portprobe/harness"
)

// What the harness cannot reach in Firefox yet, for the contexts specs.
const (
	ctxNoPopup    = "Firefox: harness cannot yet reach the action's popup: Firefox opens popup.html in the toolbar panel's own browser, which no watcher of the Firefox engine follows (Extension.Popup waits for a page in a tab and times out)"
	ctxNoOwnTabs  = "Firefox: harness cannot yet adopt a tab that Firefox opens itself (tabs.create, window.open): the Firefox engine watches only the tabs it opened, and Browser.WaitTab times out"
	ctxNoIframes  = "Firefox: harness cannot yet follow iframes: the Firefox engine probes a tab's main frame only (Tab.Frame sees no frames)"
	ctxNoDevTools = "Firefox: harness cannot yet open DevTools: Options.DevTools is Chrome's --auto-open-devtools-for-tabs, and the Firefox engine opens no toolbox"
)

// ctxSkipInFirefox skips the spec, for reason, in Firefox.
func ctxSkipInFirefox(reason string) {
	if options().Browser == Firefox {
		Skip(reason)
	}
}
