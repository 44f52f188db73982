// Command chromeversion prints the Chrome that portprobe would use and its
// version, or why none is found.
package main

import (
	"context"
	"fmt"
	"github.com/portprobe/portprobe/locate"
	"os"
)

func main() {
	path, err := locate.ChromeFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	v, err := locate.ChromeVersion(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s at %s\n", v, path)
}
