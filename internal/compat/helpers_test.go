package compat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// The tests build small reports by hand, as the suite's would be: a
// BeforeSuite with the browser entry, then Its in a container.

const (
	passed  = types.SpecStatePassed
	failed  = types.SpecStateFailed
	skipped = types.SpecStateSkipped
	pending = types.SpecStatePending
)

// it is an It of the container "runtime.connect" in specs/connect_test.go.
func it(text string, line int, state types.SpecState, labels ...string) types.SpecReport {
	sr := types.SpecReport{
		ContainerHierarchyTexts:  []string{"runtime.connect"},
		ContainerHierarchyLabels: [][]string{{"connect"}},
		LeafNodeType:             types.NodeTypeIt,
		LeafNodeText:             text,
		LeafNodeLabels:           labels,
		LeafNodeLocation:         types.CodeLocation{FileName: "/home/runner/work/portprobe/portprobe/specs/connect_test.go", LineNumber: line},
		State:                    state,
	}
	if state == failed {
		sr.Failure.Message = "Expected\n    <string>: a\nto equal\n    <string>: b"
	}
	return sr
}

// withMessage sets the failure or skip message of a spec.
func withMessage(sr types.SpecReport, msg string) types.SpecReport {
	sr.Failure.Message = msg
	return sr
}

// suite is a report of a run on browser ("" for a run whose BeforeSuite
// failed before it found one).
func suite(browser string, specs ...types.SpecReport) types.Report {
	before := types.SpecReport{LeafNodeType: types.NodeTypeBeforeSuite, State: passed}
	if browser != "" {
		before.ReportEntries = types.ReportEntries{{Name: BrowserEntry, Value: types.WrapEntryValue(browser)}}
	} else {
		before.State = failed
		before.Failure.Message = "Unexpected error:\n    no Chrome found"
	}
	return types.Report{
		SuitePath:      "/home/runner/work/portprobe/portprobe/specs",
		SuiteSucceeded: browser != "",
		StartTime:      time.Date(2026, 11, 24, 16, 36, 0, 0, time.UTC),
		SpecReports:    append(types.SpecReports{before}, specs...),
	}
}

// writeReport writes reports as `ginkgo --json-report` does and returns the
// file's path.
func writeReport(t *testing.T, reports ...types.Report) string {
	t.Helper()
	data, err := json.Marshal(reports)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// run is a Run of one report, read back from JSON as the command reads it.
func run(t *testing.T, name string, r types.Report) Run {
	t.Helper()
	reports, err := ReadReports(writeReport(t, r))
	if err != nil {
		t.Fatal(err)
	}
	return Run{Name: name, Source: name + ".json", Reports: reports}
}

const catalogText = `# catalog

## A. Connect basics

### RC-01 ` + "`runtime.connect()`" + ` returns a Port synchronously
- **Outcome:** Returns a ` + "`Port`" + ` object at once. No exception is thrown.

### RC-02 ` + "`onConnect`" + ` fires asynchronously in the receiver

### RC-03 A context never receives its own ` + "`connect()`" + `

### not-an-id heading
`

func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	path := filepath.Join(t.TempDir(), "messaging-behaviors.md")
	if err := os.WriteFile(path, []byte(catalogText), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// build is Build, failing the test on an error.
func build(t *testing.T, runs []Run, cat *Catalog) *Table {
	t.Helper()
	tbl, err := Build(runs, cat)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}
