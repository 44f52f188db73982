// Command behaviors turns a Ginkgo JSON report of the conformance suite into
// docs/behaviors.md: one row per catalog behavior, with its area, the result
// in each browser of the runs (Chromium's and Firefox's side by side), and
// the specs that check it; then, for each behavior that differs from the
// catalog in some browser, what the catalog says (its "Outcome") beside what
// each browser does (the differing specs' "does" report entries, or else the
// specs' own texts, which are what they assert in that browser). The page is
// written from the runs and the catalog only; nothing in it is typed by hand.
//
//	go run ./scripts/behaviors -report chromium.json,firefox.json -catalog ../shared/reference/messaging-behaviors.md -out docs/behaviors.md
//
// Reports of one browser build (the same "browser" report entry) are parts
// of one run and make one column: the shards of a run split across machines
// (go test ./specs -portprobe.shard=i/n), or its slow specs run apart. A spec
// that ran in two of them with different outcomes is an error
// (compat.Merge); a spec a shard left out is not run there, not skipped.
//
// scripts/behaviors.sh runs the suite and this command.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/portprobe/portprobe/internal/compat"
)

type behavior struct {
	id    string
	area  string
	title string
	// specs are the behavior's specs in every report, each once.
	specs []compat.Spec
	// in are its specs in each browser's report, by column.
	in [][]compat.Spec
}

func main() {
	reportPaths := flag.String("report", "", "Ginkgo JSON reports of runs of ./specs, comma-separated: one per browser (Chromium's, Firefox's), or several of one browser build (its shards), which are merged")
	catalogPath := flag.String("catalog", "", "catalog files (comma-separated: messaging-behaviors.md, docs/catalog/*.md), for the titles of the behaviors (optional)")
	out := flag.String("out", "docs/behaviors.md", "page to write")
	flag.Parse()
	if *reportPaths == "" {
		log.Fatal("behaviors: -report is required")
	}
	var parts [][]types.Report
	paths := strings.Split(*reportPaths, ",")
	for _, path := range paths {
		reports, err := compat.ReadReports(path)
		if err != nil {
			log.Fatalf("behaviors: %v", err)
		}
		parts = append(parts, reports)
	}
	runs, err := byBuild(paths, parts)
	if err != nil {
		log.Fatalf("behaviors: %v", err)
	}
	var catalog *compat.Catalog
	if *catalogPath != "" {
		var err error
		if catalog, err = compat.ReadCatalogs(strings.Split(*catalogPath, ",")); err != nil {
			log.Fatalf("behaviors: %v", err)
		}
	}
	page, err := render(runs, catalog, compat.NewSource("."))
	if err != nil {
		log.Fatalf("behaviors: %v", err)
	}
	if err := os.WriteFile(*out, []byte(page), 0o644); err != nil {
		log.Fatalf("behaviors: writing %s: %v", *out, err)
	}
	fmt.Printf("behaviors: wrote %s\n", *out)
}

// byBuild groups the reports read from paths by browser build, in the order
// each build first appears, merging the parts of one build with
// compat.Merge: one run per column. Reports that name no browser are a
// column each.
func byBuild(paths []string, parts [][]types.Report) ([][]types.Report, error) {
	var builds []string
	group := map[string][]int{}
	for i, reports := range parts {
		b := compat.Browser(reports)
		if b == "" {
			b = fmt.Sprintf("\x00%d", i) // unknown: a column of its own
		}
		if _, ok := group[b]; !ok {
			builds = append(builds, b)
		}
		group[b] = append(group[b], i)
	}
	var runs [][]types.Report
	for _, b := range builds {
		var sources []string
		var ps [][]types.Report
		for _, i := range group[b] {
			sources = append(sources, paths[i])
			ps = append(ps, parts[i])
		}
		merged, err := compat.Merge(sources, ps...)
		if err != nil {
			return nil, err
		}
		runs = append(runs, merged)
	}
	return runs, nil
}

// render writes the page of runs, one per browser: a column each. src gives
// what differing specs' comments say each browser does.
func render(runs [][]types.Report, catalog *compat.Catalog, src *compat.Source) (string, error) {
	byID := map[string]*behavior{}
	var browsers, starts []string
	for col, reports := range runs {
		browser := compat.Browser(reports)
		if browser == "" {
			browser = "unknown browser"
		}
		browsers = append(browsers, browser)
		if len(reports) > 0 {
			starts = append(starts, reports[0].StartTime.UTC().Format("2006-01-02 15:04 UTC"))
		}
		firefox := strings.Contains(strings.ToLower(browser), "firefox")
		for _, s := range compat.Specs(reports) {
			if s.Differs && s.State == types.SpecStatePassed && len(s.Does) == 0 {
				notes, err := src.Notes(s, firefox)
				if err != nil {
					return "", err
				}
				s.Notes = notes
			}
			for _, id := range s.IDs {
				b := byID[id]
				if b == nil {
					b = &behavior{id: id, area: s.Area, title: catalog.Title(id), in: make([][]compat.Spec, len(runs))}
					byID[id] = b
				}
				b.in[col] = append(b.in[col], s)
				if !slices.ContainsFunc(b.specs, func(x compat.Spec) bool { return x.Text == s.Text && x.Location == s.Location }) {
					b.specs = append(b.specs, s)
				}
			}
		}
	}

	var ids []string
	for id := range byID {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if d := slices.Index(compat.Areas, byID[a].area) - slices.Index(compat.Areas, byID[b].area); d != 0 {
			return d
		}
		if d := catalog.Rank(a) - catalog.Rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})

	var b strings.Builder
	names := make([]string, len(browsers))
	for i, br := range browsers {
		names[i] = short(br)
	}
	fmt.Fprintf(&b, "# What extension messaging (ports, one-time, external, native, user scripts) does in %s\n\n", strings.Join(browsers, " and "))
	fmt.Fprintf(&b, "Generated by `scripts/behaviors.sh` from the Ginkgo JSON reports of runs of `./specs` (%s). Do not edit by hand.\n\n", strings.Join(starts, "; "))
	fmt.Fprintf(&b, "%d behaviors of the catalog have specs.", len(ids))
	for col, name := range names {
		held, failed, notRunN, skipped, differs := 0, 0, 0, 0, 0
		for _, id := range ids {
			switch r := result(byID[id].in[col]); {
			case r == "holds" || r == "differs":
				held++
			case r == notRun:
				notRunN++
			case strings.HasPrefix(r, "skipped"):
				skipped++
			default:
				failed++
			}
			if slices.ContainsFunc(byID[id].in[col], func(s compat.Spec) bool { return s.Differs && s.State == types.SpecStatePassed }) {
				differs++
			}
		}
		fmt.Fprintf(&b, " In %s: %d hold, %d do not (or did not run to the end), %d were skipped, %d were not run; %d differ from what the catalog says, and their specs assert what %s does.", name, held, failed, skipped, notRunN, differs, name)
	}
	b.WriteString(" Not run means left out by the label filter: the slow specs unless the run included `--label-filter=slow`, or a spec a browser's run does not have. A spec that asserts one engine's own behavior says so in a comment, in a branch on `Browser.Engine()`.\n\n")
	b.WriteString("| ID | area | behavior (catalog) |")
	for _, name := range names {
		b.WriteString(" " + name + " |")
	}
	b.WriteString(" checked by |\n|---|---|---|")
	b.WriteString(strings.Repeat("---|", len(names)))
	b.WriteString("---|\n")
	for _, id := range ids {
		bh := byID[id]
		var checks []string
		for _, s := range bh.specs {
			var marks []string
			for col, name := range names {
				for _, x := range bh.in[col] {
					if x.Text == s.Text && x.Location == s.Location && x.State != types.SpecStatePassed && x.State != types.SpecStateSkipped {
						marks = append(marks, "**"+x.State.String()+" in "+name+"**")
					}
				}
			}
			mark := ""
			if len(marks) > 0 {
				mark = " " + strings.Join(marks, ", ")
			}
			checks = append(checks, fmt.Sprintf("%s (`%s`)%s", escape(s.Text), s.Location, mark))
		}
		fmt.Fprintf(&b, "| %s | %s | %s |", id, bh.area, escape(bh.title))
		for col := range names {
			r := escape(result(bh.in[col]))
			if r == "differs" {
				r = fmt.Sprintf("[differs](#%s)", anchor(id))
			}
			fmt.Fprintf(&b, " %s |", r)
		}
		fmt.Fprintf(&b, " %s |\n", strings.Join(checks, "<br>"))
	}
	writeDifferences(&b, ids, byID, names, catalog)
	var missing []string
	for _, id := range catalog.IDs() {
		if byID[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(&b, "\nCatalog entries no spec checks in these runs: %s.\n", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

// writeDifferences writes, for each behavior that differs from the catalog
// in some browser, what the catalog says and what each browser does.
func writeDifferences(b *strings.Builder, ids []string, byID map[string]*behavior, names []string, catalog *compat.Catalog) {
	header := false
	for _, id := range ids {
		bh := byID[id]
		var does []string
		for col, name := range names {
			if result(bh.in[col]) != "differs" {
				continue
			}
			does = append(does, fmt.Sprintf("- **%s does:** %s\n", name, strings.Join(compat.Does(bh.in[col]), "; ")))
		}
		if len(does) == 0 {
			continue
		}
		if !header {
			b.WriteString("\n## Where a browser differs from the catalog\n\n")
			b.WriteString("For each behavior that differs: what the catalog says (its *Outcome*), then what each browser that differs does instead, in the words of the specs that assert it: their `does` report entries, else their comments that say so (a Chrome difference starts with \"Catalog:\", a Firefox one sits in the spec's branch on `Engine() == Firefox` or starts with \"Firefox\"), else the specs' own texts.\n")
			header = true
		}
		said := catalog.Outcome(id)
		if said == "" {
			said = "(the catalog has no outcome for it; run with -catalog)"
		}
		fmt.Fprintf(b, "\n<a id=\"%s\"></a>\n### %s %s\n\n- **Catalog says:** %s\n", anchor(id), id, bh.title, said)
		for _, d := range does {
			b.WriteString(d)
		}
	}
}

// anchor is the link target of a behavior's differences.
func anchor(id string) string {
	return "differs-" + strings.ToLower(id)
}

// short names a browser by product and major version: "Chromium 156",
// "Firefox 153".
func short(browser string) string {
	s, _, _ := strings.Cut(browser, " (")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "Google "), "Mozilla ")
	fields := strings.Fields(s)
	if n := len(fields); n > 1 {
		major, _, _ := strings.Cut(fields[n-1], ".")
		fields[n-1] = major
	}
	return strings.Join(fields, " ")
}

// result is what the behavior's specs in one browser's run did: "holds"
// when every one that ran passed, "differs" when they passed and one
// asserts what this browser does where the catalog says otherwise,
// "skipped: <reason>" when none ran and one skipped itself, and "not run"
// when none ran (the slow specs, left out by the default label filter:
// `--label-filter=slow` runs them).
func result(specs []compat.Spec) string {
	ran, differs := 0, false
	skip := ""
	for _, s := range specs {
		switch s.State {
		case types.SpecStatePassed:
			ran++
			differs = differs || s.Differs
		case types.SpecStateSkipped, types.SpecStatePending:
			if s.Message != "" && skip == "" {
				skip = "skipped: " + s.Message
			}
		default:
			return "does not hold (" + s.State.String() + ")"
		}
	}
	switch {
	case ran == 0 && skip != "":
		return skip
	case ran == 0:
		return notRun
	case differs:
		return "differs"
	}
	return "holds"
}

const notRun = "not run"

func escape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
