package compat

// This file writes the table as MDN browser-compat-data (BCD) and, apart,
// the results and reasons behind it; the package doc describes both.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// BCDOptions say how Table.BCD writes browser-compat-data. The zero value
// does the right thing for a merge into BCD.
type BCDOptions struct {
	// ChromiumAsChrome counts the columns of unbranded Chromium builds
	// (Debian's patched Chromium, say) as BCD's "chrome", and notes in each
	// statement they make that it comes from Chromium, not Google Chrome.
	// By default they are left out of "chrome": BCD's chrome is Google
	// Chrome, and a distribution's build carries patches of its own.
	ChromiumAsChrome bool
}

// rangedUpTo is, for each BCD browser, the last release that BCD allows a
// ranged version ("≤83") for: browser-compat-data's linter
// (lint/linter/test-versions.js) accepts ranges only for releases of
// 2020-05-19 or before. bcd_test.go checks it against BCD's browsers/*.json.
var rangedUpTo = map[string]int{
	"chrome":          83,
	"edge":            81,
	"firefox":         76,
	"firefox_android": 68,
	"opera":           68,
}

// bcdBrowsers are the BCD browsers the JSON has statements for, in order.
var bcdBrowsers = []string{"chrome", "edge", "firefox", "firefox_android", "opera"}

// bcdNames name BCD's browsers in notes.
var bcdNames = map[string]string{"chrome": "Chrome", "edge": "Edge", "opera": "Opera", "firefox": "Firefox", "firefox_android": "Firefox for Android"}

type bcdCompat struct {
	Description string `json:"description,omitempty"`
	// Support maps a browser to a statement, or to a list of them.
	Support map[string]any `json:"support"`
}

type bcdStatement struct {
	// VersionAdded is a version string, or false: not supported.
	VersionAdded          any    `json:"version_added"`
	VersionRemoved        string `json:"version_removed,omitempty"`
	PartialImplementation bool   `json:"partial_implementation,omitempty"`
	// Notes is a string, or a list of them, in Markdown.
	Notes any `json:"notes,omitempty"`
}

// node is a feature of the BCD tree: its __compat, if any, then its
// sub-features by name, written in that order as BCD's own files are.
type node struct {
	compat   *bcdCompat
	children map[string]*node
}

func (n *node) child(name string) *node {
	if n.children == nil {
		n.children = map[string]*node{}
	}
	c := n.children[name]
	if c == nil {
		c = &node{}
		n.children[name] = c
	}
	return c
}

func (n *node) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	field := func(name string, v any) error {
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		data, err := marshal(v)
		if err != nil {
			return err
		}
		b.Write(data)
		return nil
	}
	if n.compat != nil {
		if err := field("__compat", n.compat); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(n.children))
	for k := range n.children {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := field(k, n.children[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal writes v as JSON without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// indent writes v as indented JSON, as BCD's files are.
func indent(v any, what string) ([]byte, error) {
	data, err := marshal(v)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", what, err)
	}
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return nil, fmt.Errorf("writing %s: %w", what, err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// Feature is where a catalog behavior goes in browser-compat-data, and what
// the table's columns let Table.BCD say about it.
type Feature struct {
	// ID is the catalog ID.
	ID string `json:"id"`
	// Path is the BCD feature, dotted:
	// "webextensions.api.runtime.connect.runtime_connect_returns_a_port_synchronously_even_when".
	// "" for an ID that BCDParent does not know.
	Path string `json:"bcd,omitempty"`
	// Results is the behavior's state in each column, by heading.
	Results map[string]State `json:"results"`
	// Unknown says, for each BCD browser, why the JSON has no statement
	// (or fewer than the columns show): the versions the behavior held
	// in, and what is not known about when it was added.
	Unknown map[string][]string `json:"unknown,omitempty"`

	statements map[string][]bcdStatement
	title      string
}

// Features maps the table's catalog behaviors onto browser-compat-data and
// infers their support statements, as Table.BCD writes them. Rows without a
// catalog ID are not among them.
func (t *Table) Features(opts BCDOptions) []Feature {
	var out []Feature
	used := map[string]bool{}
	for _, bh := range t.Behaviors {
		if bh.ID == "" {
			continue
		}
		f := Feature{ID: bh.ID, title: bh.Title, Results: map[string]State{}, statements: map[string][]bcdStatement{}}
		for ci, c := range bh.Cells {
			f.Results[t.Columns[ci].Heading] = c.State
		}
		if parent := BCDParent(bh.ID); parent != "" {
			key := BCDKey(bh.Title)
			path := parent + "." + key
			for n := 2; used[path]; n++ {
				path = parent + "." + key + "_" + strconv.Itoa(n)
			}
			used[path] = true
			f.Path = path
		}
		for _, br := range bcdBrowsers {
			st, unknown := t.statements(bh, br, opts)
			if len(st) > 0 {
				f.statements[br] = st
			}
			if len(unknown) > 0 {
				if f.Unknown == nil {
					f.Unknown = map[string][]string{}
				}
				f.Unknown[br] = unknown
			}
		}
		out = append(out, f)
	}
	return out
}

// BCD renders the table as a browser-compat-data file: one feature per
// catalog behavior that some browser has a statement for, nested under
// "webextensions" as the package doc describes. The output validates
// against BCD's schemas/compat-data.schema.json.
func (t *Table) BCD(opts BCDOptions) ([]byte, error) {
	root := &node{}
	root.child("webextensions")
	for _, f := range t.Features(opts) {
		if f.Path == "" || len(f.statements) == 0 {
			continue
		}
		n := root
		for _, part := range strings.Split(f.Path, ".") {
			n = n.child(part)
		}
		support := map[string]any{}
		for br, st := range f.statements {
			support[br] = oneOrMany(st)
		}
		n.compat = &bcdCompat{Description: f.title, Support: support}
	}
	return indent(root, "the browser-compat-data JSON")
}

// Results renders what Table.BCD is made from, as JSON: the columns (with
// the browsers they ran and the reports they come from), and for each
// catalog behavior its BCD feature, its state in each column, and why a
// browser has no statement. It is the record a BCD pull request links to;
// it is not browser-compat-data.
func (t *Table) Results(opts BCDOptions) ([]byte, error) {
	type column struct {
		Heading    string   `json:"heading"`
		Browsers   []string `json:"browsers"`
		BCDBrowser string   `json:"bcd_browser,omitempty"`
		Chromium   bool     `json:"chromium,omitempty"`
		Version    string   `json:"version"`
		Sources    []string `json:"sources,omitempty"`
		Problems   []string `json:"problems,omitempty"`
		Shards     int      `json:"shards,omitempty"`
	}
	type uncataloged struct {
		Title   string           `json:"title"`
		Results map[string]State `json:"results"`
	}
	var out struct {
		Timestamp string `json:"timestamp,omitempty"`
		// ChromiumAsChrome is BCDOptions.ChromiumAsChrome.
		ChromiumAsChrome bool          `json:"chromium_as_chrome"`
		Columns          []column      `json:"columns"`
		Features         []Feature     `json:"features"`
		Uncataloged      []uncataloged `json:"uncataloged,omitempty"`
	}
	out.Timestamp = t.start
	out.ChromiumAsChrome = opts.ChromiumAsChrome
	for _, c := range t.Columns {
		bcd := c.BCDBrowser
		if c.Version == "" || (c.Chromium && !opts.ChromiumAsChrome) {
			bcd = ""
		}
		out.Columns = append(out.Columns, column{
			Heading: c.Heading, Browsers: append([]string{}, c.Browsers...), BCDBrowser: bcd,
			Chromium: c.Chromium, Version: c.Version, Sources: c.Sources, Problems: c.Problems,
			Shards: c.Shards,
		})
	}
	out.Features = t.Features(opts)
	for _, bh := range t.Behaviors {
		if bh.ID != "" {
			continue
		}
		u := uncataloged{Title: bh.Title, Results: map[string]State{}}
		for ci, c := range bh.Cells {
			u.Results[t.Columns[ci].Heading] = c.State
		}
		out.Uncataloged = append(out.Uncataloged, u)
	}
	return indent(out, "the results")
}

// version is what the columns of one major version of a browser say about a
// behavior.
type version struct {
	major int
	state State // Failed, Differs or Passed: the version is decided
	// headings are the columns of the version that decided it.
	headings []string
	// chromium is true when one of those columns is an unbranded Chromium.
	chromium bool
	// does says what the browser does where it differs from the catalog.
	does []string
	// failures describe the columns where the behavior failed.
	failures []string
}

// stretch is consecutive decided versions with the same state.
type stretch struct {
	state    State
	versions []*version
}

func (s stretch) first() int { return s.versions[0].major }
func (s stretch) last() int  { return s.versions[len(s.versions)-1].major }

// statements infers the support statements of a behavior for one BCD
// browser from its columns, most recent first, the way mdn-bcd-collector
// does: by major version, a version with a failure counts as failed, else
// one where it differed as partial, else as supported; each stretch of
// consecutive supported (or partial) versions is a statement. unknown says
// what the columns showed that no statement can say.
func (t *Table) statements(bh Behavior, br string, opts BCDOptions) (out []bcdStatement, unknown []string) {
	byMajor := map[int]*version{}
	for ci, c := range t.Columns {
		major, err := strconv.Atoi(c.Version)
		if c.BCDBrowser != br || err != nil {
			continue
		}
		cell := bh.Cells[ci]
		if c.Chromium && !opts.ChromiumAsChrome {
			if cell.State >= Passed {
				unknown = append(unknown, fmt.Sprintf("%s in %s, which is left out: an unbranded Chromium build is not Google Chrome (BCDOptions.ChromiumAsChrome, --chromium-as-chrome, counts it).",
					capitalize(cell.State.String()), c.Heading))
			}
			continue
		}
		if cell.State < Passed {
			continue // skipped or not run: decides nothing
		}
		v := byMajor[major]
		if v == nil {
			v = &version{major: major}
			byMajor[major] = v
		}
		v.state = max(v.state, cell.State)
		v.headings = append(v.headings, c.Heading)
		v.chromium = v.chromium || c.Chromium
		switch cell.State {
		case Failed:
			v.failures = append(v.failures, failureNote(c.Heading, cell))
		case Differs:
			for _, d := range Does(cell.Specs) {
				if !slices.Contains(v.does, d) {
					v.does = append(v.does, d)
				}
			}
		}
	}
	if len(byMajor) == 0 {
		return nil, unknown
	}
	var seen []*version
	for _, v := range byMajor {
		seen = append(seen, v)
	}
	slices.SortFunc(seen, func(a, b *version) int { return a.major - b.major })
	var runs []stretch
	for _, v := range seen {
		if n := len(runs); n > 0 && runs[n-1].state == v.state {
			runs[n-1].versions = append(runs[n-1].versions, v)
		} else {
			runs = append(runs, stretch{state: v.state, versions: []*version{v}})
		}
	}
	name := bcdNames[br]

	if len(runs) == 1 && runs[0].state == Failed {
		var notes []string
		for _, v := range runs[0].versions {
			notes = append(notes, v.failures...)
		}
		return []bcdStatement{{VersionAdded: false, Notes: oneOrMany(notes)}}, unknown
	}
	for i, r := range runs {
		if r.state == Failed {
			continue
		}
		span := versionSpan(r)
		held := fmt.Sprintf("Holds in %s %s", name, span)
		if r.state == Differs {
			held = fmt.Sprintf("Differs from the catalog in %s %s", name, span)
		}
		st := bcdStatement{}
		switch {
		case i > 0 && runs[i-1].last() == r.first()-1:
			st.VersionAdded = strconv.Itoa(r.first())
		case r.first() <= rangedUpTo[br]:
			st.VersionAdded = "≤" + strconv.Itoa(r.first())
		default:
			why := fmt.Sprintf("%d, the earliest version tested", r.first())
			if i > 0 {
				why = fmt.Sprintf("%d, and failed in %d; the versions between were not tested", r.first(), runs[i-1].last())
			}
			unknown = append(unknown, fmt.Sprintf("%s; the version it was added in is unknown: it was first seen in %s, and BCD allows a ranged \"≤\" version only up to %s %d.",
				held, why, name, rangedUpTo[br]))
			continue
		}
		if i+1 < len(runs) {
			next := runs[i+1]
			switch {
			case next.first() == r.last()+1:
				st.VersionRemoved = strconv.Itoa(next.first())
			case next.first() <= rangedUpTo[br]:
				st.VersionRemoved = "≤" + strconv.Itoa(next.first())
			default:
				unknown = append(unknown, fmt.Sprintf("%s; the version it changed in is unknown: %s %d was next tested, and the versions between were not.",
					held, name, next.first()))
				continue
			}
		}
		var notes []string
		if r.state == Differs {
			st.PartialImplementation = true
			notes = append(notes, differsNote(t.catalog.Outcome(bh.ID), name, r))
		}
		if i+1 < len(runs) && runs[i+1].state == Failed {
			for _, v := range runs[i+1].versions {
				notes = append(notes, v.failures...)
			}
		}
		if slices.ContainsFunc(r.versions, func(v *version) bool { return v.chromium }) {
			notes = append(notes, fmt.Sprintf("Tested in %s: an unbranded Chromium build, not Google Chrome.", strings.Join(headingsOf(r), ", ")))
		}
		st.Notes = oneOrMany(notes)
		out = append(out, st)
	}
	slices.Reverse(out)
	return out, unknown
}

// versionSpan names the versions of a stretch: "153", "140 to 156".
func versionSpan(r stretch) string {
	if r.first() == r.last() {
		return strconv.Itoa(r.first())
	}
	return fmt.Sprintf("%d to %d", r.first(), r.last())
}

func headingsOf(r stretch) []string {
	var hs []string
	for _, v := range r.versions {
		if v.chromium {
			hs = append(hs, v.headings...)
		}
	}
	return hs
}

// differsNote is the note of a partial implementation: what the catalog says,
// and what the browser does instead.
func differsNote(outcome, name string, r stretch) string {
	var does []string
	for _, v := range r.versions {
		for _, d := range v.does {
			if !slices.Contains(does, d) {
				does = append(does, d)
			}
		}
	}
	note := "Does not do what the behavior describes"
	if s := FirstSentence(outcome); s != "" {
		note = "The catalog says: " + s + " " + name + " differs"
	}
	if len(does) > 0 {
		note += "; what it does instead: " + strings.Join(does, "; ")
	}
	return note + "."
}

// failureNote describes a failed cell in Markdown: the column and its first
// failed spec.
func failureNote(heading string, cell Cell) string {
	var failed []Spec
	for _, s := range cell.Specs {
		if Outcome(s) == Failed {
			failed = append(failed, s)
		}
	}
	if len(failed) == 0 {
		return "Fails in " + heading + "."
	}
	s := failed[0]
	note := fmt.Sprintf("Fails in %s: %s (`%s`)", heading, s.Text, s.Location)
	if len(failed) > 1 {
		note += fmt.Sprintf(", and %d more %s", len(failed)-1, plural(len(failed)-1, "spec", "specs"))
	}
	return note + "."
}

// Does says what a browser does where it differs from the catalog, from the
// specs of a cell that passed with the differs label: each one's DoesEntry
// report entries; else the comments of its source that say so (Notes, from
// Table.AddNotes), each once, with the first spec's location; else its text
// and location ("runtime.connect throws a TypeError
// (`specs/naming_test.go:122`)"), which is what the spec asserts in that
// browser.
func Does(specs []Spec) []string {
	var out, seen []string
	for _, s := range specs {
		if Outcome(s) != Differs {
			continue
		}
		var items []string
		switch {
		case len(s.Does) > 0:
			items = s.Does
		case len(s.Notes) > 0:
			for _, n := range s.Notes {
				if !slices.Contains(seen, n) {
					seen = append(seen, n)
					items = append(items, fmt.Sprintf("%s (`%s`)", n, s.Location))
				}
			}
		default:
			items = []string{fmt.Sprintf("%s (`%s`)", s.Text, s.Location)}
		}
		for _, d := range items {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// FirstSentence returns the first sentence of a catalog outcome: up to the
// first ". " outside a code span, or all of it.
func FirstSentence(s string) string {
	s = strings.TrimSpace(s)
	inCode := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '`':
			inCode = !inCode
		case '.':
			if !inCode && (i+1 == len(s) || s[i+1] == ' ') {
				return s[:i+1]
			}
		}
	}
	return s
}

// oneOrMany returns the only element of s, or s, as browser-compat-data
// writes statements and notes; nil for none.
func oneOrMany[T any](s []T) any {
	switch len(s) {
	case 0:
		return nil
	case 1:
		return s[0]
	default:
		return s
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
