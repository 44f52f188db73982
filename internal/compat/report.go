package compat

// This file reads what the suite leaves behind: Ginkgo JSON reports and the
// catalog of behaviors. scripts/behaviors uses it too.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// IDPattern matches a catalog behavior ID such as "RC-04" (the shared
// catalog of ports) or "MS-03" (portprobe's own catalog of one-time, external,
// native and user-script messaging, docs/catalog/). A spec checks the
// behaviors whose IDs are among its labels.
var IDPattern = regexp.MustCompile(`^[RM][A-Z]-\d+$`)

// Areas are the suite's area labels, in the order the catalog presents them.
var Areas = []string{"connect", "naming", "sender", "messages", "disconnect", "cross-extension", "tabs-connect", "arguments", "lifecycle", "mdn", "send-message", "external-message", "native-messaging", "user-scripts", "harness"}

const (
	// DiffersLabel marks a spec that asserts what Chrome does where that
	// differs from what the catalog says.
	DiffersLabel = "differs"
	// FirefoxDiffersLabel marks a spec that asserts what Firefox does
	// where that differs from what the catalog says (and from Chrome).
	// Each label counts in its engine's reports only.
	FirefoxDiffersLabel = "firefox-differs"
	// BrowserEntry is the name of the report entry in which the suite's
	// BeforeSuite records the browser it runs, as "Chromium 156.0.8078.79
	// (/usr/lib/chromium/chromium)".
	BrowserEntry = "browser"
	// DoesEntry is the name of a report entry in which a differing spec
	// may say, in a sentence, what the browser does where the catalog says
	// otherwise: AddReportEntry(compat.DoesEntry, "Throws a plain Error
	// that shows the value"). The table and docs/behaviors.md show it
	// beside the catalog's outcome; without one, they show the spec's text.
	DoesEntry = "does"
)

// Spec is one It of a report: a single check, with its outcome.
type Spec struct {
	// Text is the texts of the spec's containers and its own, joined by
	// spaces, as Ginkgo prints it.
	Text string
	// Container is the text of the outermost container (the It's own text
	// for an It at the top level).
	Container string
	// Location is file:line of the It, relative to the module root when
	// the file is under specs/.
	Location string
	State    types.SpecState
	// Message is the failure message of a failed spec, or the reason a
	// spec gave to Skip. A spec that the label filter left out has none.
	Message string
	// Area is the spec's first area label in the order of Areas, or "".
	Area string
	// IDs are the catalog behaviors the spec checks (its labels that match
	// IDPattern); none for a spec the catalog has no entry for.
	IDs []string
	// Differs is true when the spec carries the differs label of the
	// report's engine: FirefoxDiffersLabel in a report of Firefox,
	// DiffersLabel in any other.
	Differs bool
	// Does are the spec's DoesEntry report entries: what the browser
	// does, in the spec's words.
	Does []string
	// Notes are what the spec's comments say the browser does, when
	// Table.AddNotes found them in its source.
	Notes []string
}

// ReadReports reads a report written by `ginkgo --json-report` or
// `go test -ginkgo.json-report`: a JSON list of suite reports.
func ReadReports(path string) ([]types.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Ginkgo report: %w", err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("parsing the Ginkgo report %s: %w", path, err)
	}
	return reports, nil
}

// Specs returns the It specs of reports, in the order of the reports.
func Specs(reports []types.Report) []Spec {
	differs := DiffersLabel
	if parseBrowser(Browser(reports)).bcdBrowser() == "firefox" {
		differs = FirefoxDiffersLabel
	}
	var specs []Spec
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				continue
			}
			specs = append(specs, specOf(sr, differs))
		}
	}
	return specs
}

func specOf(sr types.SpecReport, differsLabel string) Spec {
	labels := slices.Clone(sr.LeafNodeLabels)
	for _, ls := range sr.ContainerHierarchyLabels {
		labels = append(labels, ls...)
	}
	s := Spec{
		Text:      strings.TrimSpace(strings.Join(append(slices.Clone(sr.ContainerHierarchyTexts), sr.LeafNodeText), " ")),
		Container: sr.LeafNodeText,
		Location:  fmt.Sprintf("%s:%d", relative(sr.LeafNodeLocation.FileName), sr.LeafNodeLocation.LineNumber),
		State:     sr.State,
		Message:   sr.Failure.Message,
		Differs:   slices.Contains(labels, differsLabel),
	}
	if len(sr.ContainerHierarchyTexts) > 0 {
		s.Container = sr.ContainerHierarchyTexts[0]
	}
	for _, e := range sr.ReportEntries {
		if d := strings.TrimSpace(e.StringRepresentation()); e.Name == DoesEntry && d != "" {
			s.Does = append(s.Does, d)
		}
	}
	for _, a := range Areas {
		if slices.Contains(labels, a) {
			s.Area = a
			break
		}
	}
	for _, l := range labels {
		if IDPattern.MatchString(l) && !slices.Contains(s.IDs, l) {
			s.IDs = append(s.IDs, l)
		}
	}
	return s
}

// Browser returns the value of the first BrowserEntry in reports, or "" when
// there is none (the suite failed before it found a browser).
func Browser(reports []types.Report) string {
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			for _, e := range sr.ReportEntries {
				if e.Name == BrowserEntry {
					return e.StringRepresentation()
				}
			}
		}
	}
	return ""
}

// relative cuts a spec file's path down to specs/<file>, from a report made
// on any operating system.
func relative(path string) string {
	path = strings.ReplaceAll(path, `\`, "/")
	if i := strings.LastIndex(path, "/specs/"); i >= 0 {
		return path[i+1:]
	}
	return path
}

// Catalog is the catalog of behaviors (messaging-behaviors.md): the title and
// outcome of each behavior ID, in catalog order. The nil *Catalog has no
// entries.
type Catalog struct {
	titles   map[string]string
	outcomes map[string]string
	ids      []string
}

// ReadCatalog reads the catalog from a Markdown file in which each behavior
// is a heading "### RC-01 title".
func ReadCatalog(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	defer f.Close()
	c, err := ParseCatalog(f)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog %s: %w", path, err)
	}
	return c, nil
}

// ReadCatalogs reads several catalog files as one, in order: the shared
// catalog and portprobe's own (docs/catalog/*.md). A folder among paths
// stands for its *.md files, in name order: "docs/catalog".
func ReadCatalogs(paths []string) (*Catalog, error) {
	var files []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			files = append(files, p) // ReadCatalog says what is wrong
			continue
		}
		md, err := filepath.Glob(filepath.Join(p, "*.md"))
		if err != nil {
			return nil, fmt.Errorf("reading the catalog folder %s: %w", p, err)
		}
		if len(md) == 0 {
			return nil, fmt.Errorf("reading the catalog folder %s: it has no .md file", p)
		}
		files = append(files, md...) // Glob sorts them
	}
	all := &Catalog{titles: map[string]string{}, outcomes: map[string]string{}}
	for _, p := range files {
		c, err := ReadCatalog(p)
		if err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			if _, dup := all.titles[id]; dup {
				return nil, fmt.Errorf("reading the catalog %s: %s is already in an earlier file", p, id)
			}
			all.titles[id] = c.titles[id]
			all.outcomes[id] = c.outcomes[id]
			all.ids = append(all.ids, id)
		}
	}
	return all, nil
}

// outcomePrefix starts the line of a catalog entry that says what the
// browser does: "- **Outcome:** Returns a `Port` object at once. ..."
const outcomePrefix = "- **Outcome:**"

// ParseCatalog reads a catalog as ReadCatalog does. The entry's outcome is
// its line that starts with "- **Outcome:**", without that prefix, and the
// indented list items that follow it, on one line.
func ParseCatalog(r io.Reader) (*Catalog, error) {
	c := &Catalog{titles: map[string]string{}, outcomes: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	current, inOutcome := "", false
	for sc.Scan() {
		text := sc.Text()
		if strings.HasPrefix(text, "#") {
			current = ""
		}
		// The outcome's own list (indented items) belongs to it.
		if inOutcome && strings.HasPrefix(text, "  ") && strings.TrimSpace(text) != "" {
			c.outcomes[current] += " " + strings.TrimSpace(text)
			continue
		}
		inOutcome = false
		if o, ok := strings.CutPrefix(text, outcomePrefix); ok && current != "" && c.outcomes[current] == "" {
			c.outcomes[current] = strings.TrimSpace(o)
			inOutcome = true
			continue
		}
		line, ok := strings.CutPrefix(text, "### ")
		if !ok {
			continue
		}
		id, title, _ := strings.Cut(line, " ")
		if IDPattern.MatchString(id) {
			c.titles[id] = title
			c.ids = append(c.ids, id)
			current = id
		}
	}
	return c, sc.Err()
}

// Title returns the catalog's title of a behavior, or "".
func (c *Catalog) Title(id string) string {
	if c == nil {
		return ""
	}
	return c.titles[id]
}

// Outcome returns the catalog's outcome of a behavior (what it says the
// browser does, in Markdown), or "".
func (c *Catalog) Outcome(id string) string {
	if c == nil {
		return ""
	}
	return strings.TrimSpace(c.outcomes[id])
}

// IDs returns the behavior IDs in catalog order.
func (c *Catalog) IDs() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.ids)
}

// Rank returns the position of id in the catalog; IDs not in it come after
// all that are.
func (c *Catalog) Rank(id string) int {
	if c == nil {
		return 0
	}
	if i := slices.Index(c.ids, id); i >= 0 {
		return i
	}
	return len(c.ids)
}
