// Package compat turns Ginkgo JSON reports of the conformance suite (./specs),
// one or more per browser, into a compatibility table: one row per catalog
// behavior, one column per browser version, and in each cell what the
// behavior's specs did in that browser.
//
// A column is named after the "browser" report entry of its reports, which the
// suite's BeforeSuite adds: "Chromium 156.0.8078.79 (/usr/lib/chromium/chromium)"
// gives the column "Chromium 156". A Run may add a name of its own ("beta",
// "macos-stable"), appended to the column's heading. Runs whose headings are
// the same are merged into one column: the suite split in two runs by labels
// on one browser (say the slow specs apart), or in shards across machines
// (go test ./specs -portprobe.shard=2/3), gives one column. Reports of one
// browser build in a column are parts of one run: a spec that ran in two of
// them is an error unless its outcome is the same in both (see Merge). A run whose
// reports name no browser joins a run of the same name that does.
//
// A row is a catalog behavior: the specs that carry its ID as a label. Specs
// without a catalog ID are grouped by their outermost container (the MDN
// example, the harness's own specs) into rows without an ID. A row whose
// specs ran in no column (a label filter left them all out) is left out of
// the table and listed apart. A cell is one of:
//
//   - failed: a spec of the behavior failed (or panicked, timed out, was
//     interrupted) in that browser.
//   - differs: every spec that ran passed, and one of them is labelled
//     "differs" (in Firefox's column, "firefox-differs"): the spec asserts
//     what that browser does, which is not what the catalog said.
//   - passed: every spec that ran passed.
//   - skipped: no spec passed or failed; one was pending or called Skip.
//   - not run: no spec of the behavior ran: the label filter left them out
//     (slow specs, say), the suite stopped before them, or the run's suite
//     had no such spec.
//
// Table.Markdown renders the table for a GitHub job summary, and beside it,
// for each behavior that differs from the catalog in some browser, what the
// catalog says (its "Outcome") and what the browser does: the differing
// specs' DoesEntry report entries, or else the specs' texts, which are what
// the specs assert in that browser.
//
// Table.BCD renders the catalog behaviors as a file of MDN's
// browser-compat-data (BCD), valid against BCD's
// schemas/compat-data.schema.json (testdata/bcd holds the copy the tests
// validate against):
//
//	{"webextensions": {"api": {"runtime": {"connect": {
//	  "runtime_connect_returns_a_port_synchronously_even_when": {"__compat": {
//	    "description": "`runtime.connect()` returns a Port synchronously, even when nothing will receive it",
//	    "support": {"firefox": {"version_added": "142", "partial_implementation": true,
//	                            "notes": "The catalog says: Returns a `Port` object at once. Firefox differs; what it does instead: ..."}}
//	  }}
//	}}}}}
//
// Each behavior is a sub-feature of the nearest real BCD feature (BCDParent;
// runtime.connect, runtime.onConnect, runtime.Port, runtime.MessageSender.url,
// tabs.connect, manifest.externally_connectable, ...), named by BCDKey after
// its catalog title in BCD's snake_case. The BCD features themselves are
// not written: the file only adds sub-features. There is no "status" block,
// as BCD's webextensions sub-features have none; descriptions and notes are
// Markdown. Rows without a catalog ID are left out.
//
// "support" is keyed by BCD browser: "chrome" for Chrome and Chrome for
// Testing, "edge", "opera", "firefox". An unbranded Chromium build
// (Debian's patched Chromium) is not Google Chrome: it is left out of
// "chrome" unless BCDOptions.ChromiumAsChrome, and then each statement it
// makes notes that it comes from Chromium.
//
// Statements are inferred as mdn-bcd-collector does, from several columns of
// one browser at different versions. By major version, a version counts as
// failed when the behavior failed in any of its columns (any OS, headless or
// not), as partial when it differed from the catalog, as supported when it
// passed; skipped and not-run cells decide nothing. Each stretch of
// consecutive supported (or partial) versions is a statement:
//
//   - "version_added" is the stretch's first version V, exactly, when the
//     version before it (V-1) was seen failing or behaving otherwise; else
//     the ranged "≤V" when BCD allows a range for V (releases of 2020-05-19
//     or before, as BCD's linter says: Chrome 83, Firefox 76); else it is
//     not known, and the stretch gets no statement.
//   - "version_removed" is the first version of the next stretch, by the same
//     rule.
//   - "partial_implementation" is true for a stretch where the behavior
//     differed from the catalog, with a note saying what the catalog says
//     and what the browser does.
//   - A behavior that failed in every version seen has
//     {"version_added": false}, with notes naming the failures.
//
// So a single run of a recent browser makes no statement: it shows that a
// behavior holds in that version, not since when. A feature with no
// statement in any browser is left out of the file. Table.Results writes,
// as JSON apart from BCD's, what the file is made from: the columns, and
// for each catalog behavior its BCD path, its state in each column and why
// a browser has no statement. As in browser-compat-data, a browser with one
// statement has it as an object, with several as a list, most recent first,
// and notes are a string when there is one, else a list.
package compat

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// State is the outcome of a behavior, or of one spec, in one browser. States
// are ordered: merging outcomes keeps the greatest.
type State int

const (
	NotRun State = iota
	Skipped
	Passed
	Differs
	Failed
)

var stateNames = []string{"not run", "skipped", "passed", "differs", "failed"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
	return stateNames[s]
}

// MarshalText writes the state as its String.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Outcome is what a spec's report says about the behaviors it checks.
func Outcome(s Spec) State {
	switch {
	case s.State.Is(types.SpecStateFailureStates):
		return Failed
	case s.State == types.SpecStatePassed && s.Differs:
		return Differs
	case s.State == types.SpecStatePassed:
		return Passed
	case s.State == types.SpecStatePending:
		return Skipped
	case s.State == types.SpecStateSkipped && s.Message != "":
		// Skip("...") in the spec, or an earlier spec of an Ordered
		// container failed. A spec the label filter left out has no
		// message.
		return Skipped
	default:
		return NotRun
	}
}

// Run is what one browser run of the suite left: one or more reports.
type Run struct {
	// Name, if not empty, is appended to the column heading, to tell apart
	// runs of one browser version: "beta", "macos-stable", "headful".
	Name string
	// Source names where the reports came from, such as the file name.
	Source  string
	Reports []types.Report
}

// Column is one browser version: the runs whose headings are the same.
type Column struct {
	// Heading is the browser's product and major version, and the run's
	// name: "Chromium 156", "Chrome for Testing 143 beta".
	Heading string
	// Browsers are the "browser" report entries of the column's runs.
	Browsers []string
	// Product is the browser's name as --version prints it, without
	// "Google ": "Chromium", "Chrome for Testing".
	Product string
	// Version is the major version ("156"), or "" when no report of the
	// column names its browser.
	Version string
	// BCDBrowser is the browser-compat-data key of the browser: "chrome",
	// "edge", "opera" or "firefox". Chromium builds are "chrome" too;
	// Chromium tells them apart.
	BCDBrowser string
	// Chromium is true for an unbranded Chromium build, such as Debian's
	// patched /usr/lib/chromium/chromium, which is not Google Chrome:
	// Table.BCD leaves it out of "chrome" unless BCDOptions say otherwise.
	// Chrome for Testing is Google's build and counts as Chrome.
	Chromium bool
	// Sources are the Sources of the column's runs.
	Sources []string
	// Problems are failures outside any spec: a BeforeSuite that failed,
	// an interrupted suite, a shard that left no report.
	Problems []string
	// Shards is the number of shards the column's runs split the suite
	// in (go test ./specs -portprobe.shard=i/n), or 0 when they did not.
	Shards int
	// Count is the number of the table's rows in each State.
	Count [Failed + 1]int
}

// Cell is a behavior in one column.
type Cell struct {
	State State
	// Specs are the behavior's specs seen in the column's reports, each
	// once, with its greatest outcome.
	Specs []Spec
}

// Behavior is a row of the table.
type Behavior struct {
	// ID is the catalog ID, or "" for a group of specs without one.
	ID string
	// Title is the catalog's title of the behavior; for a row without ID,
	// the text of its specs' outermost container. Without a catalog, an
	// ID's title is the text of its first spec.
	Title string
	// Area is the area label of the row's first spec.
	Area string
	// Cells has one Cell per column of the table.
	Cells []Cell
}

// Table is the compatibility table of some runs.
type Table struct {
	Columns   []Column
	Behaviors []Behavior
	// Unchecked are the catalog IDs that no spec of any run checks.
	Unchecked []string
	// NotRun are the IDs of the behaviors whose specs ran in no column,
	// in catalog order: a label filter left them out everywhere. They
	// are not among the Behaviors, and NotRunGroups counts the groups of
	// specs without ID left out so.
	NotRun       []string
	NotRunGroups int

	catalog *Catalog
	start   string
}

// Build makes the table of runs; cat (which may be nil) gives the behaviors'
// titles and order.
//
// The runs of a column that ran one browser build are parts of one run of
// the suite, as Merge says: the shards of a suite split across machines, or
// the slow specs run apart. A spec that ran in two of them is an error
// unless its outcome is the same in both; a spec that a shard left out is
// not run there, not skipped. A shard that left no report is a problem of
// the column.
func Build(runs []Run, cat *Catalog) (*Table, error) {
	t := &Table{catalog: cat}
	type column struct {
		Column
		order   int
		specs   []Spec
		parts   []part
		reports []types.Report
	}
	// A run that names no browser (its BeforeSuite failed, or it ran no
	// spec) joins the column of a run of the same name that does.
	named := map[string]browser{}
	for _, r := range runs {
		if b := Browser(r.Reports); b != "" && r.Name != "" {
			if _, ok := named[r.Name]; !ok {
				named[r.Name] = parseBrowser(b)
			}
		}
	}
	var cols []*column
	for _, r := range runs {
		browser := Browser(r.Reports)
		b := parseBrowser(browser)
		if browser == "" && r.Name != "" {
			if nb, ok := named[r.Name]; ok {
				b = nb
			}
		}
		heading := b.heading(r.Name, r.Source)
		i := slices.IndexFunc(cols, func(c *column) bool { return c.Heading == heading })
		if i < 0 {
			i = len(cols)
			cols = append(cols, &column{Column: Column{
				Heading:    heading,
				Product:    b.product,
				Version:    b.major(),
				BCDBrowser: b.bcdBrowser(),
				Chromium:   b.unbranded(),
			}, order: i})
		}
		c := cols[i]
		if browser != "" && !slices.Contains(c.Browsers, browser) {
			c.Browsers = append(c.Browsers, browser)
		}
		if r.Source != "" {
			c.Sources = append(c.Sources, r.Source)
		}
		c.Problems = append(c.Problems, problems(r.Reports)...)
		c.specs = append(c.specs, Specs(r.Reports)...)
		c.reports = append(c.reports, r.Reports...)
		for _, rep := range r.Reports {
			c.parts = append(c.parts, part{cmp.Or(r.Source, "a report of "+heading), rep})
		}
		for _, rep := range r.Reports {
			if s := rep.StartTime.UTC().Format("2006-01-02T15:04:05Z"); !rep.StartTime.IsZero() && (t.start == "" || s < t.start) {
				t.start = s
			}
		}
	}
	// Columns by browser, then version, then the order of the runs; a
	// column whose browser is unknown goes last.
	slices.SortStableFunc(cols, func(a, b *column) int {
		if a.Version == "" || b.Version == "" {
			return cmp.Compare(b.Version, a.Version) // "" last
		}
		if a.BCDBrowser != b.BCDBrowser {
			return cmp.Compare(a.BCDBrowser, b.BCDBrowser)
		}
		av, _ := strconv.Atoi(a.Version)
		bv, _ := strconv.Atoi(b.Version)
		return cmp.Compare(av, bv)
	})

	for _, c := range cols {
		if err := checkParts(c.parts); err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Heading, err)
		}
		var missing []string
		c.Shards, missing = missingShards(c.reports)
		c.Problems = append(c.Problems, missing...)
	}

	rows := map[string]*Behavior{}
	var keys []string
	for ci, c := range cols {
		t.Columns = append(t.Columns, c.Column)
		for _, s := range c.specs {
			ids := s.IDs
			if len(ids) == 0 {
				ids = []string{""}
			}
			for _, id := range ids {
				key := id
				if id == "" {
					key = " " + s.Container // cannot clash with an ID
				}
				row := rows[key]
				if row == nil {
					row = &Behavior{ID: id, Title: cat.Title(id), Area: s.Area, Cells: make([]Cell, len(cols))}
					if id == "" {
						row.Title = s.Container
					} else if row.Title == "" {
						row.Title = s.Text
					}
					rows[key] = row
					keys = append(keys, key)
				}
				row.Cells[ci].add(s)
			}
		}
	}
	for _, k := range keys {
		row := rows[k]
		if slices.ContainsFunc(row.Cells, func(c Cell) bool { return c.State != NotRun }) {
			t.Behaviors = append(t.Behaviors, *row)
		} else if row.ID != "" {
			t.NotRun = append(t.NotRun, row.ID)
		} else {
			t.NotRunGroups++
		}
	}
	area := func(a string) int {
		if i := slices.Index(Areas, a); i >= 0 {
			return i
		}
		return len(Areas)
	}
	slices.SortStableFunc(t.Behaviors, func(a, b Behavior) int {
		return cmp.Or(
			cmp.Compare(area(a.Area), area(b.Area)),
			cmp.Compare(boolInt(a.ID == ""), boolInt(b.ID == "")),
			cmp.Compare(cat.Rank(a.ID), cat.Rank(b.ID)),
			cmp.Compare(a.ID, b.ID),
		)
	})
	for _, b := range t.Behaviors {
		for ci, c := range b.Cells {
			t.Columns[ci].Count[c.State]++
		}
	}
	slices.SortStableFunc(t.NotRun, func(a, b string) int {
		return cmp.Or(cmp.Compare(cat.Rank(a), cat.Rank(b)), cmp.Compare(a, b))
	})
	for _, id := range cat.IDs() {
		if rows[id] == nil {
			t.Unchecked = append(t.Unchecked, id)
		}
	}
	return t, nil
}

// add merges a spec's outcome into the cell.
func (c *Cell) add(s Spec) {
	o := Outcome(s)
	c.State = max(c.State, o)
	i := slices.IndexFunc(c.Specs, func(x Spec) bool { return x.Text == s.Text && x.Location == s.Location })
	if i < 0 {
		c.Specs = append(c.Specs, s)
	} else if o > Outcome(c.Specs[i]) {
		c.Specs[i] = s
	}
}

// Ran returns how many of the cell's specs ran (passed or failed), and how
// many of those failed.
func (c Cell) Ran() (ran, failed int) {
	for _, s := range c.Specs {
		switch Outcome(s) {
		case Failed:
			failed++
			ran++
		case Passed, Differs:
			ran++
		}
	}
	return ran, failed
}

// problems returns the failures of reports outside any It.
func problems(reports []types.Report) []string {
	var out []string
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt && sr.State.Is(types.SpecStateFailureStates) {
				out = append(out, fmt.Sprintf("%s %s: %s", sr.LeafNodeType, sr.State, summary(sr.Failure.Message)))
			}
		}
		if !r.SuiteSucceeded {
			out = append(out, r.SpecialSuiteFailureReasons...)
		}
	}
	return out
}

// browser is a "browser" report entry taken apart.
type browser struct {
	product string // "Chromium", "Chrome for Testing"
	version string // "156.0.8078.79"
}

// versionPattern matches Chrome's "156.0.8078.79" and Firefox ESR's
// "153.8.0esr".
var versionPattern = regexp.MustCompile(`^\d+(\.\d+)+(esr|[ab]\d+)?$`)

// parseBrowser reads "Chromium 156.0.8078.79 (/usr/lib/chromium/chromium)",
// "Google Chrome for Testing 143.0.7499.4 (/opt/chrome/chrome)" or "Mozilla
// Firefox 153.8.0esr (/usr/lib/firefox-esr/firefox-esr)".
func parseBrowser(entry string) browser {
	s := strings.TrimSpace(entry)
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndex(s, " ("); i >= 0 {
			s = s[:i]
		}
	}
	fields := strings.Fields(s)
	for i, f := range fields {
		if versionPattern.MatchString(f) {
			return browser{product: trimVendor(strings.Join(fields[:i], " ")), version: f}
		}
	}
	return browser{product: trimVendor(s)}
}

// trimVendor cuts "Google " and "Mozilla " off a product name.
func trimVendor(product string) string {
	return strings.TrimPrefix(strings.TrimPrefix(product, "Google "), "Mozilla ")
}

func (b browser) major() string {
	major, _, _ := strings.Cut(b.version, ".")
	return major
}

// bcdBrowser returns the browser-compat-data key of the browser.
func (b browser) bcdBrowser() string {
	switch p := strings.ToLower(b.product); {
	case strings.Contains(p, "edge"):
		return "edge"
	case strings.Contains(p, "opera"):
		return "opera"
	case strings.Contains(p, "firefox"):
		return "firefox"
	default:
		return "chrome"
	}
}

// unbranded reports whether the browser is a Chromium build rather than one
// of Google's: "Chromium 156.0.8078.114" (Debian's, or any distribution's).
func (b browser) unbranded() bool {
	return strings.HasPrefix(strings.ToLower(b.product), "chromium")
}

// heading names the column of a run of the browser.
func (b browser) heading(name, source string) string {
	h := strings.TrimSpace(b.product + " " + b.major())
	if h == "" {
		h = "unknown browser"
		if name == "" && source != "" {
			return h + " (" + source + ")"
		}
	}
	if name != "" {
		h += " " + name
	}
	return h
}

// summary shortens a failure message to one line of at most 200
// characters: Gomega's messages span several ("Expected\n    <int>: 1\nto
// equal\n    <int>: 2").
func summary(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
