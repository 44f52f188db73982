package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/portprobe/portprobe/diagram"
	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/scenario"
)

func init() {
	commands["check"] = command{
		summary: "run a scenario (YAML or JSON) in a browser; exit 0 when its expectations hold",
		run:     func(ctx context.Context, args []string) error { return runCheck(ctx, args, os.Stdout) },
	}
}

// The exit codes of portprobe check.
const (
	exitFailed   = 1 // a step or an expectation failed
	exitBadInput = 2 // the scenario or the command line is wrong
)

// checkDiagram is the file a failed check writes, in --out.
const checkDiagram = "portprobe-check.html"

func parseCheckFlags(args []string, out io.Writer) (file string, outDir, browser, chrome string, headful bool, err error) {
	fs := flag.NewFlagSet("portprobe check", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: portprobe check <scenario.yaml|.yml|.json> [flags]\n\n"+
			"Runs a scenario in a real browser: loads its extensions, serves its pages, takes\n"+
			"its steps and checks the port and message events it expects (see docs/check.md).\n\n"+
			"exit codes:\n"+
			"  0  every step ran and every expectation held\n"+
			"  1  a step or an expectation failed (or the browser could not run): the\n"+
			"     message says which, with the trace so far, and the sequence diagram\n"+
			"     is written to --out/"+checkDiagram+"\n"+
			"  2  bad input: unreadable file, unknown key, bad value, missing or refused\n"+
			"     extension, bad flag; the message names the file, line and field\n\nflags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&outDir, "out", ".", "folder for "+checkDiagram+" when the check fails")
	fs.StringVar(&browser, "browser", "", "engine: chrome or firefox (default: the scenario's browser, then PORTPROBE_BROWSER, then chrome)")
	fs.StringVar(&chrome, "chrome", "", "Chrome binary (default: PORTPROBE_CHROME, then the usual places)")
	fs.BoolVar(&headful, "headful", false, "show the browser window")
	// The file may come before or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", "", "", "", false, err
	}
	switch {
	case file == "" && fs.NArg() == 1:
		file = fs.Arg(0)
	case fs.NArg() > 0:
		return "", "", "", "", false, fmt.Errorf("unexpected arguments %q: give one scenario file", fs.Args())
	}
	if file == "" {
		fs.Usage()
		return "", "", "", "", false, errors.New("no scenario file given")
	}
	switch browser {
	case "", string(harness.Chrome), string(harness.Firefox):
	default:
		return "", "", "", "", false, fmt.Errorf("--browser %q: want chrome or firefox", browser)
	}
	return file, outDir, browser, chrome, headful, nil
}

// runCheck is portprobe check. Its error carries the exit code (exitCoder).
func runCheck(ctx context.Context, args []string, out io.Writer) error {
	file, outDir, browser, chrome, headful, err := parseCheckFlags(args, out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{exitBadInput, err}
	}
	s, err := scenario.Load(file)
	if err != nil {
		return exitError{exitBadInput, err}
	}
	opts, err := harness.OptionsFromEnv(harness.Options{
		Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "portprobe: "+format+"\n", args...) },
	})
	if err != nil {
		return exitError{exitBadInput, err}
	}
	opts.ChromePath = cmp.Or(chrome, opts.ChromePath)
	opts.Headful = opts.Headful || headful
	s.Browser = cmp.Or(browser, s.Browser)
	res, err := scenario.Run(ctx, s, opts, out)
	if err != nil {
		var in *scenario.InputError
		if errors.As(err, &in) {
			return exitError{exitBadInput, err}
		}
		return exitError{exitFailed, err}
	}
	if res.Passed {
		fmt.Fprintf(out, "PASS %s: %d expected events, %d absent, in %s (%d events)\n",
			file, len(s.Expect.Events), len(s.Expect.Absent), res.Browser, len(res.Events))
		return nil
	}
	msg := fmt.Sprintf("FAIL %s in %s\n%s", file, res.Browser, res.Failure)
	path, err := writeCheckDiagram(outDir, res)
	if err != nil {
		msg += fmt.Sprintf("\n(no sequence diagram: %v)", err)
	} else {
		msg += "\nsequence diagram: " + path
	}
	return exitError{exitFailed, errors.New(msg)}
}

// writeCheckDiagram writes the run's sequence diagram in dir and returns its
// absolute path.
func writeCheckDiagram(dir string, res *scenario.Result) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("writing the diagram: %w", err)
	}
	path := filepath.Join(dir, checkDiagram)
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("writing the diagram: %w", err)
	}
	if err := diagram.Write(f, res.Title, res.Events); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing the diagram %s: %w", path, err)
	}
	return filepath.Abs(path)
}

// exitError is an error that ends portprobe with its own exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
func (e exitError) ExitCode() int { return e.code }
