package compat

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// leg is one run in which RC-01's only spec ended in state.
type leg struct {
	version string // "142"
	name    string
	state   types.SpecState
	differs bool
}

// support returns the "chrome" support of RC-01 in the BCD JSON of legs.
func support(t *testing.T, legs ...leg) any {
	t.Helper()
	var runs []Run
	for _, l := range legs {
		labels := []string{"RC-01"}
		if l.differs {
			labels = append(labels, "differs")
		}
		browser := fmt.Sprintf("Google Chrome for Testing %s.0.1.2 (/opt/chrome)", l.version)
		spec := it("returns a Port at once", 16, l.state, labels...)
		if l.state == skipped {
			spec = withMessage(spec, "needs Chrome 148") // Skip called
		}
		runs = append(runs, run(t, l.name, suite(browser, spec)))
	}
	f := decodeBCD(t, Build(runs, testCatalog(t)))
	return dig(t, f, "portprobe", "runtime_connect", "RC-01", "__compat", "support", "chrome")
}

func decodeBCD(t *testing.T, tbl *Table) map[string]any {
	t.Helper()
	data, err := tbl.BCD()
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("BCD wrote invalid JSON: %v\n%s", err, data)
	}
	return f
}

func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %q: %v is not an object", k, v)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("no key %q in %v", k, m)
		}
	}
	return v
}

// versions keeps only the version fields of statements, to compare them.
func versions(v any) any {
	switch v := v.(type) {
	case []any:
		var out []any
		for _, s := range v {
			out = append(out, versions(s))
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for _, k := range []string{"version_added", "version_removed", "partial_implementation"} {
			if x, ok := v[k]; ok {
				out[k] = x
			}
		}
		return out
	}
	return v
}

func TestBCDStatements(t *testing.T) {
	for _, tc := range []struct {
		name string
		legs []leg
		want any
	}{
		{
			name: "passed in one version: supported there, perhaps earlier",
			legs: []leg{{version: "156", state: passed}},
			want: map[string]any{"version_added": "≤156"},
		},
		{
			name: "failed after passing: removed, exactly when the versions are adjacent",
			legs: []leg{{version: "142", name: "stable", state: passed}, {version: "143", name: "beta", state: failed}},
			want: map[string]any{"version_added": "≤142", "version_removed": "143"},
		},
		{
			name: "failed then passed in adjacent versions: added exactly",
			legs: []leg{{version: "142", state: failed}, {version: "143", state: passed}},
			want: map[string]any{"version_added": "143"},
		},
		{
			name: "a failure in one OS of a version: that version is not claimed",
			legs: []leg{
				{version: "140", name: "old", state: passed},
				{version: "141", name: "old", state: passed, differs: true},
				{version: "142", name: "stable", state: failed},
				{version: "144", name: "dev", state: passed},
				{version: "145", name: "linux", state: passed},
				{version: "145", name: "macos", state: failed},
			},
			want: []any{
				map[string]any{"version_added": "≤144", "version_removed": "145"},
				map[string]any{"version_added": "≤140", "version_removed": "142", "partial_implementation": true},
			},
		},
		{
			name: "a gap between the last pass and the first failure",
			legs: []leg{{version: "140", state: passed}, {version: "143", state: failed}},
			want: map[string]any{"version_added": "≤140", "version_removed": "≤143"},
		},
		{
			name: "failed everywhere",
			legs: []leg{{version: "142", state: failed}},
			want: map[string]any{"version_added": false},
		},
		{
			name: "only skipped: unknown",
			legs: []leg{{version: "142", state: skipped}},
			want: map[string]any{"version_added": nil},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := support(t, tc.legs...)
			if !reflect.DeepEqual(versions(got), tc.want) {
				t.Errorf("support.chrome = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBCDNotes(t *testing.T) {
	got := support(t,
		leg{version: "142", name: "stable", state: passed, differs: true},
		leg{version: "142", name: "macos", state: passed},
		leg{version: "143", name: "beta", state: failed},
	)
	notes := dig(t, got, "notes").([]any)
	want := []any{
		"Passed in Chrome for Testing 142 stable, Chrome for Testing 142 macos.",
		"Chrome does not do what the catalog says; what it does is asserted by <code>specs/connect_test.go:16</code>.",
		"Failed in Chrome for Testing 143 beta: runtime.connect returns a Port at once (<code>specs/connect_test.go:16</code>): Expected &lt;string&gt;: a to equal &lt;string&gt;: b.",
	}
	if !reflect.DeepEqual(notes, want) {
		t.Errorf("notes = %q\nwant %q", notes, want)
	}
	one := support(t, leg{version: "156", state: passed})
	if n := dig(t, one, "notes"); n != "Passed in Chrome for Testing 156." {
		t.Errorf("a single note = %#v, want it as a string, as browser-compat-data writes it", n)
	}
}

func TestBCDShape(t *testing.T) {
	f := decodeBCD(t, Build(legs(t), testCatalog(t)))
	rc01 := dig(t, f, "portprobe", "runtime_connect", "RC-01", "__compat").(map[string]any)
	if got := rc01["description"]; got != "<code>runtime.connect()</code> returns a Port synchronously" {
		t.Errorf("description = %q, want the catalog title with <code>", got)
	}
	wantStatus := map[string]any{"experimental": false, "standard_track": false, "deprecated": false}
	if !reflect.DeepEqual(rc01["status"], wantStatus) {
		t.Errorf("status = %v, want %v", rc01["status"], wantStatus)
	}
	if support := rc01["support"].(map[string]any); len(support) != 1 || support["chrome"] == nil {
		t.Errorf("support = %v, want chrome only: Chromium and Chrome for Testing are both chrome", support)
	}
	mdn := dig(t, f, "portprobe", "uncataloged", "the_runtime_connect_example_from_mdn", "__compat", "description")
	if mdn != "The runtime.connect() example from MDN" {
		t.Errorf("the MDN example's description = %q", mdn)
	}
	results := dig(t, f, "__meta", "results", "RC-02")
	wantResults := map[string]any{
		"Chrome for Testing 142 stable": "failed",
		"Chrome for Testing 143 beta":   "passed",
		"Chromium 156 debian":           "differs",
		"unknown browser windows":       "not run",
	}
	if !reflect.DeepEqual(results, wantResults) {
		t.Errorf("__meta.results.RC-02 = %v, want %v", results, wantResults)
	}
	if ts := dig(t, f, "__meta", "timestamp"); ts != "2026-11-24T16:36:00Z" {
		t.Errorf("timestamp = %v", ts)
	}
	columns := dig(t, f, "__meta", "columns").([]any)
	if len(columns) != 4 || dig(t, columns[3], "version") != "" {
		t.Errorf("columns = %v, want 4, the last without a version", columns)
	}
	// RC-02 failed in 142 and passed in 143 and 156 (differing in 156).
	rc02 := dig(t, f, "portprobe", "runtime_connect", "RC-02", "__compat", "support", "chrome")
	want := map[string]any{"version_added": "143", "partial_implementation": true}
	if !reflect.DeepEqual(versions(rc02), want) {
		t.Errorf("RC-02's support = %v, want %v", rc02, want)
	}
}

func TestBCDEscapesHTML(t *testing.T) {
	r := run(t, "", suite(chromium156, it("matches <all_urls> & more", 9, passed)))
	r.Reports[0].SpecReports[1].ContainerHierarchyTexts = []string{"patterns <all_urls>"}
	data, err := Build([]Run{r}, nil).BCD()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"description": "patterns &lt;all_urls&gt;"`) {
		t.Errorf("the description is not escaped HTML:\n%s", data)
	}
}

// Chromium and Firefox side by side: each its own column and BCD browser,
// and each engine's differs label counts in its own column only.
func TestFirefoxBesideChromium(t *testing.T) {
	chromium := suite("Chromium 156.0.8078.114 (/usr/lib/chromium/chromium)",
		it("returns a Port at once", 16, passed, "RC-01", "firefox-differs"),
		it("fires onConnect later", 32, passed, "RC-02", "differs"))
	firefox := suite("Mozilla Firefox 153.8.0esr (/usr/lib/firefox-esr/firefox-esr)",
		it("returns a Port at once", 16, passed, "RC-01", "firefox-differs"),
		it("fires onConnect later", 32, passed, "RC-02", "differs"))
	tbl := Build([]Run{run(t, "", chromium), run(t, "", firefox)}, testCatalog(t))
	var headings []string
	for _, c := range tbl.Columns {
		headings = append(headings, c.Heading+"/"+c.BCDBrowser+"/"+c.Version)
	}
	if want := []string{"Chromium 156/chrome/156", "Firefox 153/firefox/153"}; !reflect.DeepEqual(headings, want) {
		t.Fatalf("columns %v, want %v", headings, want)
	}
	states := map[string][]State{}
	for _, bh := range tbl.Behaviors {
		for _, c := range bh.Cells {
			states[bh.ID] = append(states[bh.ID], c.State)
		}
	}
	if want := map[string][]State{"RC-01": {Passed, Differs}, "RC-02": {Differs, Passed}}; !reflect.DeepEqual(states, want) {
		t.Fatalf("cells %v, want %v", states, want)
	}
	f := decodeBCD(t, tbl)
	ff := dig(t, f, "portprobe", "runtime_connect", "RC-01", "__compat", "support", "firefox").(map[string]any)
	if ff["version_added"] != "≤153" || ff["partial_implementation"] != true || !strings.Contains(fmt.Sprint(ff["notes"]), "Firefox does not do what the catalog says") {
		t.Errorf("RC-01 in Firefox: %v", ff)
	}
}
