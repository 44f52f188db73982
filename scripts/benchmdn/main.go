// Command benchmdn times MDN's runtime.connect() example in portprobe, step
// by step as ../shared/bench/puppeteer-mdn/scenario.mjs does in Puppeteer:
// launch Chrome, load the extension, open a local page, wait until the
// content script has the worker's greeting, click the page, wait until the
// worker has both messages, close. It prints one JSON line of milliseconds:
// the steps of the Puppeteer scenario (launch, load, connect, click, total),
// and within them the tab's opening (tab_ms, part of connect_ms) and the
// browser's close (close_ms, part of total_ms only).
// scripts/bench.sh runs it side by side with the Puppeteer scenario.
//
//	go run ./scripts/benchmdn [-ext fixtures/extensions/mdn-example] [-browser chrome|firefox]
//
// With -browser firefox it drives Firefox (PORTPROBE_FIREFOX, or the one
// package locate finds); Firefox needs the fixture's background.scripts,
// so -ext must name an extension that has them, as the default does.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/trace"
)

func main() {
	ext := flag.String("ext", "fixtures/extensions/mdn-example", "the MDN example extension, unmodified")
	engine := flag.String("browser", "", "the browser: chrome or firefox (default: PORTPROBE_BROWSER, else chrome)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	result, err := run(ctx, *ext, harness.Engine(*engine))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmdn:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(result)
}

type timings struct {
	OK        bool  `json:"ok"`
	LaunchMS  int64 `json:"launch_ms"`
	LoadMS    int64 `json:"load_ms"`
	ConnectMS int64 `json:"connect_ms"`
	ClickMS   int64 `json:"click_ms"`
	TotalMS   int64 `json:"total_ms"`
	TabMS     int64 `json:"tab_ms"`
	CloseMS   int64 `json:"close_ms"`
}

func run(ctx context.Context, dir string, engine harness.Engine) (timings, error) {
	var t timings
	t0 := time.Now()
	opts, err := harness.OptionsFromEnv(harness.Options{Logf: func(string, ...any) {}})
	if err != nil {
		return t, err
	}
	switch engine {
	case "":
	case harness.Chrome, harness.Firefox:
		opts.Browser = engine
	default:
		return t, fmt.Errorf("-browser %q: want %q or %q", engine, harness.Chrome, harness.Firefox)
	}
	b, err := harness.Launch(ctx, opts)
	if err != nil {
		return t, err
	}
	defer b.Close()
	tLaunch := time.Now()
	ext, err := b.LoadExtension(ctx, dir)
	if err != nil {
		return t, err
	}
	worker, err := ext.Worker(ctx)
	if err != nil {
		return t, err
	}
	tLoaded := time.Now()
	tab, err := b.OpenTab(ctx, b.Pages().URL("/"))
	if err != nil {
		return t, err
	}
	tTab := time.Now()
	cs, err := ext.ContentScript(ctx, tab)
	if err != nil {
		return t, err
	}
	if _, err := b.Trace().Wait(ctx, trace.Message().In(cs).WithField("greeting", "hi there content script!")); err != nil {
		return t, err
	}
	tConnected := time.Now()
	if err := tab.Click(ctx, "body"); err != nil {
		return t, err
	}
	if _, err := b.Trace().Wait(ctx, trace.Message().In(worker).WithField("greeting", "they clicked the page!")); err != nil {
		return t, err
	}
	var got []string
	for _, e := range b.Trace().Events() {
		if e.Kind == trace.KindMessage && e.Realm == worker {
			var m struct{ Greeting string }
			json.Unmarshal(e.Message, &m)
			got = append(got, m.Greeting)
		}
	}
	tDone := time.Now()
	if err := b.Close(); err != nil {
		return t, err
	}
	ms := func(d time.Duration) int64 { return d.Round(time.Millisecond).Milliseconds() }
	t = timings{
		OK:        len(got) == 2 && got[0] == "hello from content script" && got[1] == "they clicked the page!",
		LaunchMS:  ms(tLaunch.Sub(t0)),
		LoadMS:    ms(tLoaded.Sub(tLaunch)),
		ConnectMS: ms(tConnected.Sub(tLoaded)),
		ClickMS:   ms(tDone.Sub(tConnected)),
		TotalMS:   ms(time.Since(t0)),
		TabMS:     ms(tTab.Sub(tLoaded)),
		CloseMS:   ms(time.Since(tDone)),
	}
	if !t.OK {
		return t, fmt.Errorf("the worker received %q, want the greeting and the click", got)
	}
	return t, nil
}
