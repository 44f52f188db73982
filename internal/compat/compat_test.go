package compat

import (
	"slices"
	"strings"
	"testing"
)

const (
	chromium156 = "Chromium 156.0.8078.79 (/usr/lib/chromium/chromium)"
	cft142      = "Google Chrome for Testing 142.0.7444.175 (/opt/hostedtoolcache/setup-chrome/chrome/stable/x64/chrome)"
	cft143      = "Google Chrome for Testing 143.0.7499.4 (/opt/hostedtoolcache/setup-chrome/chrome/beta/x64/chrome)"
)

// legs are the runs of a small CI matrix.
func legs(t *testing.T) []Run {
	mdn := it("connects from the content script", 31, passed)
	mdn.ContainerHierarchyTexts = []string{"The runtime.connect() example from MDN"}
	mdn.ContainerHierarchyLabels = [][]string{{"mdn", "connect"}}
	slow := it("stops the worker after 30 s", 55, skipped, "RL-01", "slow") // left out by the filter
	slow.ContainerHierarchyLabels = [][]string{{"lifecycle"}}
	slowRan := slow
	slowRan.State = passed

	return []Run{
		run(t, "debian", suite(chromium156,
			it("returns a Port at once", 16, passed, "RC-01"),
			it("fires onConnect later", 32, passed, "RC-02", "differs"),
			mdn,
			slow,
		)),
		run(t, "stable", suite(cft142,
			it("returns a Port at once", 16, passed, "RC-01"),
			it("fires onConnect later", 32, failed, "RC-02"),
			it("fires onConnect later, from a page", 40, passed, "RC-02"),
			mdn,
			slow,
		)),
		run(t, "beta", suite(cft143,
			withMessage(it("returns a Port at once", 16, skipped, "RC-01"), "needs Chrome 148"),
			it("fires onConnect later", 32, passed, "RC-02"),
		)),
		// The stable leg's slow specs, run apart: the same column.
		run(t, "stable", suite(cft142, slowRan)),
		run(t, "windows", suite("")),
	}
}

func TestBuildColumns(t *testing.T) {
	tbl := build(t, legs(t), testCatalog(t))
	var headings []string
	for _, c := range tbl.Columns {
		headings = append(headings, c.Heading)
	}
	want := []string{"Chrome for Testing 142 stable", "Chrome for Testing 143 beta", "Chromium 156 debian", "unknown browser windows"}
	if !slices.Equal(headings, want) {
		t.Fatalf("columns = %q, want %q (by version, the unknown browser last, the two stable runs merged)", headings, want)
	}
	stable := tbl.Columns[0]
	if !slices.Equal(stable.Sources, []string{"stable.json", "stable.json"}) || len(stable.Browsers) != 1 {
		t.Errorf("stable column = %+v, want both stable runs and their one browser", stable)
	}
	if stable.Version != "142" || stable.BCDBrowser != "chrome" || stable.Product != "Chrome for Testing" {
		t.Errorf("stable column = %+v, want Chrome for Testing 142, chrome", stable)
	}
	windows := tbl.Columns[3]
	if windows.Version != "" || len(windows.Problems) != 1 || !strings.Contains(windows.Problems[0], "BeforeSuite failed: Unexpected error: no Chrome found") {
		t.Errorf("windows column = %+v, want no version and the BeforeSuite's failure as a problem", windows)
	}
}

func TestBuildCells(t *testing.T) {
	tbl := build(t, legs(t), testCatalog(t))
	got := map[string][]State{}
	var order []string
	for _, b := range tbl.Behaviors {
		key := b.ID
		if key == "" {
			key = b.Title
		}
		order = append(order, key)
		for _, c := range b.Cells {
			got[key] = append(got[key], c.State)
		}
	}
	// Rows: connect's catalog IDs in catalog order, then connect's specs
	// without an ID, then lifecycle.
	if want := []string{"RC-01", "RC-02", "The runtime.connect() example from MDN", "RL-01"}; !slices.Equal(order, want) {
		t.Errorf("rows = %q, want %q", order, want)
	}
	for key, want := range map[string][]State{
		// columns: 142 stable, 143 beta, 156 debian, unknown windows
		"RC-01":                                  {Passed, Skipped, Passed, NotRun},
		"RC-02":                                  {Failed, Passed, Differs, NotRun},
		"The runtime.connect() example from MDN": {Passed, NotRun, Passed, NotRun},
		"RL-01":                                  {Passed, NotRun, NotRun, NotRun},
	} {
		if !slices.Equal(got[key], want) {
			t.Errorf("%s: cells = %v, want %v", key, got[key], want)
		}
	}
	if !slices.Equal(tbl.Unchecked, []string{"RC-03"}) {
		t.Errorf("Unchecked = %q, want RC-03", tbl.Unchecked)
	}
	rc02 := tbl.Behaviors[1]
	if rc02.Title != "`onConnect` fires asynchronously in the receiver" {
		t.Errorf("RC-02's title = %q, want the catalog's", rc02.Title)
	}
	if ran, failed := rc02.Cells[0].Ran(); ran != 2 || failed != 1 {
		t.Errorf("RC-02 in 142: ran, failed = %d, %d, want 2, 1", ran, failed)
	}
	rl01 := tbl.Behaviors[3].Cells[0]
	if len(rl01.Specs) != 1 || Outcome(rl01.Specs[0]) != Passed {
		t.Errorf("RL-01 in 142 has specs %+v, want the one spec, once, as it passed in the slow run", rl01.Specs)
	}
	if c := tbl.Columns[0].Count; c[Passed] != 3 || c[Failed] != 1 {
		t.Errorf("142's counts = %v, want 3 passed and 1 failed", c)
	}
}

func TestBuildWithoutCatalogUsesSpecTexts(t *testing.T) {
	tbl := build(t, legs(t)[:1], nil)
	if got := tbl.Behaviors[0].Title; got != "runtime.connect returns a Port at once" {
		t.Errorf("RC-01's title without a catalog = %q, want its spec's text", got)
	}
	if tbl.Unchecked != nil {
		t.Errorf("Unchecked = %q without a catalog", tbl.Unchecked)
	}
}

func TestBuildWithoutName(t *testing.T) {
	tbl := build(t, []Run{{Source: "a.json", Reports: legs(t)[0].Reports}, {Source: "b.json", Reports: legs(t)[4].Reports}}, nil)
	if tbl.Columns[0].Heading != "Chromium 156" || tbl.Columns[1].Heading != "unknown browser (b.json)" {
		t.Errorf("headings = %q, %q", tbl.Columns[0].Heading, tbl.Columns[1].Heading)
	}
}

func TestBuildLeavesOutRowsThatRanNowhere(t *testing.T) {
	out := it("sends a message", 20, skipped, "RC-03") // left out by the label filter
	group := it("loads an extension", 30, skipped)
	group.ContainerHierarchyTexts = []string{"Loading extensions"}
	tbl := build(t, []Run{run(t, "", suite(chromium156, it("returns a Port at once", 16, passed, "RC-01"), out, group))}, testCatalog(t))
	if len(tbl.Behaviors) != 1 || tbl.Behaviors[0].ID != "RC-01" {
		t.Errorf("rows = %+v, want RC-01 only", tbl.Behaviors)
	}
	if !slices.Equal(tbl.NotRun, []string{"RC-03"}) || tbl.NotRunGroups != 1 {
		t.Errorf("NotRun, NotRunGroups = %q, %d, want RC-03 and 1 group", tbl.NotRun, tbl.NotRunGroups)
	}
	if tbl.Unchecked != nil && slices.Contains(tbl.Unchecked, "RC-03") {
		t.Errorf("Unchecked = %q: RC-03 has a spec, it just did not run", tbl.Unchecked)
	}
	md := tbl.Markdown()
	if want := "Not run in any browser, so not in the table (left out by the label filter): RC-03, and 1 group of specs without a catalog ID.\n"; !strings.Contains(md, want) {
		t.Errorf("the Markdown lacks %q:\n%s", want, md)
	}
}

func TestBuildPutsARunWithoutBrowserInItsLegsColumn(t *testing.T) {
	tbl := build(t, []Run{
		run(t, "stable", suite(cft142, it("returns a Port at once", 16, passed, "RC-01"))),
		run(t, "stable", suite("")), // the slow run, whose BeforeSuite failed
	}, nil)
	if len(tbl.Columns) != 1 || tbl.Columns[0].Heading != "Chrome for Testing 142 stable" || len(tbl.Columns[0].Problems) != 1 {
		t.Errorf("columns = %+v, want the one stable column, with the BeforeSuite's failure", tbl.Columns)
	}
}
