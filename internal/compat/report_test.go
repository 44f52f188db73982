package compat

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func TestSpecsReadsLabelsAndLocations(t *testing.T) {
	table := it("uses a table entry", 61, passed, "RC-04", "differs")
	table.ContainerHierarchyTexts = []string{"runtime.connect", "targets its own extension"}
	table.ContainerHierarchyLabels = [][]string{{"connect"}, {"RC-04"}}
	windows := it("runs on Windows", 12, failed)
	windows.LeafNodeLocation.FileName = `D:\a\portprobe\portprobe\specs\naming_test.go`
	r := suite("Chromium 156.0.8078.79 (/usr/lib/chromium/chromium)", table, windows)

	reports, err := ReadReports(writeReport(t, r))
	if err != nil {
		t.Fatal(err)
	}
	specs := Specs(reports)
	if len(specs) != 2 {
		t.Fatalf("Specs returned %d specs, want the 2 Its (not the BeforeSuite): %+v", len(specs), specs)
	}
	s := specs[0]
	if s.Text != "runtime.connect targets its own extension uses a table entry" {
		t.Errorf("Text = %q", s.Text)
	}
	if s.Container != "runtime.connect" || s.Location != "specs/connect_test.go:61" || s.Area != "connect" || !s.Differs {
		t.Errorf("spec = %+v, want container runtime.connect, location specs/connect_test.go:61, area connect, differs", s)
	}
	if !slices.Equal(s.IDs, []string{"RC-04"}) {
		t.Errorf("IDs = %q, want RC-04 once although it is on the It and its container", s.IDs)
	}
	if specs[1].Location != "specs/naming_test.go:12" {
		t.Errorf("a Windows path became %q, want specs/naming_test.go:12", specs[1].Location)
	}
	if !strings.HasPrefix(specs[1].Message, "Expected") {
		t.Errorf("Message = %q, want the failure message", specs[1].Message)
	}
	if got := Browser(reports); got != "Chromium 156.0.8078.79 (/usr/lib/chromium/chromium)" {
		t.Errorf("Browser = %q, want the report entry read back from JSON", got)
	}
}

func TestBrowserIsEmptyWithoutTheEntry(t *testing.T) {
	if got := Browser([]types.Report{suite("")}); got != "" {
		t.Errorf("Browser = %q, want \"\"", got)
	}
}

func TestReadReportsNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadReports(path)
	if err == nil || !strings.Contains(err.Error(), "broken.json") {
		t.Errorf("ReadReports(broken) = %v, want an error that names the file", err)
	}
	if _, err := ReadReports(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("ReadReports(missing file) succeeded")
	}
}

func TestCatalog(t *testing.T) {
	c := testCatalog(t)
	if got, want := c.IDs(), []string{"RC-01", "RC-02", "RC-03"}; !slices.Equal(got, want) {
		t.Errorf("IDs = %q, want %q", got, want)
	}
	if got := c.Title("RC-02"); got != "`onConnect` fires asynchronously in the receiver" {
		t.Errorf("Title(RC-02) = %q", got)
	}
	if c.Rank("RC-03") != 2 || c.Rank("RZ-99") != 3 {
		t.Errorf("Rank(RC-03), Rank(RZ-99) = %d, %d, want 2, 3", c.Rank("RC-03"), c.Rank("RZ-99"))
	}
	var none *Catalog
	if none.Title("RC-01") != "" || none.IDs() != nil || none.Rank("RC-01") != 0 {
		t.Error("the nil catalog is not empty")
	}
	if _, err := ReadCatalog(filepath.Join(t.TempDir(), "missing.md")); err == nil {
		t.Error("ReadCatalog(missing file) succeeded")
	}
}

func TestParseBrowser(t *testing.T) {
	for _, tc := range []struct {
		entry, product, major, bcd string
	}{
		{"Chromium 156.0.8078.79 (/usr/lib/chromium/chromium)", "Chromium", "156", "chrome"},
		{"Google Chrome for Testing 143.0.7499.4 (/opt/hostedtoolcache/setup-chrome/chrome/beta/x64/chrome)", "Chrome for Testing", "143", "chrome"},
		{"Google Chrome 142.0.7444.59 beta (C:\\Program Files\\Google\\Chrome Beta\\Application\\chrome.exe)", "Chrome", "142", "chrome"},
		{"Microsoft Edge 142.0.3595.53 (/usr/bin/microsoft-edge)", "Microsoft Edge", "142", "edge"},
		{"Chromium (no version)", "Chromium", "", "chrome"},
	} {
		b := parseBrowser(tc.entry)
		if b.product != tc.product || b.major() != tc.major || b.bcdBrowser() != tc.bcd {
			t.Errorf("parseBrowser(%q) = %q %q %q, want %q %q %q", tc.entry, b.product, b.major(), b.bcdBrowser(), tc.product, tc.major, tc.bcd)
		}
	}
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want State
	}{
		{"passed", Spec{State: passed}, Passed},
		{"passed, labelled differs", Spec{State: passed, Differs: true}, Differs},
		{"failed, labelled differs", Spec{State: failed, Differs: true}, Failed},
		{"timed out", Spec{State: types.SpecStateTimedout}, Failed},
		{"panicked", Spec{State: types.SpecStatePanicked}, Failed},
		{"pending", Spec{State: pending}, Skipped},
		{"Skip called", Spec{State: skipped, Message: "needs Chrome 148"}, Skipped},
		{"left out by the label filter", Spec{State: skipped}, NotRun},
	} {
		if got := Outcome(tc.spec); got != tc.want {
			t.Errorf("Outcome(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A folder stands for its .md files; an empty one is an error at once.
func TestReadCatalogsOfAFolder(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"b.md":      "### MS-01 second file\n- **Outcome:** The worker gets it.\n",
		"a.md":      "### MX-01 first file\n",
		"notes.txt": "### MT-01 not a catalog file\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := ReadCatalogs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.IDs(); !reflect.DeepEqual(got, []string{"MX-01", "MS-01"}) {
		t.Errorf("IDs = %v, want the .md files' in name order", got)
	}
	if got := c.Outcome("MS-01"); got != "The worker gets it." {
		t.Errorf("Outcome(MS-01) = %q", got)
	}
	if _, err := ReadCatalogs([]string{t.TempDir()}); err == nil || !strings.Contains(err.Error(), "has no .md file") {
		t.Errorf("an empty folder gave %v", err)
	}
}
