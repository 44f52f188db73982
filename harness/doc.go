// Package harness drives a real Chrome over the DevTools protocol to test
// browser-extension messaging: ports (runtime.connect, runtime.Port,
// onConnect, onConnectExternal, onDisconnect, tabs.connect), one-time
// messages (runtime.sendMessage, tabs.sendMessage, onMessage,
// onMessageExternal and what each listener answers), native messaging with
// a host written in Go (Browser.InstallNativeHost) and user scripts
// (Extension.AllowUserScripts, onUserScriptMessage, onUserScriptConnect).
//
// Launch starts Chrome headless over a pipe with a fresh profile and loads
// unpacked extensions. Every context of an extension becomes a Realm: its
// service worker, its content script's isolated world in any frame of any
// tab (cross-process iframes included), and its pages wherever they run: a
// tab the harness opened, the toolbar popup, a tab or window that the
// extension or a web page opened, an iframe, an offscreen document, the side
// panel. Every page is a Tab, found with Browser.WaitTab, Extension.Popup,
// Extension.SidePanel, Extension.DevToolsPage, Extension.Page and
// Tab.Frame. Before a realm runs its own first line of code, the harness pauses
// it and installs a small probe that reports every port event to Go by push
// (a CDP binding that only that realm can reach) into one ordered Trace. The
// probe also lets Go drive ports and messages from any realm: Connect, Post,
// Disconnect, SendMessage, SendTabMessage, and answer a message from Go with
// ListenMessages and ReplyTo.
//
// The trace, its events and its queries are package trace; tests assert on
// it with the Gomega matchers of package matchers:
//
//	Eventually(b.Trace()).Should(matchers.HaveEvent(
//		trace.OnConnect().In(worker).Named("port-from-cs")))
//
// The probe only observes what the extension's own code does: it wraps the
// listeners that the extension adds and the ports that connect returns, and
// never adds an onConnect listener of its own unless asked to (ListenConnect),
// because a listener changes who receives a connection. One visible change
// remains: the probe reads runtime.lastError in each port's onDisconnect and
// in each sendMessage callback, so Chrome does not log "Unchecked
// runtime.lastError" for a port or a message the probe saw.
//
// Faults are one call each (Extension.StopWorker, Tab.Crash, Tab.Back,
// Extension.Reload, Disable, Uninstall, ...), and the harness finds and probes
// what comes back: a restarted worker, a page restored from the back/forward
// cache. Options.IdleWorkers leaves workers unprobed so that Chrome's idle
// timeout applies; WorkerHistory follows them.
//
// When something fails, Browser.WriteArtifacts writes the trace as JSON and as
// an HTML sequence diagram (package diagram), the realms' console output and
// a screenshot of each tab. Package probetest does it for every failed test,
// and gives tests a shared browser with each test isolated.
//
// Launch reads no environment variable: Options are the whole truth of a
// launch. OptionsFromEnv applies PORTPROBE_HEADFUL, PORTPROBE_SLOWMO and the
// others when asked (probetest and the portprobe command ask). Finding
// Chrome is package locate; manifests and extension IDs are package
// manifest.
//
// Every wait has a deadline (Options.Timeout when the context has none) and
// fails with an error that names the realm, what was awaited and the trace so
// far. Close ends Chrome and removes its private profile folder; a folder left
// by a process that died first is removed by the next Launch.
package harness
