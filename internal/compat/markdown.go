package compat

import (
	"fmt"
	"strings"
)

// cellText is how the Markdown table shows each State.
var cellText = [...]string{
	NotRun:  "➖ not run",
	Skipped: "⏭️ skipped",
	Passed:  "✅ passed",
	Differs: "⚠️ differs",
	Failed:  "❌ failed",
}

// maxFailures bounds the list of failed specs under the table.
const maxFailures = 60

// Markdown renders the table as GitHub-flavored Markdown, for a job summary
// or a terminal: a legend, the table, the browsers with their counts and any
// failure outside the specs, the failed specs with the first line of their
// failure, and the catalog entries that no spec checks.
func (t *Table) Markdown() string {
	var b strings.Builder
	b.WriteString("## Extension messaging, browser by browser\n\n")
	fmt.Fprintf(&b, "%d %s (catalog behaviors, and groups of specs without a catalog ID) in %d %s. ",
		len(t.Behaviors), plural(len(t.Behaviors), "row", "rows"), len(t.Columns), plural(len(t.Columns), "browser", "browsers"))
	b.WriteString("A cell says what the row's specs did in that browser: *passed*; *differs*: passed, but that browser does not do what the catalog says, and the spec asserts what it does; *failed*: at least one spec failed (how many of those that ran); *skipped*: a spec was pending or skipped itself; *not run*: no spec of the row ran there (left out by the label filter, such as the slow ones, or not reached).\n\n")

	b.WriteString("| ID | area | behavior |")
	for _, c := range t.Columns {
		fmt.Fprintf(&b, " %s |", escape(c.Heading))
	}
	b.WriteString("\n|---|---|---|")
	for range t.Columns {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, bh := range t.Behaviors {
		id := bh.ID
		if id == "" {
			id = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |", id, bh.Area, escape(bh.Title))
		for _, c := range bh.Cells {
			text := cellText[c.State]
			if c.State == Failed {
				ran, failed := c.Ran()
				text += fmt.Sprintf(" (%d of %d)", failed, ran)
			}
			fmt.Fprintf(&b, " %s |", text)
		}
		b.WriteString("\n")
	}

	b.WriteString("\n### Browsers\n\n")
	for _, c := range t.Columns {
		browsers := "the reports do not name the browser (the suite stopped before its BeforeSuite found one)"
		if len(c.Browsers) > 0 {
			browsers = strings.Join(c.Browsers, "; ")
		}
		fmt.Fprintf(&b, "- **%s**: %s", c.Heading, browsers)
		if len(c.Sources) > 0 {
			fmt.Fprintf(&b, ", from %s", strings.Join(c.Sources, ", "))
		}
		if c.Shards > 0 {
			fmt.Fprintf(&b, ", the suite split in %d shards", c.Shards)
		}
		fmt.Fprintf(&b, ". %d passed, %d differ, %d failed, %d skipped, %d not run.",
			c.Count[Passed], c.Count[Differs], c.Count[Failed], c.Count[Skipped], c.Count[NotRun])
		if c.Chromium {
			b.WriteString(" An unbranded Chromium build, not Google Chrome: the browser-compat-data JSON leaves it out of `chrome` unless told otherwise (`--chromium-as-chrome`).")
		}
		b.WriteString("\n")
		for _, p := range c.Problems {
			fmt.Fprintf(&b, "  - ❌ %s\n", inlineCode(summary(p)))
		}
	}

	t.writeDifferences(&b)

	var failures []string
	for _, bh := range t.Behaviors {
		for ci, cell := range bh.Cells {
			for _, s := range cell.Specs {
				if Outcome(s) != Failed {
					continue
				}
				name := bh.ID
				if name == "" {
					name = bh.Title
				}
				failures = append(failures, fmt.Sprintf("- **%s**, %s: %s (`%s`): %s\n",
					t.Columns[ci].Heading, name, s.Text, s.Location, inlineCode(summary(s.Message))))
			}
		}
	}
	if len(failures) > 0 {
		b.WriteString("\n### Failed specs\n\n")
		for i, f := range failures {
			if i == maxFailures {
				fmt.Fprintf(&b, "- and %d more.\n", len(failures)-maxFailures)
				break
			}
			b.WriteString(f)
		}
	}
	if len(t.NotRun) > 0 || t.NotRunGroups > 0 {
		fmt.Fprintf(&b, "\nNot run in any browser, so not in the table (left out by the label filter): ")
		if len(t.NotRun) > 0 {
			b.WriteString(strings.Join(t.NotRun, ", "))
		}
		if t.NotRunGroups > 0 {
			if len(t.NotRun) > 0 {
				b.WriteString(", and ")
			}
			fmt.Fprintf(&b, "%d %s of specs without a catalog ID", t.NotRunGroups, plural(t.NotRunGroups, "group", "groups"))
		}
		b.WriteString(".\n")
	}
	if len(t.Unchecked) > 0 {
		fmt.Fprintf(&b, "\nCatalog entries no spec checks in these runs: %s.\n", strings.Join(t.Unchecked, ", "))
	}
	return b.String()
}

// escape makes s safe in a table cell.
func escape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// inlineCode writes s as a code span, which Markdown shows as it is.
func inlineCode(s string) string {
	if s == "" {
		return "(no message)"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// writeDifferences writes, for each behavior that differs from the catalog in
// some column, what the catalog says and what each such browser does.
func (t *Table) writeDifferences(b *strings.Builder) {
	header := false
	for _, bh := range t.Behaviors {
		var lines []string
		for ci, c := range bh.Cells {
			if c.State != Differs {
				continue
			}
			lines = append(lines, fmt.Sprintf("  - %s does: %s\n", t.Columns[ci].Heading, oneLine(strings.Join(Does(c.Specs), "; "))))
		}
		if len(lines) == 0 {
			continue
		}
		if !header {
			b.WriteString("\n### Where a browser differs from the catalog\n\n")
			b.WriteString("What the catalog says, and what the browser does instead: the differing specs' `does` report entries, or else the specs themselves, which assert what that browser does.\n\n")
			header = true
		}
		name := bh.ID
		if name == "" {
			name = bh.Title
		}
		catalog := "(no catalog outcome: run with --catalog)"
		if o := t.catalog.Outcome(bh.ID); o != "" {
			catalog = o
		}
		fmt.Fprintf(b, "- **%s** %s\n  - catalog says: %s\n", name, oneLine(bh.Title), oneLine(catalog))
		for _, l := range lines {
			b.WriteString(l)
		}
	}
}

// oneLine keeps s on one line of a list item.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
