// Command spectime reads Ginkgo JSON reports of a suite that takes its
// browsers from probetest and says where the suite's time went: for the
// specs of the shared browser, the harness's steps (loading extensions,
// starting and probing their workers, opening tabs, and the cleaning after
// each spec: recycling its tabs, uninstalling its extensions) and the
// specs' own work and waits, in all and by area, then the slowest specs.
// Each spec's figures are its "portprobe time" report entry
// (probetest.TimeEntry).
//
//	go tool ginkgo -p --json-report=report.json ./specs
//	go run ./scripts/spectime specs/report.json
//
// The report of a parallel run gives each spec's time on a loaded machine:
// the split shows which steps to cut, not what each costs alone.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/portprobe/portprobe/probetest"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("spectime: ")
	top := flag.Int("top", 15, "list this many of the slowest specs")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: spectime [-top n] report.json...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var specs []spec
	for _, path := range flag.Args() {
		got, err := read(path)
		if err != nil {
			log.Fatal(err)
		}
		specs = append(specs, got...)
	}
	if err := write(os.Stdout, specs, *top); err != nil {
		log.Fatal(err)
	}
}

// spec is one spec that ran, and where its time went when it had the shared
// browser (timed is false for one of its own, or with no browser).
type spec struct {
	name    string
	area    string
	runTime time.Duration
	timed   bool
	time    probetest.SpecTime
}

func read(path string) ([]spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the report: %w", err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("reading the report %s: %w", path, err)
	}
	var specs []spec
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt || sr.State == types.SpecStateSkipped || sr.State == types.SpecStatePending {
				continue
			}
			s := spec{name: sr.FullText(), area: "(top level)", runTime: sr.RunTime}
			if len(sr.ContainerHierarchyTexts) > 0 {
				s.area = sr.ContainerHierarchyTexts[0]
			}
			for _, e := range sr.ReportEntries {
				if e.Name != probetest.TimeEntry {
					continue
				}
				if err := json.Unmarshal([]byte(e.Value.AsJSON), &s.time); err != nil {
					return nil, fmt.Errorf("%s: spec %q: its %q entry: %w", path, s.name, probetest.TimeEntry, err)
				}
				s.timed = true
			}
			specs = append(specs, s)
		}
	}
	return specs, nil
}

// sums adds up the specs' steps.
type sums struct {
	specs, timed                                                int
	run, own, load, worker, openTab, recycle, uninstall, others time.Duration
}

func (s *sums) add(sp spec) {
	s.specs++
	s.run += sp.runTime
	if !sp.timed {
		s.others += sp.runTime
		return
	}
	s.timed++
	t := sp.time
	s.own += t.Own()
	s.load += t.Load
	s.worker += t.Worker
	s.openTab += t.OpenTab
	s.recycle += t.Recycle
	s.uninstall += t.Uninstall
}

func write(w io.Writer, specs []spec, top int) error {
	if len(specs) == 0 {
		return fmt.Errorf("no spec ran in the reports")
	}
	var all sums
	byArea := map[string]*sums{}
	var areas []string
	for _, sp := range specs {
		all.add(sp)
		a := byArea[sp.area]
		if a == nil {
			a = &sums{}
			byArea[sp.area] = a
			areas = append(areas, sp.area)
		}
		a.add(sp)
	}
	slices.SortFunc(areas, func(x, y string) int { return int(byArea[y].run - byArea[x].run) })

	fmt.Fprintf(w, "%d specs ran, %s in all (the sum of their run times); %d had the shared browser.\n\n", all.specs, round(all.run), all.timed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "area\tspecs\trun\tper spec\town\tload\tworker\topen tab\trecycle\tuninstall\town browser\t")
	row := func(name string, s *sums) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, s.specs, round(s.run), perSpec(s.run, s.specs),
			share(s.own, s.run), share(s.load, s.run), share(s.worker, s.run), share(s.openTab, s.run),
			share(s.recycle, s.run), share(s.uninstall, s.run), share(s.others, s.run))
	}
	row("all", &all)
	for _, a := range areas {
		row(abbreviate(a, 40), byArea[a])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n(own: the specs' own work and waits; own browser: the run time of specs that launched a browser of their own.\n Steps a spec runs at once, such as tabs opened together, each count their whole time: the shares can add up to more than 100%.)")

	slices.SortFunc(specs, func(x, y spec) int { return int(y.runTime - x.runTime) })
	fmt.Fprintf(w, "\nThe %d slowest specs:\n", min(top, len(specs)))
	for _, sp := range specs[:min(top, len(specs))] {
		where := "its own browser"
		if sp.timed {
			where = sp.time.String()
		}
		fmt.Fprintf(w, "  %8s  %s\n            %s\n", round(sp.runTime), abbreviate(sp.name, 110), where)
	}
	return nil
}

func round(d time.Duration) string { return d.Round(time.Millisecond).String() }

func perSpec(d time.Duration, n int) string {
	if n == 0 {
		return "-"
	}
	return round(d / time.Duration(n))
}

func share(d, of time.Duration) string {
	if of <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(d)/float64(of))
}

func abbreviate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
