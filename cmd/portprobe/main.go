// Command portprobe is portprobe's command line:
//
//	portprobe trace <extension-dir>... [--url URL] [--headful] [--for 10s] [--json FILE] [--mermaid FILE]
//	portprobe check <scenario.yaml> [--out DIR]
//	portprobe compat [flags]
//
// Run it with `go run ./cmd/portprobe <command> -h` for each command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// command is a subcommand: run gets the arguments after its name and a
// context that ends on Ctrl-C or SIGTERM.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands are registered by the files that implement them.
var commands = map[string]command{}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: portprobe <command> [arguments]\n\ncommands:")
	var names []string
	for name := range commands {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", name, commands[name].summary)
	}
}

func main() {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "portprobe: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	endWithGoRun()
	if err := cmd.run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "portprobe %s: %v\n", os.Args[1], err)
		// A command may end with its own code (portprobe check's 2 for
		// bad input).
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}
