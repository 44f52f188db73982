package harness

import (
	"fmt"
	"os"
	"time"

	"github.com/portprobe/portprobe/locate"
	"github.com/portprobe/portprobe/trace"
)

// DefaultTimeout is the deadline of a harness wait when neither the context
// nor Options.Timeout sets one.
const DefaultTimeout = 10 * time.Second

// Options configure Launch. The zero value launches the Chrome that FindChrome
// finds, headless, with no extension.
type Options struct {
	// Browser is the engine to launch: Chrome (the default, also for "") or
	// Firefox.
	Browser Engine
	// FirefoxPath is the Firefox binary. Empty means locate.Firefox.
	FirefoxPath string
	// ChromePath is the browser binary. Empty means locate.Chrome (which reads no environment variable).
	ChromePath string
	// Headful opens a visible window. It needs a display: on a machine
	// without one, run under xvfb-run.
	Headful bool
	// SlowMo waits this long before each harness action (a navigation, a
	// click, a port call, a fault), so a person can follow along in a
	// headful browser.
	SlowMo time.Duration
	// DevTools opens DevTools for each new tab (and implies Headful).
	DevTools bool
	// Extensions are folders of unpacked extensions to load at launch.
	Extensions []string
	// Timeout is the deadline of each wait whose context has none.
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// TraceLimits bound what the trace keeps (Trace and each ResetTrace):
	// the last MaxEvents events, messages of up to MaxMessage bytes (a
	// longer one keeps its size and hash). The zero value keeps
	// everything, as a test wants; a long portprobe trace session sets
	// MaxEvents (--max-events). See docs/trace-cost.md for what an event
	// costs.
	TraceLimits trace.Limits
	// NoSandbox runs Chrome without its sandbox (--no-sandbox), which
	// otherwise keeps a page that exploits a bug in Chrome's renderer away
	// from the rest of the machine. Set it only where Chrome opens pages you
	// trust, such as a CI runner testing your own extension, and where the
	// sandbox cannot start: on Linux, as a user other than root, when
	// unprivileged user namespaces are off or restricted by AppArmor (Ubuntu
	// 23.10 and later) and no setuid chrome-sandbox is next to the browser;
	// Launch then fails, naming the cause and this fix. As root, Chrome
	// always runs without its sandbox (chromedp adds the flag). Firefox
	// ignores it.
	NoSandbox bool
	// Flags are more Chrome command-line flags, as for chromedp.Flag.
	Flags map[string]any
	// IdleWorkers leaves extension service workers without a DevTools
	// session, so Chrome stops them when idle exactly as it does for users.
	// The harness's probe keeps a worker alive (its binding counts as
	// DevTools activity), so by default a probed worker never idles out. With
	// IdleWorkers the workers' own port events are not traced and
	// Extension.Worker fails; Extension.WorkerHistory and
	// Extension.WaitWorkerStatus follow their lifecycle, and content scripts
	// and pages are probed as usual.
	IdleWorkers bool
	// Logf receives the harness's notes (the browser version, ignored
	// targets). Nil means log.Printf with a "portprobe: " prefix.
	Logf func(format string, args ...any)
}

// The environment variables that OptionsFromEnv reads. Launch reads none:
// Options are the whole truth of a launch.
const (
	// EnvChrome gives the browser binary (see locate.ChromeFromEnv).
	EnvChrome = locate.ChromeEnvVar
	// EnvHeadful=1 sets Headful.
	EnvHeadful = "PORTPROBE_HEADFUL"
	// EnvDevTools=1 sets DevTools.
	EnvDevTools = "PORTPROBE_DEVTOOLS"
	// EnvSlowMo=200ms sets SlowMo.
	EnvSlowMo = "PORTPROBE_SLOWMO"
	// EnvTimeout=30s sets Timeout.
	EnvTimeout = "PORTPROBE_TIMEOUT"
	// EnvBrowser=firefox sets Browser.
	EnvBrowser = "PORTPROBE_BROWSER"
	// EnvFirefox gives the Firefox binary.
	EnvFirefox = "PORTPROBE_FIREFOX"
	// EnvNoSandbox=1 sets NoSandbox (read the risk there first).
	EnvNoSandbox = "PORTPROBE_NO_SANDBOX"
)

// OptionsFromEnv returns opts with what the environment variables above ask
// for, so a person can watch a run or point it at another browser without
// changing code: PORTPROBE_HEADFUL=1 go test ./... The variables that are
// set win over opts; the others leave it as it is. It fails, naming the
// variable, on a value it cannot read. The testing package (probetest) and
// the portprobe command call it; Launch never does.
func OptionsFromEnv(opts Options) (Options, error) {
	if p := os.Getenv(EnvChrome); p != "" {
		path, err := locate.ChromeFromEnv()
		if err != nil {
			return opts, err
		}
		opts.ChromePath = path
	}
	switch v := Engine(os.Getenv(EnvBrowser)); v {
	case "":
	case Chrome, Firefox:
		opts.Browser = v
	default:
		return opts, fmt.Errorf("%s=%q: want chrome or firefox", EnvBrowser, v)
	}
	if p := os.Getenv(EnvFirefox); p != "" {
		opts.FirefoxPath = p
	}
	for name, field := range map[string]*bool{EnvHeadful: &opts.Headful, EnvDevTools: &opts.DevTools, EnvNoSandbox: &opts.NoSandbox} {
		switch v := os.Getenv(name); v {
		case "":
		case "1", "true":
			*field = true
		case "0", "false":
			*field = false
		default:
			return opts, fmt.Errorf("%s=%q: want 1 or 0", name, v)
		}
	}
	for name, field := range map[string]*time.Duration{EnvSlowMo: &opts.SlowMo, EnvTimeout: &opts.Timeout} {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return opts, fmt.Errorf("%s=%q: want a duration such as 200ms", name, v)
			}
			*field = d
		}
	}
	return opts, nil
}

// slowedKey marks a context whose action paused for Options.SlowMo already.
type slowedKey struct{}
