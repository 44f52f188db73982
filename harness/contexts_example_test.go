package harness_test

import (
	"context"
	"fmt"
	"time"

	"github.com/portprobe/portprobe/trace"
)

// A page that a web page opens with window.open is a Tab of its own, held by
// Chrome until the harness has set up its probing and then let go: the
// opener goes on at once, and the content script in the popup is probed from
// its first line like any other.
func ExampleBrowser_WaitTab() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, ext, tab, _ := mdnWorld(ctx)
	defer b.Close()
	b.Pages().Handle("/opener", `<button onclick="window.open('/popup')" style="width: 100vw; height: 100vh">open</button>`)
	if err := tab.Navigate(ctx, b.Pages().URL("/opener")); err != nil {
		panic(err)
	}
	// A real click: Chrome lets a page open a popup on a user gesture only.
	if err := tab.Click(ctx, "button"); err != nil {
		panic(err)
	}
	popup, err := b.WaitTab(ctx, b.Pages().URL("/popup"))
	if err != nil {
		panic(err)
	}
	cs, err := ext.ContentScript(ctx, popup)
	if err != nil {
		panic(err)
	}
	greeting, err := b.Trace().Wait(ctx, trace.Message().In(cs))
	if err != nil {
		panic(err)
	}
	fmt.Println("opened by the tab:", popup.OpenerID == tab.TargetID)
	fmt.Println("the popup's content script got", string(greeting.Message))
	// Output:
	// opened by the tab: true
	// the popup's content script got {"greeting":"hi there content script!"}
}
