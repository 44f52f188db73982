package trace

import "fmt"

// RealmKind says what kind of context a realm is.
type RealmKind string

// The kinds of realms.
const (
	// WorkerRealm is an extension's service worker.
	WorkerRealm RealmKind = "worker"
	// ContentScriptRealm is an extension's content-script isolated world in
	// one frame of a tab.
	ContentScriptRealm RealmKind = "content-script"
	// PageRealm is an extension page (chrome-extension://<id>/...) in a tab.
	PageRealm RealmKind = "page"
	// UserScriptRealm is a world of the extension's user scripts
	// (chrome.userScripts) in one frame of a tab.
	UserScriptRealm RealmKind = "user-script"
	// WebPageRealm is the main world of a web page, probed on request
	// (harness.Tab.ProbeWebPage) to test externally_connectable.
	WebPageRealm RealmKind = "web-page"
	// NativeHostRealm is a native messaging host that the harness installed
	// (harness.Browser.InstallNativeHost): one realm per start of the host
	// process, named after the host, such as "native-host(com.example.echo)~2".
	NativeHostRealm RealmKind = "native-host"
	// BackgroundPageRealm is an extension's background page: Firefox's
	// background, an event page in Manifest V3, where Chrome has a service
	// worker.
	BackgroundPageRealm RealmKind = "background-page"
)

// Source is where an event happened: a realm of the browser (a
// *harness.Realm), or a Place. The trace needs only its name and what it
// is; two events come from the same source when their Sources are equal.
type Source interface {
	// String names the source, unique within its browser, such as
	// "worker(mdn-example)~2" or "content-script(mdn-example)@tab1".
	String() string
	// Describe says what the source is.
	Describe() SourceInfo
}

// SourceInfo says what a Source is.
type SourceInfo struct {
	Kind        RealmKind
	ExtensionID string
	// URL is the worker's script, the frame's document, or a native host's
	// name.
	URL string
	// Tab names the tab of a content script or page, such as "tab1".
	Tab string
	// Frame is the frame's ID when it is not the tab's main frame.
	Frame string
}

// Place is a Source made of its description alone: an event read back from
// trace.json, or made by hand in a test.
type Place struct {
	Name string
	Info SourceInfo
}

// String returns the name.
func (p *Place) String() string {
	if p.Name == "" {
		return fmt.Sprintf("%s(%s)", p.Info.Kind, p.Info.ExtensionID)
	}
	return p.Name
}

// Describe returns the description.
func (p *Place) Describe() SourceInfo { return p.Info }

// GomegaString keeps Gomega's failure messages short.
func (p *Place) GomegaString() string { return p.String() }

// Endpoint is one realm's end of a port or of one message: a
// *harness.Port, or what PortOf makes of an event.
type Endpoint interface {
	// Endpoint returns the realm and its handle of the port.
	Endpoint() (Source, int)
}
