package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// writeShardReport writes the report of shard i of 2 of a run on Chrome for
// Testing 142, as `go test ./specs -portprobe.shard=i/2` would: RC-01's spec
// is in shard 1, RC-02's in shard 2, and each shard leaves the other's out.
// state is the outcome of the shard's own spec.
func writeShardReport(t *testing.T, dir string, i int, state types.SpecState) string {
	t.Helper()
	spec := func(text string, line, shard int, id string) types.SpecReport {
		sr := types.SpecReport{
			ContainerHierarchyTexts: []string{"runtime.connect"},
			LeafNodeType:            types.NodeTypeIt,
			LeafNodeText:            text,
			LeafNodeLabels:          []string{"connect", id, fmt.Sprintf("shard-%d-of-2", shard)},
			LeafNodeLocation:        types.CodeLocation{FileName: "/src/portprobe/specs/connect_test.go", LineNumber: line},
			State:                   types.SpecStateSkipped,
		}
		if shard == i {
			sr.State = state
		}
		return sr
	}
	report := types.Report{
		SuiteConfig: types.SuiteConfig{LabelFilter: fmt.Sprintf("(!slow) && shard-%d-of-2", i)},
		SpecReports: types.SpecReports{
			{
				LeafNodeType:  types.NodeTypeBeforeSuite,
				State:         types.SpecStatePassed,
				ReportEntries: types.ReportEntries{{Name: "browser", Value: types.WrapEntryValue("Google Chrome for Testing 142.0.7444.175 (/opt/chrome)")}},
			},
			spec("returns a Port at once", 16, 1, "RC-01"),
			spec("fires onConnect later", 32, 2, "RC-02"),
		},
	}
	data, err := json.Marshal([]types.Report{report})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("reports-cft-stable-shard-%d-of-2", i), "ginkgo.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The compat job gives each shard's report with the leg's name: one column,
// each behavior from the shard that ran it, none skipped.
func TestCompatMergesShards(t *testing.T) {
	dir := t.TempDir()
	one := writeShardReport(t, dir, 1, types.SpecStatePassed)
	two := writeShardReport(t, dir, 2, types.SpecStatePassed)
	var stdout, stderr bytes.Buffer
	if err := runCompat(t.Context(), []string{"--report", "stable=" + one, "--report", "stable=" + two}, &stdout, &stderr); err != nil {
		t.Fatalf("compat: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		"| ID | area | behavior | Chrome for Testing 142 stable |\n",
		"| RC-01 | connect | runtime.connect returns a Port at once | ✅ passed |",
		"| RC-02 | connect | runtime.connect fires onConnect later | ✅ passed |",
		"the suite split in 2 shards. 2 passed, 0 differ, 0 failed, 0 skipped, 0 not run.",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the table lacks %q; it is:\n%s", want, stdout.String())
		}
	}

	// Without shard 2's report, its spec is not run, and the table says why.
	stdout.Reset()
	if err := runCompat(t.Context(), []string{"--report", "stable=" + one}, &stdout, &stderr); err != nil {
		t.Fatalf("compat of one shard: %v", err)
	}
	if !strings.Contains(stdout.String(), "shard 2/2 left no report") {
		t.Errorf("the table of shard 1 alone does not name the missing shard 2/2:\n%s", stdout.String())
	}
}

// Reports of one build that ran a spec with different outcomes are refused.
func TestCompatRefusesOverlappingReports(t *testing.T) {
	one := writeShardReport(t, t.TempDir(), 1, types.SpecStatePassed)
	again := writeShardReport(t, t.TempDir(), 1, types.SpecStateFailed)
	var stdout, stderr bytes.Buffer
	err := runCompat(t.Context(), []string{"--report", "stable=" + one, "--report", "stable=" + again}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "reports of one browser build overlap") || !strings.Contains(err.Error(), `"runtime.connect returns a Port at once"`) {
		t.Errorf("compat of overlapping reports: %v, want an error naming the spec", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("compat wrote a table of overlapping reports:\n%s", stdout.String())
	}
}
