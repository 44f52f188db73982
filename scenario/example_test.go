package scenario_test

import (
	"fmt"

	"github.com/portprobe/portprobe/scenario"
	"github.com/portprobe/portprobe/trace"
)

// A scenario in YAML: the extension to load, what to do, what must happen.
// Check tests the expectations against a trace; Run (or `portprobe check
// scenario.yaml`) makes that trace in a real browser.
func ExampleParse() {
	s, err := scenario.Parse("greet.yaml", []byte(`
extensions: [my-extension]
steps:
  - open: /
expect:
  in_order: true
  events:
    - {event: Connect, in: content-script, named: greet}
    - {event: Message, in: background, fields: {hello: true}}
  absent:
    - {event: OnDisconnect}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	cs := &trace.Place{Name: "content-script(my-extension)@tab1", Info: trace.SourceInfo{Kind: trace.ContentScriptRealm, ExtensionID: "abc"}}
	worker := &trace.Place{Name: "worker(my-extension)", Info: trace.SourceInfo{Kind: trace.WorkerRealm, ExtensionID: "abc"}}
	events := []trace.Event{
		{Seq: 1, Realm: cs, Port: 1, Kind: trace.KindConnect, Name: "greet"},
		{Seq: 2, Realm: worker, Port: 1, Kind: trace.KindOnConnect, Name: "greet"},
	}
	ext := func(int) (string, string) { return "my-extension", "abc" }
	fmt.Println(s.Check(events, ext))
	// Output:
	// Expected the trace to have these events in order:
	//   1. connect in content-script named "greet"  [ok #1]
	//   2. message in background with hello=true  [MISSING]
	// Step 2 found no match after event #1.
	// Closest events:
	//     2 00:00:00.000000 onConnect         worker(my-extension)#1 name="greet"
	// Whole trace:
	//     1 00:00:00.000000 connect           content-script(my-extension)@tab1#1 name="greet"
	//     2 00:00:00.000000 onConnect         worker(my-extension)#1 name="greet"
}

// A mistake in a scenario names the file, the line and the field.
func ExampleParse_mistake() {
	_, err := scenario.Parse("greet.yaml", []byte(`
extensions: [my-extension]
steps:
  - open: /
  - click_action: true
    tab: main
expect:
  events: [{event: Connect}]
`))
	fmt.Println(err)
	// Output:
	// greet.yaml:5: steps[1].click_action: no tab named "main" opened before (name a tab with as: in its open step)
}
