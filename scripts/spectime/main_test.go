package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/portprobe/portprobe/harness"
	"github.com/portprobe/portprobe/probetest"
)

// A report of three specs: two that took the shared browser, in two areas,
// and one with a browser of its own; the table adds up their steps.
func TestWriteFromReport(t *testing.T) {
	// Ginkgo writes an entry's AsJSON from its Raw value, as in a run.
	entry := func(st probetest.SpecTime) types.ReportEntries {
		return types.ReportEntries{{Name: probetest.TimeEntry, Value: types.WrapEntryValue(st)}}
	}
	ms := time.Millisecond
	report := []types.Report{{SpecReports: types.SpecReports{
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed, ContainerHierarchyTexts: []string{"ports", "open"}, LeafNodeText: "a", RunTime: 1000 * ms,
			ReportEntries: entry(probetest.SpecTime{Total: 1000 * ms, TimeSpent: harness.TimeSpent{Load: 100 * ms, Worker: 200 * ms, OpenTab: 300 * ms, Recycle: 100 * ms, Uninstall: 100 * ms}})},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed, ContainerHierarchyTexts: []string{"messages"}, LeafNodeText: "b", RunTime: 500 * ms,
			ReportEntries: entry(probetest.SpecTime{Total: 500 * ms, TimeSpent: harness.TimeSpent{Load: 50 * ms}})},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed, ContainerHierarchyTexts: []string{"ports"}, LeafNodeText: "alone", RunTime: 2000 * ms},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped, ContainerHierarchyTexts: []string{"ports"}, LeafNodeText: "skipped"},
	}}}
	path := filepath.Join(t.TempDir(), "report.json")
	data, err := json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	specs, err := read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 3 {
		t.Fatalf("read %d specs, want the 3 that ran", len(specs))
	}
	var out strings.Builder
	if err := write(&out, specs, 2); err != nil {
		t.Fatal(err)
	}
	// Compared with runs of spaces as one: the columns' widths vary.
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	got := squeeze(out.String())
	for _, want := range []string{
		"3 specs ran, 3.5s in all (the sum of their run times); 2 had the shared browser.",
		// all: own = 200 + 450 = 650 ms of 3.5 s; open tab 300 ms; own browser 2 s.
		"all      3     3.5s     1.167s  19%    4%      6%        9%       3%         3%          57%",
		"ports      2       3s       1.5s",
		"messages 1 500ms 500ms 90% 10% 0% 0% 0% 0% 0%",
		"The 2 slowest specs:",
		"its own browser",
		"total=1000.0ms own=200.0ms load=100.0ms worker=200.0ms open-tab=300.0ms recycle=100.0ms uninstall=100.0ms",
	} {
		if !strings.Contains(got, squeeze(want)) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReadBadReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := read(path); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a report that is not JSON: error %v, want one naming the file", err)
	}
	if _, err := read(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing report: no error")
	}
}
