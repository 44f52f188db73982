package compat

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestSourceNotes(t *testing.T) {
	src := NewSource(filepath.Join("testdata", "module"))
	for _, tc := range []struct {
		location string
		firefox  bool
		want     []string
	}{
		{"specs/naming_test.go:17", true, []string{"Firefox throws a plain Error that shows the value."}},
		{"specs/naming_test.go:18", true, []string{"Firefox throws a plain Error that shows the value."}},
		{"specs/naming_test.go:17", false, nil},
		{"specs/naming_test.go:22", false, []string{`Catalog: "found number". Chrome 156: "found integer".`}},
		{"specs/naming_test.go:22", true, nil},
		{"specs/other_test.go:3", true, nil}, // not in this checkout
		{"elsewhere/x.go:3", true, nil},
	} {
		got, err := src.Notes(Spec{Location: tc.location}, tc.firefox)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Notes(%s, firefox %v) = %q, %v; want %q", tc.location, tc.firefox, got, err, tc.want)
		}
	}
	if got, err := (*Source)(nil).Notes(Spec{Location: "specs/naming_test.go:22"}, false); got != nil || err != nil {
		t.Errorf("a nil Source found %q, %v", got, err)
	}
}

// The table takes each differing spec's notes from its source, in the
// engine of its column, and says them once with the first spec's location.
func TestAddNotes(t *testing.T) {
	chromium := suite("Chromium 156.0.8078.114 (/usr/lib/chromium/chromium)",
		it("must be strings for tabs.connect too", 22, passed, "RN-05", "differs"))
	firefox := suite("Mozilla Firefox 153.8.0esr (/usr/lib/firefox-esr/firefox-esr)",
		it("must be strings 42", 17, passed, "RN-05", "firefox-differs"),
		it("must be strings 1.5", 18, passed, "RN-05", "firefox-differs"))
	tbl := build(t, []Run{run(t, "", chromium), run(t, "", firefox)}, nil)
	for i := range tbl.Behaviors[0].Cells {
		for j := range tbl.Behaviors[0].Cells[i].Specs {
			s := &tbl.Behaviors[0].Cells[i].Specs[j]
			s.Location = "specs/naming_test.go" + s.Location[len("specs/connect_test.go"):]
		}
	}
	if err := tbl.AddNotes(NewSource(filepath.Join("testdata", "module"))); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Catalog: \"found number\". Chrome 156: \"found integer\". (`specs/naming_test.go:22`)"},
		{"Firefox throws a plain Error that shows the value. (`specs/naming_test.go:17`)"},
	}
	for i, c := range tbl.Behaviors[0].Cells {
		if got := Does(c.Specs); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s does %q, want %q", tbl.Columns[i].Heading, got, want[i])
		}
	}
}
