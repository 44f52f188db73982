package harness

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// TimeSpent is how long the calls that cost the browser most work took,
// by step: the parts of a test's time that are set-up and cleaning, next to
// the test's own. A test suite reports each test's share (probetest does,
// in the Ginkgo report, as the entry "portprobe time"), to find where a
// suite's time goes. Calls that overlap each count their whole time.
type TimeSpent struct {
	Load      time.Duration // LoadExtension
	Worker    time.Duration // Extension.Worker: the worker's start and probe
	OpenTab   time.Duration // OpenTab, its navigation included
	Recycle   time.Duration // Tab.Recycle
	Uninstall time.Duration // Extension.Uninstall
}

// Sub returns the time spent since before was read.
func (s TimeSpent) Sub(before TimeSpent) TimeSpent {
	return TimeSpent{
		Load:      s.Load - before.Load,
		Worker:    s.Worker - before.Worker,
		OpenTab:   s.OpenTab - before.OpenTab,
		Recycle:   s.Recycle - before.Recycle,
		Uninstall: s.Uninstall - before.Uninstall,
	}
}

// Total is the sum of the steps.
func (s TimeSpent) Total() time.Duration {
	return s.Load + s.Worker + s.OpenTab + s.Recycle + s.Uninstall
}

// String reads as "load=14ms worker=110ms open-tab=115ms recycle=60ms
// uninstall=70ms", in milliseconds, the steps that took no time left out.
func (s TimeSpent) String() string {
	var parts []string
	for _, step := range []struct {
		name string
		d    time.Duration
	}{{"load", s.Load}, {"worker", s.Worker}, {"open-tab", s.OpenTab}, {"recycle", s.Recycle}, {"uninstall", s.Uninstall}} {
		if step.d > 0 {
			parts = append(parts, fmt.Sprintf("%s=%.1fms", step.name, float64(step.d)/float64(time.Millisecond)))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " ")
}

// spentClock adds up a browser's TimeSpent. Its lock is a leaf.
type spentClock struct {
	mu    sync.Mutex
	spent TimeSpent
}

// since adds the time since start to the step that field picks.
func (c *spentClock) since(field func(*TimeSpent) *time.Duration, start time.Time) {
	d := time.Since(start)
	c.mu.Lock()
	*field(&c.spent) += d
	c.mu.Unlock()
}

// TimeSpent returns how long the browser's calls of each step took since
// Launch (see TimeSpent).
func (b *Browser) TimeSpent() TimeSpent {
	b.clock.mu.Lock()
	defer b.clock.mu.Unlock()
	return b.clock.spent
}

func spentLoad(s *TimeSpent) *time.Duration      { return &s.Load }
func spentWorker(s *TimeSpent) *time.Duration    { return &s.Worker }
func spentOpenTab(s *TimeSpent) *time.Duration   { return &s.OpenTab }
func spentRecycle(s *TimeSpent) *time.Duration   { return &s.Recycle }
func spentUninstall(s *TimeSpent) *time.Duration { return &s.Uninstall }
