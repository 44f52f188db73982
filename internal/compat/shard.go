package compat

// This file merges the reports of one browser's run of the suite made in
// parts: shards (go test ./specs -portprobe.shard=2/3, one CI machine
// each), or labels run apart (the slow specs).

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// shardLabel matches the label that probetest.Shard gives each spec of a
// sharded run, "shard-2-of-3", in a spec's labels and in a report's label
// filter.
var shardLabel = regexp.MustCompile(`\bshard-([1-9][0-9]*)-of-([1-9][0-9]*)\b`)

// part is one report of a run in parts, with where it came from.
type part struct {
	source string
	report types.Report
}

// Merge returns the reports of one run of the suite in one browser build,
// given in parts (each shard's report, or the slow specs' apart), as one
// list, in order. A spec left out of a part (by its shard or label filter)
// is not run there and takes its outcome from the part that ran it. A spec
// that ran in two parts is an error unless its outcome is identical in both
// (the same report given twice): overlapping parts mean the shards were not
// made from one split. sources name the parts in errors, one per part (or
// none).
func Merge(sources []string, parts ...[]types.Report) ([]types.Report, error) {
	var ps []part
	var all []types.Report
	for i, reports := range parts {
		source := fmt.Sprintf("report %d", i+1)
		if i < len(sources) && sources[i] != "" {
			source = sources[i]
		}
		for _, r := range reports {
			ps = append(ps, part{source, r})
		}
		all = append(all, reports...)
	}
	if err := checkParts(ps); err != nil {
		return nil, err
	}
	return all, nil
}

// checkParts returns an error naming the specs that ran in two parts of a
// run of one browser build with different outcomes.
func checkParts(parts []part) error {
	type ran struct {
		source string
		spec   Spec
	}
	byBuild := map[string]map[string]ran{}
	var problems []string
	for _, p := range parts {
		reports := []types.Report{p.report}
		build := Browser(reports)
		seen := byBuild[build]
		if seen == nil {
			seen = map[string]ran{}
			byBuild[build] = seen
		}
		for _, s := range Specs(reports) {
			if Outcome(s) == NotRun {
				continue
			}
			key := s.Location + " " + s.Text
			first, dup := seen[key]
			if !dup {
				seen[key] = ran{p.source, s}
				continue
			}
			if !identical(first.spec, s) {
				problems = append(problems, fmt.Sprintf("%q (%s) ran in %s (%s) and in %s (%s)",
					s.Text, s.Location, first.source, stateText(first.spec), p.source, stateText(s)))
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return fmt.Errorf("reports of one browser build overlap: a spec must run in one shard's report only, yet %s; give each shard's report once, from shards of one split (the same n)",
		strings.Join(problems, "; "))
}

// identical reports whether two runs of a spec had the same outcome.
func identical(a, b Spec) bool {
	return a.State == b.State && a.Message == b.Message && a.Differs == b.Differs && slices.Equal(a.Does, b.Does)
}

func stateText(s Spec) string {
	if s.Message == "" {
		return s.State.String()
	}
	return s.State.String() + ": " + summary(s.Message)
}

// shards returns the number of shards the specs of reports were split in (0
// when they carry no shard label) and which shards the reports ran, by
// their label filters.
func shards(reports []types.Report) (n int, ran map[int]bool) {
	ran = map[int]bool{}
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			for _, l := range sr.Labels() {
				if m := shardLabel.FindStringSubmatch(l); m != nil && m[0] == l {
					total, _ := strconv.Atoi(m[2])
					n = max(n, total)
				}
			}
		}
	}
	for _, r := range reports {
		for _, m := range shardLabel.FindAllStringSubmatch(r.SuiteConfig.LabelFilter, -1) {
			i, _ := strconv.Atoi(m[1])
			if total, _ := strconv.Atoi(m[2]); total == n {
				ran[i] = true
			}
		}
	}
	return n, ran
}

// missingShards returns a problem for each shard of the column's reports
// that no report ran: its specs show as not run.
func missingShards(reports []types.Report) (int, []string) {
	n, ran := shards(reports)
	var missing []int
	for i := 1; i <= n; i++ {
		if !ran[i] {
			missing = append(missing, i)
		}
	}
	slices.SortFunc(missing, cmp.Compare)
	var out []string
	for _, i := range missing {
		out = append(out, fmt.Sprintf("shard %d/%d left no report: its specs show as not run", i, n))
	}
	return n, out
}
