package compat

import (
	"fmt"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// shardRun is the report of shard i of 3 of a run on cft142, as
// `go test ./specs -portprobe.shard=i/3` writes it: every spec carries the
// label of its shard; the shard's own specs have states, the others are
// skipped by the label filter, with no message.
func shardRun(t *testing.T, i int, states map[string]types.SpecState) Run {
	t.Helper()
	specs := []struct {
		text  string
		line  int
		shard int
		id    string
	}{
		{"returns a Port at once", 16, 1, "RC-01"},
		{"fires onConnect later", 32, 2, "RC-02"},
		{"fires onConnect later, from a page", 40, 3, "RC-02"},
		{"never receives its own connect", 48, 3, "RC-03"},
	}
	var srs []types.SpecReport
	for _, s := range specs {
		state := skipped
		if s.shard == i {
			state = passed
			if st, ok := states[s.text]; ok {
				state = st
			}
		}
		sr := it(s.text, s.line, state, s.id, fmt.Sprintf("shard-%d-of-3", s.shard))
		if state == skipped && s.shard == i {
			sr.Failure.Message = "needs Chrome 148"
		}
		srs = append(srs, sr)
	}
	r := suite(cft142, srs...)
	r.SuiteConfig.LabelFilter = fmt.Sprintf("(!slow) && shard-%d-of-3", i)
	if i == 1 {
		r.SuiteConfig.LabelFilter = "(!slow) && (shard-1-of-3 || !/^shard-[0-9]+-of-[0-9]+$/)"
	}
	out := run(t, "stable", r)
	out.Source = fmt.Sprintf("reports-cft-stable-shard-%d-of-3/ginkgo.json", i)
	return out
}

// The shards of one run are one column: each spec's outcome comes from its
// shard, and a spec another shard left out is not counted as skipped.
func TestBuildMergesShards(t *testing.T) {
	tbl := build(t, []Run{
		shardRun(t, 1, nil),
		shardRun(t, 2, map[string]types.SpecState{"fires onConnect later": failed}),
		shardRun(t, 3, map[string]types.SpecState{"never receives its own connect": skipped}),
	}, testCatalog(t))
	if len(tbl.Columns) != 1 {
		t.Fatalf("%d columns, want the three shards in one", len(tbl.Columns))
	}
	c := tbl.Columns[0]
	if c.Shards != 3 || len(c.Problems) != 0 || len(c.Sources) != 3 {
		t.Errorf("column = %+v, want 3 shards, 3 sources, no problem", c)
	}
	got := map[string]State{}
	for _, b := range tbl.Behaviors {
		got[b.ID] = b.Cells[0].State
	}
	want := map[string]State{"RC-01": Passed, "RC-02": Failed, "RC-03": Skipped}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cells = %v, want %v", got, want)
	}
	// RC-03's one spec skipped itself in its shard ("needs Chrome 148");
	// the two other shards left it out, which is no skip.
	if c.Count[Skipped] != 1 || c.Count[NotRun] != 0 || c.Count[Passed] != 1 || c.Count[Failed] != 1 {
		t.Errorf("counts = %v, want 1 passed, 1 failed, 1 skipped, none not run", c.Count)
	}
	for _, b := range tbl.Behaviors {
		if b.ID == "RC-02" {
			if ran, failedN := b.Cells[0].Ran(); ran != 2 || failedN != 1 {
				t.Errorf("RC-02 ran %d specs, %d failed; want 2 and 1", ran, failedN)
			}
		}
	}
	if md := tbl.Markdown(); !strings.Contains(md, "the suite split in 3 shards") {
		t.Errorf("the Markdown does not say the column's runs are 3 shards:\n%s", md)
	}
}

// A shard whose job died before it uploaded its report is a problem of the
// column: its specs show as not run, and the table says why.
func TestBuildNamesAMissingShard(t *testing.T) {
	tbl := build(t, []Run{shardRun(t, 1, nil), shardRun(t, 3, nil)}, testCatalog(t))
	c := tbl.Columns[0]
	if len(c.Problems) != 1 || c.Problems[0] != "shard 2/3 left no report: its specs show as not run" {
		t.Errorf("problems = %q, want shard 2/3's report missing", c.Problems)
	}
	if !strings.Contains(tbl.Markdown(), "shard 2/3 left no report") {
		t.Error("the Markdown does not name the missing shard")
	}
}

// A spec that ran in two reports of one browser build is an error unless
// its outcome is the same in both: the same report given twice is fine,
// shards that overlap with different outcomes are not.
func TestBuildRefusesOverlappingShards(t *testing.T) {
	one := shardRun(t, 1, nil)
	if _, err := Build([]Run{one, one, shardRun(t, 2, nil), shardRun(t, 3, nil)}, nil); err != nil {
		t.Errorf("the same shard's report twice: %v, want no error", err)
	}
	// Shard 1 of a split in two ran what shard 1 of three did, and more.
	other := shardRun(t, 1, map[string]types.SpecState{"returns a Port at once": failed})
	other.Source = "elsewhere.json"
	_, err := Build([]Run{one, other}, nil)
	if err == nil {
		t.Fatal("two reports ran a spec with different outcomes: no error")
	}
	for _, want := range []string{"Chrome for Testing 142 stable", `"runtime.connect returns a Port at once" (specs/connect_test.go:16)`, "reports-cft-stable-shard-1-of-3/ginkgo.json (passed)", "elsewhere.json (failed: Expected"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// Two builds of one version in one column (a rerun on a newer patch
	// release) are two runs: the greatest outcome wins, as before.
	newer := shardRun(t, 1, map[string]types.SpecState{"returns a Port at once": failed})
	newer.Reports[0].SpecReports[0].ReportEntries[0].Value = types.WrapEntryValue(strings.Replace(cft142, "142.0.7444.175", "142.0.7444.176", 1))
	tbl, err := Build([]Run{one, newer}, nil)
	if err != nil {
		t.Fatalf("two builds in one column: %v", err)
	}
	if s := tbl.Behaviors[0].Cells[0].State; s != Failed {
		t.Errorf("RC-01 in two builds, passed and failed: %s, want failed", s)
	}
}

func TestMerge(t *testing.T) {
	parts := [][]types.Report{shardRun(t, 1, nil).Reports, shardRun(t, 2, nil).Reports}
	all, err := Merge([]string{"1.json", "2.json"}, parts...)
	if err != nil || len(all) != 2 {
		t.Fatalf("Merge = %d reports, %v; want 2, no error", len(all), err)
	}
	bad := shardRun(t, 2, map[string]types.SpecState{"fires onConnect later": failed}).Reports
	if _, err := Merge([]string{"1.json", "2.json", "2-again.json"}, append(parts, bad)...); err == nil || !strings.Contains(err.Error(), "2.json (passed) and in 2-again.json (failed") {
		t.Errorf("Merge of overlapping shards: %v, want an error naming both", err)
	}
}
