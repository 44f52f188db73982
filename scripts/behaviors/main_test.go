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
