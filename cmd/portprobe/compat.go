package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/internal/compat"
)

func init() {
	commands["compat"] = command{
		summary: "run the specs, or read their reports, and print which behaviors hold in which browser",
		run: func(ctx context.Context, args []string) error {
			return runCompat(ctx, args, os.Stdout, os.Stderr)
		},
	}
}

// compatFlags are the flags of portprobe compat.
type compatFlags struct {
	browsers string // --browsers: engines, comma-separated
	catalog  string
	json     string
	results  string
	markdown string
	// chromiumAsChrome is --chromium-as-chrome: compat.BCDOptions.ChromiumAsChrome.
	chromiumAsChrome bool
	reports          reportList
	// ginkgo are the arguments after "--", for ginkgo.
	ginkgo []string
}

// reportArg is one --report: a Ginkgo JSON report, and the name of the run
// that wrote it.
type reportArg struct {
	name, path string
}

// reportList is the repeatable --report flag.
type reportList []reportArg

func (l *reportList) String() string {
	var s []string
	for _, r := range *l {
		s = append(s, r.path)
	}
	return strings.Join(s, ",")
}

func (l *reportList) Set(v string) error {
	*l = append(*l, parseReportArg(v))
	return nil
}

// parseReportArg reads "[NAME=]FILE". A file whose own name has a "=" is
// taken whole when it exists.
func parseReportArg(v string) reportArg {
	if _, err := os.Stat(v); err == nil {
		return reportArg{path: v}
	}
	if name, path, ok := strings.Cut(v, "="); ok && name != "" && path != "" {
		return reportArg{name: name, path: path}
	}
	return reportArg{path: v}
}

func parseCompatFlags(args []string, out io.Writer) (compatFlags, error) {
	var f compatFlags
	fs := flag.NewFlagSet("portprobe compat", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: portprobe compat [flags] [-- ginkgo flags]\n\n"+
			"Without --report, runs the conformance suite (go tool ginkgo ./specs, from the\n"+
			"module's folder) in the Chrome that portprobe finds (or in each engine --browsers\n"+
			"names), with the ginkgo flags after\n"+
			"--, such as --label-filter=mdn. With --report, reads Ginkgo JSON reports instead,\n"+
			"one or more per browser, and runs nothing. Either way it prints a table of the\n"+
			"catalog behaviors by browser version as Markdown.\n\nflags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.browsers, "browsers", "", "engines to run the suite in, comma-separated, each a column: chrome, firefox (default: PORTPROBE_BROWSER, then chrome)")
	fs.StringVar(&f.catalog, "catalog", "", "catalog files or folders of them, comma-separated (messaging-behaviors.md, docs/catalog), for the behaviors' titles, outcomes, order and browser-compat-data names (optional, but without it the BCD names come from the specs' texts)")
	fs.StringVar(&f.json, "json", "", "also write the catalog behaviors as MDN browser-compat-data (webextensions.api.…, valid against BCD's schema) to this file")
	fs.StringVar(&f.results, "results", "", "also write what the --json data is made from to this file: each behavior's BCD feature, its result in each column, and why a browser has no statement")
	fs.BoolVar(&f.chromiumAsChrome, "chromium-as-chrome", false, "count unbranded Chromium builds (Debian's) as browser-compat-data's chrome in --json, noting it in each statement (default: leave them out)")
	fs.StringVar(&f.markdown, "markdown", "", "write the Markdown to this file instead of standard output (such as $GITHUB_STEP_SUMMARY)")
	fs.Var(&f.reports, "report", "`[NAME=]FILE`: a Ginkgo JSON report to read instead of running the suite; repeat it for each browser. "+
		"NAME is added to the browser's column heading (\"beta\", \"macos\"); reports of one browser with the same NAME share a column, "+
		"and those of one browser build are parts of one run (each shard's report, with the leg's NAME): a spec that ran in two of them with different outcomes is an error")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	f.ginkgo = fs.Args()
	if len(f.reports) > 0 && len(f.ginkgo) > 0 {
		return f, fmt.Errorf("ginkgo arguments %q given with --report: --report reads reports and runs nothing", f.ginkgo)
	}
	if len(f.reports) > 0 && f.browsers != "" {
		return f, fmt.Errorf("--browsers given with --report: --report reads reports and runs nothing")
	}
	for _, b := range strings.Split(f.browsers, ",") {
		switch harness.Engine(b) {
		case "", harness.Chrome, harness.Firefox:
		default:
			return f, fmt.Errorf("--browsers: %q is not an engine (chrome or firefox)", b)
		}
	}
	return f, nil
}

// runCompat is portprobe compat. Progress of the suite goes to stderr, the
// table to stdout unless --markdown says where. When the suite ran and
// failed, it still writes the table, then returns the failure.
func runCompat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseCompatFlags(args, stderr)
	if err != nil {
		return err
	}
	var cat *compat.Catalog
	if f.catalog != "" {
		if cat, err = compat.ReadCatalogs(strings.Split(f.catalog, ",")); err != nil {
			return err
		}
	}

	var runs []compat.Run
	var suiteErr error
	if len(f.reports) > 0 {
		for _, r := range f.reports {
			reports, err := compat.ReadReports(r.path)
			if err != nil {
				return err
			}
			runs = append(runs, compat.Run{Name: r.name, Source: r.path, Reports: reports})
		}
	} else {
		browsers := []string{""} // the environment's
		if f.browsers != "" {
			browsers = strings.Split(f.browsers, ",")
		}
		for _, b := range browsers {
			reports, err := runSuite(ctx, b, f.ginkgo, stderr)
			if reports == nil {
				return err
			}
			suiteErr = errors.Join(suiteErr, err)
			runs = append(runs, compat.Run{Reports: reports})
		}
	}

	table, err := compat.Build(runs, cat)
	if err != nil {
		return errors.Join(err, suiteErr)
	}
	// What differing specs' comments say a browser does, when the command
	// runs in portprobe's folder; elsewhere the table shows their texts.
	if root, err := moduleRoot(ctx); err == nil {
		if err := table.AddNotes(compat.NewSource(root)); err != nil {
			return err
		}
	}
	opts := compat.BCDOptions{ChromiumAsChrome: f.chromiumAsChrome}
	if f.json != "" {
		data, err := table.BCD(opts)
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.json, data, 0o644); err != nil {
			return fmt.Errorf("writing the browser-compat-data JSON: %w", err)
		}
	}
	if f.results != "" {
		data, err := table.Results(opts)
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.results, data, 0o644); err != nil {
			return fmt.Errorf("writing the results: %w", err)
		}
	}
	md := table.Markdown()
	if f.markdown != "" {
		if err := os.WriteFile(f.markdown, []byte(md), 0o644); err != nil {
			return fmt.Errorf("writing the Markdown: %w", err)
		}
	} else if _, err := io.WriteString(stdout, md); err != nil {
		return err
	}
	if suiteErr != nil {
		return fmt.Errorf("the suite failed (the table shows where): %w", suiteErr)
	}
	return nil
}

// runSuite runs the conformance suite with ginkgo from the module's folder,
// in browser (an engine's name, or "" for PORTPROBE_BROWSER's),
// its output to out, and returns its report. The report comes back with an
// error when specs failed; without one when ginkgo wrote none (the suite did
// not compile, say).
func runSuite(ctx context.Context, browser string, extra []string, out io.Writer) ([]types.Report, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "portprobe-compat-")
	if err != nil {
		return nil, fmt.Errorf("making a folder for the report: %w", err)
	}
	defer os.RemoveAll(dir)

	args := ginkgoArgs(dir, extra)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = out, out
	if browser != "" {
		cmd.Env = append(os.Environ(), harness.EnvBrowser+"="+browser)
	}
	// On Ctrl-C ginkgo gets an interrupt, so that it stops Chrome and
	// writes its report; Windows has no such signal.
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 30 * time.Second
	fmt.Fprintf(out, "portprobe compat: go %s (in %s)\n", strings.Join(args, " "), root)
	runErr := cmd.Run()
	if runErr != nil {
		runErr = fmt.Errorf("go %s: %w", strings.Join(args, " "), runErr)
	}
	reports, err := compat.ReadReports(filepath.Join(dir, "report.json"))
	if err != nil {
		return nil, errors.Join(runErr, err)
	}
	return reports, runErr
}

// ginkgoArgs are the arguments of `go` that run the suite with a JSON report
// in dir and the user's ginkgo arguments: flags, then the package, then what
// follows a "--" of the user's (arguments for the test binary).
func ginkgoArgs(dir string, extra []string) []string {
	args := []string{"tool", "ginkgo", "--json-report=report.json", "--output-dir=" + dir}
	flags, rest := extra, []string(nil)
	if i := slices.Index(extra, "--"); i >= 0 {
		flags, rest = extra[:i], extra[i:]
	}
	args = append(args, flags...)
	args = append(args, "./specs")
	return append(args, rest...)
}

// moduleRoot returns the folder of the portprobe module the command runs in.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module with go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not in a Go module: run portprobe compat in portprobe's folder, or give --report")
	}
	root := filepath.Dir(gomod)
	if fi, err := os.Stat(filepath.Join(root, "specs")); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("the module in %s has no specs folder: run portprobe compat in portprobe's folder, or give --report", root)
	}
	return root, nil
}
