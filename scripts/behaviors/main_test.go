package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/portprobe/portprobe/internal/compat"
)

// The page of excerpts of real runs (Chromium 156 and Firefox 153, in
// internal/compat/testdata) puts what the catalog says beside what each
// browser does. Without the specs' source (internal/compat's tests read
// comments from it), what a browser does is the texts of the specs that
// assert it.
func TestRenderCatalogSaysBrowserDoes(t *testing.T) {
	testdata := filepath.Join("..", "..", "internal", "compat", "testdata")
	var runs [][]types.Report
	for _, name := range []string{"chromium156.json", "firefox153.json"} {
		reports, err := compat.ReadReports(filepath.Join(testdata, name))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, reports)
	}
	catalog, err := compat.ReadCatalog(filepath.Join(testdata, "catalog.md"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := render(runs, catalog, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| RN-05 | naming | `name` must be a string | [differs](#differs-rn-05) | [differs](#differs-rn-05) |",
		"<a id=\"differs-rn-05\"></a>\n### RN-05 `name` must be a string\n\n- **Catalog says:** `runtime.connect({name: 42})` throws a `TypeError`",
		"- **Chromium 156 does:** port names must be strings: connect throws a TypeError that names the type it found 42 is an integer (`specs/naming_test.go:122`); port names must be strings for tabs.connect too",
		"- **Firefox 153 does:** port names must be strings: connect throws a TypeError that names the type it found 42 is an integer (`specs/naming_test.go:122`); port names must be strings: connect throws a TypeError that names the type it found 1.5 is a number",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "differs-rc-02") {
		t.Errorf("RC-02 holds in both browsers, yet the page lists it as differing")
	}
}

// A run split in shards makes the same page as the run whole: the real
// Chromium run, cut in two by hand (each spec run in one shard, left out of
// the other as the label filter leaves it out), merges back into one column.
// Shards that ran a spec with different outcomes are refused.
func TestShardsMakeTheSamePage(t *testing.T) {
	testdata := filepath.Join("..", "..", "internal", "compat", "testdata")
	path := filepath.Join(testdata, "chromium156.json")
	whole, err := compat.ReadReports(path)
	if err != nil {
		t.Fatal(err)
	}
	shard := func(i int) []types.Report {
		reports, err := compat.ReadReports(path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ri := range reports {
			for si, sr := range reports[ri].SpecReports {
				if sr.LeafNodeType != types.NodeTypeIt {
					continue
				}
				if n++; n%2 != i {
					reports[ri].SpecReports[si].State = types.SpecStateSkipped
					reports[ri].SpecReports[si].Failure = types.Failure{}
				}
			}
		}
		return reports
	}
	catalog, err := compat.ReadCatalog(filepath.Join(testdata, "catalog.md"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := render([][]types.Report{whole}, catalog, nil)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := byBuild([]string{"shard-1.json", "shard-2.json"}, [][]types.Report{shard(0), shard(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("%d columns from two shards of one build, want 1", len(runs))
	}
	got, err := render(runs, catalog, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("the page of two shards differs from the page of the whole run:\n--- shards\n%s\n--- whole\n%s", got, want)
	}

	bad := shard(1)
	for ri := range bad {
		for si, sr := range bad[ri].SpecReports {
			if sr.LeafNodeType == types.NodeTypeIt && sr.State == types.SpecStatePassed {
				bad[ri].SpecReports[si].State = types.SpecStateFailed
			}
		}
	}
	if _, err := byBuild([]string{"shard-2.json", "shard-2-again.json"}, [][]types.Report{shard(1), bad}); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("two reports of one shard with different outcomes: %v, want an overlap error", err)
	}
}
