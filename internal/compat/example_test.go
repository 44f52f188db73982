package compat_test

import (
	"fmt"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/portprobe/portprobe/internal/compat"
)

// A report as the suite writes it, built by hand; a real one comes from
// compat.ReadReports("report.json").
func Example() {
	report := types.Report{SpecReports: types.SpecReports{
		{
			LeafNodeType: types.NodeTypeBeforeSuite,
			State:        types.SpecStatePassed,
			ReportEntries: types.ReportEntries{{
				Name:  compat.BrowserEntry,
				Value: types.WrapEntryValue("Chromium 156.0.8078.79 (/usr/lib/chromium/chromium)"),
			}},
		},
		{
			LeafNodeType:   types.NodeTypeIt,
			LeafNodeText:   "returns a Port at once",
			LeafNodeLabels: []string{"connect", "RC-01"},
			State:          types.SpecStatePassed,
		},
		{
			LeafNodeType:   types.NodeTypeIt,
			LeafNodeText:   "names the type it found",
			LeafNodeLabels: []string{"naming", "RN-05", "differs"},
			State:          types.SpecStatePassed,
		},
	}}
	table := compat.Build([]compat.Run{{Source: "report.json", Reports: []types.Report{report}}}, nil)
	for _, b := range table.Behaviors {
		fmt.Printf("%s in %s: %s\n", b.ID, table.Columns[0].Heading, b.Cells[0].State)
	}
	// Output:
	// RC-01 in Chromium 156: passed
	// RN-05 in Chromium 156: differs
}
