package scenario_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/scenario"
)

// load writes a scenario next to the fixtures' MDN example and loads it.
func load(t *testing.T, text string) *scenario.Scenario {
	t.Helper()
	ext, err := filepath.Abs(filepath.Join("..", "fixtures", "extensions", "mdn-example"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(text, "MDN", ext)), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func options(t *testing.T) harness.Options {
	t.Helper()
	opts, err := harness.OptionsFromEnv(harness.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// Every kind of step runs, in order, each wait seeing only what came after
// the step before it: a served page, a click in a named tab, a worker stop,
// a page reload, an extension reload, a second tab that navigates and
// closes.
func TestRunSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	s := load(t, `
extensions: [MDN]
pages:
  /button.html: "<!doctype html><title>b</title><body><button id=go>go</button></body>"
steps:
  - open: /button.html
    as: main
  - wait: {event: Message, in: content-script, fields: {greeting: "hi there content script!"}}
  - click: "#go"
    tab: main
  - wait: {event: Message, in: background, fields: {greeting: "they clicked the page!"}}
  - stop_worker: true
  - wait: {event: OnDisconnect, in: content-script, named: port-from-cs}
  - reload: true
  - wait: {event: Message, in: content-script, fields: {greeting: "hi there content script!"}}
  - reload_extension: mdn-example
  - reload: true
    tab: main
  - wait: {event: Message, in: content-script, fields: {greeting: "hi there content script!"}}
  - open: /
  - navigate: /other.html
  - wait: {event: Connect, in: content-script, named: port-from-cs}
  - close: true
expect:
  events:
    - {event: OnDisconnect, in: content-script(mdn-example), named: port-from-cs, lastError: ""}
  absent:
    - {event: Exception}
`)
	var progress strings.Builder
	res, err := scenario.Run(context.Background(), s, options(t), &progress)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed {
		t.Fatalf("failed:\n%s\nprogress:\n%s", res.Failure, &progress)
	}
	// Four pages connected: the first load, two reloads, the other tab's
	// second document.
	connects := 0
	for _, e := range res.Events {
		if e.Kind == "connect" && e.Name == "port-from-cs" {
			connects++
		}
	}
	if connects < 4 {
		t.Errorf("%d connects, want at least 4 (one per page load); progress:\n%s", connects, &progress)
	}
	for _, step := range []string{`clicking "#go" in tab1`, "stopping the worker of", "reloading extension", "navigating to http://127.0.0.1:", "closing tab"} {
		if !strings.Contains(progress.String(), step) {
			t.Errorf("the progress does not say %q:\n%s", step, &progress)
		}
	}
}

// A wait that runs out says what it waited for, since which step, and the
// trace so far: trace.WaitError's text.
func TestRunWaitFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	s := load(t, `
extensions: [MDN]
timeout: 3s
steps:
  - open: /
  - wait: {event: Message, in: content-script, fields: {greeting: "hi there content script!"}}
  - wait: {event: OnDisconnect, in: content-script}
expect:
  events: [{event: Connect}]
`)
	res, err := scenario.Run(context.Background(), s, options(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed {
		t.Fatal("passed, want the second wait to fail")
	}
	for _, want := range []string{
		"step 3 (line 7, wait): waiting for event onDisconnect in content-script since step 1 (open): context deadline exceeded\n",
		"trace so far:\n",
		`message={"greeting":"hi there content script!"}`,
	} {
		if !strings.Contains(res.Failure, want) {
			t.Errorf("the failure does not say %q:\n%s", want, res.Failure)
		}
	}
}
