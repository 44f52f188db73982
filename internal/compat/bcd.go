package compat

// This file writes the table as JSON shaped like MDN's browser-compat-data;
// the package doc describes the shape.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type bcdFile struct {
	Meta      bcdMeta                          `json:"__meta"`
	Portprobe map[string]map[string]bcdFeature `json:"portprobe"`
}

type bcdMeta struct {
	// Timestamp is when the earliest report's run started.
	Timestamp string      `json:"timestamp,omitempty"`
	Columns   []bcdColumn `json:"columns"`
	// Results is the table itself: feature key, then column heading.
	Results map[string]map[string]State `json:"results"`
}

type bcdColumn struct {
	Heading    string   `json:"heading"`
	Browsers   []string `json:"browsers"`
	BCDBrowser string   `json:"bcd_browser"`
	Version    string   `json:"version"`
	Sources    []string `json:"sources,omitempty"`
	Problems   []string `json:"problems,omitempty"`
}

type bcdFeature struct {
	Compat bcdCompat `json:"__compat"`
}

type bcdCompat struct {
	Description string `json:"description,omitempty"`
	// Support maps a browser to a statement, or to a list of them.
	Support map[string]any `json:"support"`
	Status  bcdStatus      `json:"status"`
}

type bcdStatus struct {
	Experimental  bool `json:"experimental"`
	StandardTrack bool `json:"standard_track"`
	Deprecated    bool `json:"deprecated"`
}

type bcdStatement struct {
	// VersionAdded is a version string, false (never supported) or nil
	// (unknown).
	VersionAdded          any    `json:"version_added"`
	VersionRemoved        string `json:"version_removed,omitempty"`
	PartialImplementation bool   `json:"partial_implementation,omitempty"`
	// Notes is a string, or a list of them.
	Notes any `json:"notes,omitempty"`
}

// The groups under "portprobe".
const (
	catalogGroup     = "runtime_connect"
	uncatalogedGroup = "uncataloged"
)

// BCD renders the table as indented JSON shaped like MDN's
// browser-compat-data, as the package doc describes.
func (t *Table) BCD() ([]byte, error) {
	f := bcdFile{
		Meta: bcdMeta{Timestamp: t.start, Results: map[string]map[string]State{}},
		Portprobe: map[string]map[string]bcdFeature{
			catalogGroup:     {},
			uncatalogedGroup: {},
		},
	}
	var bcdBrowsers []string
	for _, c := range t.Columns {
		f.Meta.Columns = append(f.Meta.Columns, bcdColumn{
			Heading:    c.Heading,
			Browsers:   append([]string{}, c.Browsers...),
			BCDBrowser: c.BCDBrowser,
			Version:    c.Version,
			Sources:    c.Sources,
			Problems:   c.Problems,
		})
		if c.Version != "" && !slices.Contains(bcdBrowsers, c.BCDBrowser) {
			bcdBrowsers = append(bcdBrowsers, c.BCDBrowser)
		}
	}
	if len(bcdBrowsers) == 0 {
		bcdBrowsers = []string{"chrome"}
	}

	for _, bh := range t.Behaviors {
		group, key := catalogGroup, bh.ID
		if bh.ID == "" {
			group, key = uncatalogedGroup, uniqueSlug(f.Portprobe[uncatalogedGroup], bh.Title)
		}
		results := map[string]State{}
		for ci, c := range bh.Cells {
			results[t.Columns[ci].Heading] = c.State
		}
		f.Meta.Results[key] = results

		support := map[string]any{}
		for _, br := range bcdBrowsers {
			support[br] = oneOrMany(t.statements(bh, br))
		}
		f.Portprobe[group][key] = bcdFeature{Compat: bcdCompat{
			Description: description(bh),
			Support:     support,
		}}
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("writing the compatibility data: %w", err)
	}
	return buf.Bytes(), nil
}

// version is what the columns of one major version of a browser say about a
// behavior.
type version struct {
	major int
	state State // Failed, Differs or Passed: the version is decided
	// passed are the headings of the columns where the behavior passed or
	// differed; differs the locations of the specs that differed.
	passed, differs []string
	// failures describe the columns where the behavior failed.
	failures []string
}

// statements returns the support statements of a behavior for one
// browser-compat-data browser, most recent first.
func (t *Table) statements(bh Behavior, bcdBrowser string) []bcdStatement {
	byMajor := map[int]*version{}
	var undecided []string
	for ci, c := range t.Columns {
		major, err := strconv.Atoi(c.Version)
		if c.BCDBrowser != bcdBrowser || err != nil {
			continue
		}
		cell := bh.Cells[ci]
		if cell.State < Passed {
			undecided = append(undecided, fmt.Sprintf("%s in %s", cell.State, c.Heading))
			continue
		}
		v := byMajor[major]
		if v == nil {
			v = &version{major: major}
			byMajor[major] = v
		}
		v.state = max(v.state, cell.State)
		switch cell.State {
		case Failed:
			v.failures = append(v.failures, failureNote(c.Heading, cell))
		default:
			v.passed = append(v.passed, c.Heading)
			for _, s := range cell.Specs {
				if Outcome(s) == Differs && !slices.Contains(v.differs, s.Location) {
					v.differs = append(v.differs, s.Location)
				}
			}
		}
	}
	var seen []*version
	for _, v := range byMajor {
		seen = append(seen, v)
	}
	slices.SortFunc(seen, func(a, b *version) int { return a.major - b.major })

	if len(seen) == 0 {
		st := bcdStatement{VersionAdded: nil}
		if len(undecided) > 0 {
			st.Notes = html.EscapeString(capitalize(strings.Join(undecided, "; ")) + ".")
		}
		return []bcdStatement{st}
	}

	var out []bcdStatement
	var before []string // failures before the first supported stretch
	for i := 0; i < len(seen); {
		if seen[i].state == Failed {
			before = append(before, seen[i].failures...)
			i++
			continue
		}
		j := i
		for j < len(seen) && seen[j].state != Failed {
			j++
		}
		k := j
		for k < len(seen) && seen[k].state == Failed {
			k++
		}
		stretch, after := seen[i:j], seen[j:k]
		st := bcdStatement{VersionAdded: "≤" + strconv.Itoa(stretch[0].major)}
		if i > 0 && seen[i-1].major == stretch[0].major-1 {
			st.VersionAdded = strconv.Itoa(stretch[0].major)
		}
		if len(after) > 0 {
			removed := after[0].major
			st.VersionRemoved = "≤" + strconv.Itoa(removed)
			if removed == stretch[len(stretch)-1].major+1 {
				st.VersionRemoved = strconv.Itoa(removed)
			}
		}
		var passed, differs []string
		for _, v := range stretch {
			passed = append(passed, v.passed...)
			differs = append(differs, v.differs...)
		}
		notes := []string{"Passed in " + html.EscapeString(strings.Join(passed, ", ")) + "."}
		if len(differs) > 0 {
			st.PartialImplementation = true
			notes = append(notes, bcdNames[bcdBrowser]+" does not do what the catalog says; what it does is asserted by "+codeList(differs)+".")
		}
		notes = append(notes, before...)
		before = nil
		for _, v := range after {
			notes = append(notes, v.failures...)
		}
		st.Notes = oneOrMany(notes)
		out = append(out, st)
		i = k
	}
	if len(out) == 0 {
		return []bcdStatement{{VersionAdded: false, Notes: oneOrMany(before)}}
	}
	slices.Reverse(out)
	return out
}

// failureNote describes a failed cell: the column and its first failed spec.
func failureNote(heading string, cell Cell) string {
	var failed []Spec
	for _, s := range cell.Specs {
		if Outcome(s) == Failed {
			failed = append(failed, s)
		}
	}
	if len(failed) == 0 {
		return "Failed in " + html.EscapeString(heading) + "."
	}
	s := failed[0]
	note := fmt.Sprintf("Failed in %s: %s (<code>%s</code>)", html.EscapeString(heading), html.EscapeString(s.Text), html.EscapeString(s.Location))
	if m := summary(s.Message); m != "" {
		note += ": " + html.EscapeString(m)
	}
	if len(failed) > 1 {
		note += fmt.Sprintf(", and %d more %s", len(failed)-1, plural(len(failed)-1, "spec", "specs"))
	}
	return note + "."
}

var backticks = regexp.MustCompile("`([^`]*)`")

// description is the feature's description: the title, with its code spans
// as <code>.
func description(bh Behavior) string {
	return backticks.ReplaceAllString(html.EscapeString(bh.Title), "<code>$1</code>")
}

func codeList(items []string) string {
	var b strings.Builder
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("<code>" + html.EscapeString(s) + "</code>")
	}
	return b.String()
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueSlug returns a feature key for a title, not yet used in group.
func uniqueSlug(group map[string]bcdFeature, title string) string {
	slug := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(title), "_"), "_")
	if slug == "" {
		slug = "specs"
	}
	key := slug
	for n := 2; ; n++ {
		if _, used := group[key]; !used {
			return key
		}
		key = slug + "_" + strconv.Itoa(n)
	}
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

// bcdNames name browser-compat-data's browsers in notes.
var bcdNames = map[string]string{"chrome": "Chrome", "edge": "Edge", "opera": "Opera", "firefox": "Firefox"}
