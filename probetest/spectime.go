package probetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/portprobe/portprobe/harness"
)

// TimeEntry is the name of the Ginkgo report entry in which Suite.Browser
// says where a spec's time went (a SpecTime). The entry is never printed;
// it is in the JSON report (ginkgo --json-report), for scripts/spectime and
// the like to find where a suite's time goes.
const TimeEntry = "portprobe time"

// SpecTime is where the time of a test that took the shared browser went:
// the harness's steps (loading its extensions, their workers, its tabs,
// and the cleaning after it: recycling the tabs and uninstalling the
// extensions), and the rest, the test's own work and waits.
type SpecTime struct {
	// Total runs from Suite.Browser to the end of the test's cleaning.
	Total time.Duration
	harness.TimeSpent
}

// Own is the time the harness's steps do not account for: the test's own
// calls and waits. Steps that overlap can make it less than it is.
func (s SpecTime) Own() time.Duration { return max(s.Total-s.TimeSpent.Total(), 0) }

// String reads as "total=520.0ms own=20.0ms load=14.0ms worker=110.0ms …".
func (s SpecTime) String() string {
	return fmt.Sprintf("total=%.1fms own=%.1fms %s", ms(s.Total), ms(s.Own()), s.TimeSpent)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// reportTime adds st to the Ginkgo report of t, when t is a Ginkgo spec's
// (GinkgoT or GinkgoTB); a plain go test has no report to add it to.
func reportTime(t testing.TB, st SpecTime) {
	type reporter interface {
		AddReportEntryVisibilityNever(name string, args ...any)
	}
	var r reporter
	switch v := t.(type) {
	case *ginkgo.GinkgoTBWrapper:
		r = v.GinkgoT
	case reporter:
		r = v
	default:
		return
	}
	r.AddReportEntryVisibilityNever(TimeEntry, st)
}
