package compat_test

import (
	"fmt"
	"strings"

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
	table, err := compat.Build([]compat.Run{{Source: "report.json", Reports: []types.Report{report}}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range table.Behaviors {
		fmt.Printf("%s in %s: %s\n", b.ID, table.Columns[0].Heading, b.Cells[0].State)
	}
	// Output:
	// RC-01 in Chromium 156: passed
	// RN-05 in Chromium 156: differs
}

// Two runs of Chrome for Testing: the behavior fails in 142 and holds in
// 143, so browser-compat-data can say it was added in 143.
func ExampleTable_BCD() {
	runOn := func(browser string, state types.SpecState) compat.Run {
		return compat.Run{Reports: []types.Report{{SpecReports: types.SpecReports{
			{
				LeafNodeType:  types.NodeTypeBeforeSuite,
				State:         types.SpecStatePassed,
				ReportEntries: types.ReportEntries{{Name: compat.BrowserEntry, Value: types.WrapEntryValue(browser)}},
			},
			{LeafNodeType: types.NodeTypeIt, LeafNodeText: "returns a Port at once", LeafNodeLabels: []string{"connect", "RC-01"}, State: state},
		}}}}
	}
	catalog, err := compat.ParseCatalog(strings.NewReader("### RC-01 `runtime.connect()` returns a Port synchronously\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	table, err := compat.Build([]compat.Run{
		runOn("Google Chrome for Testing 142.0.7444.175 (/opt/chrome-142/chrome)", types.SpecStateFailed),
		runOn("Google Chrome for Testing 143.0.7499.4 (/opt/chrome-143/chrome)", types.SpecStatePassed),
	}, catalog)
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := table.BCD(compat.BCDOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(data))
	// Output:
	// {
	//   "webextensions": {
	//     "api": {
	//       "runtime": {
	//         "connect": {
	//           "runtime_connect_returns_a_port_synchronously": {
	//             "__compat": {
	//               "description": "`runtime.connect()` returns a Port synchronously",
	//               "support": {
	//                 "chrome": {
	//                   "version_added": "143"
	//                 }
	//               }
	//             }
	//           }
	//         }
	//       }
	//     }
	//   }
	// }
}
