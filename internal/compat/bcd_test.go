package compat

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// leg is one run of Chrome for Testing in which RC-01's only spec ended in
// state.
type leg struct {
	version string // "142"
	name    string
	state   types.SpecState
	differs bool
}

// rc01Path is where RC-01 of the test catalog goes in browser-compat-data.
var rc01Path = []string{"webextensions", "api", "runtime", "connect", "runtime_connect_returns_a_port_synchronously", "__compat", "support"}

// legsTable builds the table of legs.
func legsTable(t *testing.T, legs ...leg) *Table {
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
	return build(t, runs, testCatalog(t))
}

// support returns the "chrome" support of RC-01 in the BCD JSON of legs, or
// nil when the JSON has no statement for it; and why, from Features.
func support(t *testing.T, legs ...leg) (any, []string) {
	t.Helper()
	tbl := legsTable(t, legs...)
	f := decodeBCD(t, tbl, BCDOptions{})
	var unknown []string
	for _, ft := range tbl.Features(BCDOptions{}) {
		if ft.ID == "RC-01" {
			unknown = ft.Unknown["chrome"]
		}
	}
	v, ok := lookup(f, rc01Path...)
	if !ok {
		return nil, unknown
	}
	return v.(map[string]any)["chrome"], unknown
}

func decodeBCD(t *testing.T, tbl *Table, opts BCDOptions) map[string]any {
	t.Helper()
	data, err := tbl.BCD(opts)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("BCD wrote invalid JSON: %v\n%s", err, data)
	}
	return f
}

// lookup follows keys into decoded JSON.
func lookup(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	got, ok := lookup(v, keys...)
	if !ok {
		t.Fatalf("no %s in %v", strings.Join(keys, "."), v)
	}
	return got
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
		name    string
		legs    []leg
		want    any    // nil: no statement
		unknown string // in Features' reason, when there is one
	}{
		{
			name:    "passed in one recent version: when it was added is unknown, and BCD allows no range that late",
			legs:    []leg{{version: "156", state: passed}},
			unknown: "Holds in Chrome 156; the version it was added in is unknown: it was first seen in 156, the earliest version tested, and BCD allows a ranged \"≤\" version only up to Chrome 83.",
		},
		{
			name: "passed in one version old enough for a range",
			legs: []leg{{version: "80", state: passed}},
			want: map[string]any{"version_added": "≤80"},
		},
		{
			name: "failed then passed in adjacent versions: added exactly",
			legs: []leg{{version: "142", state: failed}, {version: "143", state: passed}},
			want: map[string]any{"version_added": "143"},
		},
		{
			name: "added and removed exactly",
			legs: []leg{{version: "141", name: "old", state: failed}, {version: "142", name: "stable", state: passed}, {version: "143", name: "beta", state: failed}},
			want: map[string]any{"version_added": "142", "version_removed": "143"},
		},
		{
			name: "old versions with gaps: ranges",
			legs: []leg{{version: "70", state: passed}, {version: "75", state: failed}},
			want: map[string]any{"version_added": "≤70", "version_removed": "≤75"},
		},
		{
			name:    "a gap after the last pass, too late for a range: no statement",
			legs:    []leg{{version: "80", state: passed}, {version: "90", state: failed}},
			unknown: "the version it changed in is unknown: Chrome 90 was next tested",
		},
		{
			name:    "failed, then passed after untested versions",
			legs:    []leg{{version: "140", state: failed}, {version: "143", state: passed}},
			unknown: "it was first seen in 143, and failed in 140; the versions between were not tested",
		},
		{
			name: "full, then partial, then failing on one OS",
			legs: []leg{
				{version: "141", name: "old", state: failed},
				{version: "142", name: "stable", state: passed},
				{version: "143", name: "beta", state: passed, differs: true},
				{version: "144", name: "linux", state: passed},
				{version: "144", name: "macos", state: failed},
			},
			want: []any{
				map[string]any{"version_added": "143", "version_removed": "144", "partial_implementation": true},
				map[string]any{"version_added": "142", "version_removed": "143"},
			},
		},
		{
			name: "failed everywhere",
			legs: []leg{{version: "142", state: failed}, {version: "150", state: failed}},
			want: map[string]any{"version_added": false},
		},
		{
			name: "only skipped: nothing is known",
			legs: []leg{{version: "142", state: skipped}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, unknown := support(t, tc.legs...)
			if tc.want == nil && got != nil || tc.want != nil && !reflect.DeepEqual(versions(got), tc.want) {
				t.Errorf("support.chrome = %v, want %v", got, tc.want)
			}
			if tc.unknown == "" && len(unknown) > 0 {
				t.Errorf("unknown = %q, want none", unknown)
			}
			if tc.unknown != "" && !strings.Contains(strings.Join(unknown, "\n"), tc.unknown) {
				t.Errorf("unknown = %q, want it to say %q", unknown, tc.unknown)
			}
		})
	}
}

func TestBCDNotes(t *testing.T) {
	got, _ := support(t,
		leg{version: "142", name: "old", state: failed},
		leg{version: "143", name: "stable", state: passed, differs: true},
		leg{version: "144", name: "beta", state: failed},
	)
	notes := dig(t, got, "notes").([]any)
	want := []any{
		"The catalog says: Returns a `Port` object at once. Chrome differs; what it does instead: runtime.connect returns a Port at once (`specs/connect_test.go:16`).",
		"Fails in Chrome for Testing 144 beta: runtime.connect returns a Port at once (`specs/connect_test.go:16`).",
	}
	if !reflect.DeepEqual(notes, want) {
		t.Errorf("notes = %q\nwant %q", notes, want)
	}
	failing, _ := support(t, leg{version: "142", state: failed})
	if n := dig(t, failing, "notes"); n != "Fails in Chrome for Testing 142: runtime.connect returns a Port at once (`specs/connect_test.go:16`)." {
		t.Errorf("a single note = %#v, want it as a string, as browser-compat-data writes it", n)
	}
}

// A differing spec may say in a report entry what the browser does.
func TestBCDNotesUseTheDoesEntry(t *testing.T) {
	spec := it("returns a Port at once", 16, passed, "RC-01", "differs")
	spec.ReportEntries = types.ReportEntries{{Name: DoesEntry, Value: types.WrapEntryValue("Returns a Port only after a task")}}
	tbl := build(t, []Run{
		run(t, "", suite("Google Chrome for Testing 80.0.1.2 (/opt/chrome)", spec)),
	}, testCatalog(t))
	f := decodeBCD(t, tbl, BCDOptions{})
	st := dig(t, f, append(rc01Path, "chrome")...).(map[string]any)
	want := "The catalog says: Returns a `Port` object at once. Chrome differs; what it does instead: Returns a Port only after a task."
	if st["partial_implementation"] != true || st["notes"] != want {
		t.Errorf("statement = %v, want partial with the note %q", st, want)
	}
	if md := tbl.Markdown(); !strings.Contains(md, "  - Chrome for Testing 80 does: Returns a Port only after a task\n") {
		t.Errorf("the Markdown does not say what the browser does:\n%s", md)
	}
}

func TestBCDShape(t *testing.T) {
	mdn := it("connects from the content script", 31, passed)
	mdn.ContainerHierarchyTexts = []string{"The runtime.connect() example from MDN"}
	// RC-02 failed in 142, passed in 143 and differed in 144, Debian's
	// Chromium, counted as Chrome when asked.
	shape := build(t, []Run{
		run(t, "stable", suite(cft142, it("fires onConnect later", 32, failed, "RC-02"), mdn)),
		run(t, "beta", suite(cft143, it("fires onConnect later", 32, passed, "RC-02"))),
		run(t, "debian", suite("Chromium 144.0.7559.1 (/usr/lib/chromium/chromium)", it("fires onConnect later", 32, passed, "RC-02", "differs"))),
	}, testCatalog(t))
	data, err := shape.BCD(BCDOptions{ChromiumAsChrome: true})
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f) != 1 || f["webextensions"] == nil {
		t.Fatalf("top level = %v, want webextensions alone, as a BCD file", f)
	}
	rc02 := dig(t, f, "webextensions", "api", "runtime", "onConnect", "onconnect_fires_asynchronously_in_the_receiver", "__compat").(map[string]any)
	if rc02["description"] != "`onConnect` fires asynchronously in the receiver" {
		t.Errorf("description = %q, want the catalog title in Markdown", rc02["description"])
	}
	if _, ok := rc02["status"]; ok {
		t.Errorf("__compat has a status block; BCD's webextensions sub-features have none: %v", rc02)
	}
	chrome := dig(t, rc02, "support", "chrome")
	want := []any{
		map[string]any{"version_added": "144", "partial_implementation": true},
		map[string]any{"version_added": "143", "version_removed": "144"},
	}
	if !reflect.DeepEqual(versions(chrome), want) {
		t.Errorf("RC-02's chrome support = %v, want %v", chrome, want)
	}
	if n := fmt.Sprint(dig(t, chrome.([]any)[0], "notes")); !strings.Contains(n, "Tested in Chromium 144 debian: an unbranded Chromium build, not Google Chrome.") {
		t.Errorf("the Chromium statement does not say it is Chromium: %s", n)
	}
	if strings.Contains(string(data), "example_from_mdn") || strings.Contains(string(data), "__meta") {
		t.Errorf("rows without a catalog ID, or __meta, in the BCD file:\n%s", data)
	}
	// __compat comes first, then the sub-features, as in BCD's files.
	if !strings.Contains(string(data), "\"onConnect\": {\n          \"onconnect_fires") {
		t.Errorf("unexpected layout:\n%s", data)
	}
	if d, _ := shape.BCD(BCDOptions{}); strings.Contains(string(d), "partial_implementation") {
		t.Errorf("Debian's Chromium counted as chrome by default:\n%s", d)
	}

	tbl := build(t, legs(t), testCatalog(t))
	res, err := tbl.Results(BCDOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Timestamp string
		Columns   []struct {
			Heading, Version string
			BCDBrowser       string `json:"bcd_browser"`
			Chromium         bool
		}
		Features []struct {
			ID, BCD string
			Results map[string]string
			Unknown map[string][]string
		}
		Uncataloged []struct{ Title string }
	}
	if err := json.Unmarshal(res, &r); err != nil {
		t.Fatal(err)
	}
	if r.Timestamp != "2026-11-24T16:36:00Z" || len(r.Columns) != 4 || !r.Columns[2].Chromium || r.Columns[2].BCDBrowser != "" {
		t.Errorf("results: %s", res)
	}
	if len(r.Uncataloged) != 1 || r.Uncataloged[0].Title != "The runtime.connect() example from MDN" {
		t.Errorf("uncataloged = %v", r.Uncataloged)
	}
	i := slices.IndexFunc(r.Features, func(f struct {
		ID, BCD string
		Results map[string]string
		Unknown map[string][]string
	}) bool {
		return f.ID == "RC-02"
	})
	if i < 0 || r.Features[i].BCD != "webextensions.api.runtime.onConnect.onconnect_fires_asynchronously_in_the_receiver" ||
		r.Features[i].Results["Chromium 156 debian"] != "differs" {
		t.Errorf("RC-02 in the results: %+v", r.Features)
	}
}

// Debian's Chromium is not Google Chrome: by default it makes no chrome
// statement, and the Markdown says so.
func TestChromiumIsNotChrome(t *testing.T) {
	tbl := build(t, []Run{run(t, "", suite("Chromium 80.0.3987.162 (/usr/lib/chromium/chromium)",
		it("returns a Port at once", 16, passed, "RC-01")))}, testCatalog(t))
	if _, ok := lookup(decodeBCD(t, tbl, BCDOptions{}), rc01Path...); ok {
		t.Errorf("Chromium counted as chrome without ChromiumAsChrome")
	}
	st := dig(t, decodeBCD(t, tbl, BCDOptions{ChromiumAsChrome: true}), append(rc01Path, "chrome")...)
	if want := map[string]any{"version_added": "≤80", "notes": "Tested in Chromium 80: an unbranded Chromium build, not Google Chrome."}; !reflect.DeepEqual(st, want) {
		t.Errorf("with ChromiumAsChrome: %v, want %v", st, want)
	}
	for _, f := range tbl.Features(BCDOptions{}) {
		if want := []string{"Passed in Chromium 80, which is left out: an unbranded Chromium build is not Google Chrome (BCDOptions.ChromiumAsChrome, --chromium-as-chrome, counts it)."}; !reflect.DeepEqual(f.Unknown["chrome"], want) {
			t.Errorf("%s's reasons = %q, want %q", f.ID, f.Unknown["chrome"], want)
		}
	}
	if md := tbl.Markdown(); !strings.Contains(md, "An unbranded Chromium build, not Google Chrome") {
		t.Errorf("the Markdown does not tell Chromium from Chrome:\n%s", md)
	}
}

// validator compiles BCD's schema, vendored in testdata/bcd.
func validator(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(compileLookahead)
	s, err := c.Compile(filepath.Join("testdata", "bcd", "compat-data.schema.json"))
	if err != nil {
		t.Fatalf("compiling BCD's schema: %v", err)
	}
	return s
}

// lookaheadRegexp runs the ECMAScript patterns of BCD's schema in Go, which
// has no lookahead: the leading negative lookaheads of literal text in
// "^(?!__compat)(?!webextensions)[a-zA-Z_0-9-$@]*$" are checked as
// prefixes the name must not start with, the rest by Go's regexp.
type lookaheadRegexp struct {
	src string
	not []string
	re  *regexp.Regexp
}

func compileLookahead(src string) (jsonschema.Regexp, error) {
	r := &lookaheadRegexp{src: src}
	rest := src
	if after, ok := strings.CutPrefix(rest, "^"); ok {
		rest = after
		for strings.HasPrefix(rest, "(?!") {
			end := strings.Index(rest, ")")
			lit := rest[len("(?!"):max(end, len("(?!"))]
			if end < 0 || regexp.QuoteMeta(lit) != lit {
				return nil, fmt.Errorf("%q: only lookaheads of literal text are supported", src)
			}
			r.not = append(r.not, lit)
			rest = rest[end+1:]
		}
		rest = "^" + rest
	}
	re, err := regexp.Compile(rest)
	if err != nil {
		return nil, err
	}
	r.re = re
	return r, nil
}

func (r *lookaheadRegexp) MatchString(s string) bool {
	for _, p := range r.not {
		if strings.HasPrefix(s, p) {
			return false
		}
	}
	return r.re.MatchString(s)
}

func (r *lookaheadRegexp) String() string { return r.src }

func TestLookaheadRegexp(t *testing.T) {
	re, err := compileLookahead("^(?!__compat)(?!webextensions)[a-zA-Z_0-9-$@]*$")
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"api": true, "css": true, "__compat": false, "webextensions": false, "a.b": false, "x-y$@": true} {
		if re.MatchString(s) != want {
			t.Errorf("MatchString(%q) = %v, want %v", s, !want, want)
		}
	}
	if _, err := compileLookahead("^(?!a+)b"); err == nil {
		t.Errorf("a lookahead of a pattern compiled")
	}
}

func validate(t *testing.T, s *jsonschema.Schema, what string, data []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s is not valid browser-compat-data: %v\n%s", what, err, data)
	}
}

// The output validates against BCD's own schema: for the statements of many
// versions, and for excerpts of real runs of Chromium 156 and Firefox 153.
func TestBCDValidatesAgainstBCDSchema(t *testing.T) {
	s := validator(t)
	// The schema catches what BCD forbids.
	validate(t, s, "a known-good file", []byte(`{"webextensions": {"api": {"runtime": {"connect": {"x": {"__compat": {"support": {"chrome": {"version_added": "≤80"}}}}}}}}}`))
	for _, bad := range []string{
		`{"webextensions": {}, "__meta": {}}`,
		`{"webextensions": {"api": {"x": {"__compat": {"support": {"chrome": {"version_added": "≤156", "partial_implementation": true}}}}}}}`,
		`{"webextensions": {"api": {"x": {"__compat": {"support": {"chromium": {"version_added": "156"}}}}}}}`,
		`{"webextensions": {"api": {"x": {"__compat": {"support": {"chrome": {"version_added": null}}}}}}}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if s.Validate(v) == nil {
			t.Errorf("the schema accepts %s", bad)
		}
	}

	many := legsTable(t,
		leg{version: "70", name: "a", state: passed},
		leg{version: "75", name: "b", state: failed},
		leg{version: "141", name: "old", state: failed},
		leg{version: "142", name: "stable", state: passed},
		leg{version: "143", name: "beta", state: passed, differs: true},
		leg{version: "144", name: "linux", state: passed},
		leg{version: "144", name: "macos", state: failed},
	)
	for _, opts := range []BCDOptions{{}, {ChromiumAsChrome: true}} {
		for name, tbl := range map[string]*Table{"many versions": many, "legs": build(t, legs(t), testCatalog(t)), "real runs": realRuns(t)} {
			data, err := tbl.BCD(opts)
			if err != nil {
				t.Fatal(err)
			}
			validate(t, s, fmt.Sprintf("%s, %+v", name, opts), data)
		}
	}
}

// realRuns is the table of excerpts of real reports: Debian's Chromium 156
// and Firefox ESR 153, with a catalog excerpt.
func realRuns(t *testing.T) *Table {
	t.Helper()
	cat, err := ReadCatalog(filepath.Join("testdata", "catalog.md"))
	if err != nil {
		t.Fatal(err)
	}
	var runs []Run
	for _, name := range []string{"chromium156.json", "firefox153.json"} {
		reports, err := ReadReports(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, Run{Source: name, Reports: reports})
	}
	return build(t, runs, cat)
}

// With one run per browser, the real runs say which behaviors hold, not
// since when: no statement can be written, and the results say why.
func TestBCDOfASingleRunPerBrowser(t *testing.T) {
	tbl := realRuns(t)
	data, err := tbl.BCD(BCDOptions{ChromiumAsChrome: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"webextensions\": {}\n}\n"; string(data) != want {
		t.Errorf("BCD = %s, want %s: no version is known", data, want)
	}
	for _, f := range tbl.Features(BCDOptions{ChromiumAsChrome: true}) {
		if f.ID == "RN-05" {
			ff := strings.Join(f.Unknown["firefox"], " ")
			if !strings.Contains(ff, "Differs from the catalog in Firefox 153; the version it was added in is unknown") {
				t.Errorf("RN-05's firefox reason: %q", ff)
			}
			return
		}
	}
	t.Errorf("no RN-05 among the features")
}

// The Markdown puts what the catalog says beside what the browser does.
func TestMarkdownCatalogSaysBrowserDoes(t *testing.T) {
	md := realRuns(t).Markdown()
	for _, want := range []string{
		"### Where a browser differs from the catalog",
		"- **RN-05** `name` must be a string\n  - catalog says: `runtime.connect({name: 42})` throws a `TypeError`",
		"  - Firefox 153 does: port names must be strings: connect throws a TypeError that names the type it found 42 is an integer (`specs/naming_test.go:",
		"  - Chromium 156 does: port names must be strings: connect throws a TypeError that names the type it found 42 is an integer (`specs/naming_test.go:122`); port names must be strings for tabs.connect too",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
}

// rangedUpTo agrees with BCD's browsers/*.json: the last release dated on or
// before the linter's cutoff.
func TestRangedUpTo(t *testing.T) {
	const cutoff = "2020-05-19" // lint/linter/test-versions.js, rangeCutoffDate
	for _, br := range []string{"chrome", "firefox"} {
		data, err := os.ReadFile(filepath.Join("testdata", "bcd", br+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Browsers map[string]struct {
				Releases map[string]struct {
					ReleaseDate string `json:"release_date"`
				}
			}
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		last := 0
		for v, r := range f.Browsers[br].Releases {
			var n int
			if _, err := fmt.Sscanf(v, "%d", &n); err == nil && r.ReleaseDate != "" && r.ReleaseDate <= cutoff {
				last = max(last, n)
			}
		}
		if rangedUpTo[br] != last {
			t.Errorf("rangedUpTo[%q] = %d; BCD's releases say %d", br, rangedUpTo[br], last)
		}
	}
}

// Every BCD feature a behavior is mapped under is one of BCD's, and every
// behavior of portprobe's catalogs and of the shared catalog's prefixes has
// one.
func TestBCDParentsAreBCDFeatures(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "bcd", "features.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	features := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		features[sc.Text()] = true
	}
	var parents []string
	for _, p := range bcdParents {
		parents = append(parents, p)
	}
	for _, p := range bcdParentOf {
		parents = append(parents, p)
	}
	for _, p := range parents {
		if !features[p] {
			t.Errorf("%s is not a browser-compat-data feature (testdata/bcd/features.txt)", p)
		}
	}
	for _, prefix := range []string{"RC", "RN", "RS", "RM", "RD", "RL", "RX", "RT", "RE", "RZ"} {
		if BCDParent(prefix+"-01") == "" {
			t.Errorf("the shared catalog's %s behaviors have no BCD feature", prefix)
		}
	}
	paths, _ := filepath.Glob(filepath.Join("..", "..", "docs", "catalog", "*.md"))
	if len(paths) == 0 {
		t.Fatal("no docs/catalog/*.md")
	}
	cat, err := ReadCatalogs(paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range cat.IDs() {
		if BCDParent(id) == "" {
			t.Errorf("%s (%s) has no BCD feature", id, cat.Title(id))
		}
		if path := BCDParent(id) + "." + BCDKey(cat.Title(id)); features[path] {
			t.Errorf("%s's sub-feature %s is already a feature of BCD", id, path)
		}
	}
}

func TestBCDKey(t *testing.T) {
	for title, want := range map[string]string{
		"`runtime.connect()` returns a Port synchronously, even when nothing will receive it": "runtime_connect_returns_a_port_synchronously_even_when",
		"The default name is the empty string":                                                "default_name_is_the_empty_string",
		"`name` must be a string":                                                             "name_must_be_a_string",
		"":                                                                                    "behavior",
	} {
		if got := BCDKey(title); got != want {
			t.Errorf("BCDKey(%q) = %q, want %q", title, got, want)
		}
	}
}
