// Command chromeversion prints the Chrome that portprobe would use and its
// version, or why none is found.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/portprobe/portprobe/harness"
)

func main() {
	path, err := harness.FindChrome()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	v, err := harness.ChromeVersion(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s at %s\n", v, path)
}
