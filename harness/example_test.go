package harness_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/trace"
)

// Launch Chrome with an extension, open a page its content script runs in,
// and wait for the port events of MDN's runtime.connect() example.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	b, err := harness.Launch(ctx, harness.Options{
		Extensions: []string{"../fixtures/extensions/mdn-example"},
		Logf:       func(string, ...any) {}, // quiet
	})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ext, err := b.Extension("mdn-example")
	if err != nil {
		log.Fatal(err)
	}
	worker, err := ext.Worker(ctx)
	if err != nil {
		log.Fatal(err)
	}
	tab, err := b.OpenTab(ctx, b.Pages().URL("/"))
	if err != nil {
		log.Fatal(err)
	}
	cs, err := ext.ContentScript(ctx, tab)
	if err != nil {
		log.Fatal(err)
	}

	// The events arrive by push; Wait blocks until one matches.
	got, err := b.Trace().Wait(ctx, trace.Message().In(cs).WithField("greeting", "hi there content script!"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Kind, "in", got.Realm)

	connected, _ := b.Trace().Wait(ctx, trace.OnConnect().In(worker))
	fmt.Printf("%s in %s, port named %q\n", connected.Kind, connected.Realm, connected.Name)

	// Drive a port from Go: the worker's listener answers it too.
	port, err := cs.Connect(ctx, map[string]any{"name": "from-go"})
	if err != nil {
		log.Fatal(err)
	}
	answer, err := b.Trace().Wait(ctx, trace.Message().OnPort(port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(answer.Message))
	// Output:
	// message in content-script(mdn-example)@tab1
	// onConnect in worker(mdn-example), port named "port-from-cs"
	// {"greeting":"hi there content script!"}
}

// A Chrome that cannot be found, or an extension that does not load, fails
// Launch with an error that names the cause.
func ExampleLaunch_badExtension() {
	ctx := context.Background()
	_, err := harness.Launch(ctx, harness.Options{
		Extensions: []string{"testdata/no-such-extension"},
		Logf:       func(string, ...any) {},
	})
	fmt.Println(err)
	// Output:
	// loading extension "testdata/no-such-extension": File path cannot be resolved. (the folder does not exist)
}
