package probetest

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/portprobe/portprobe/harness"
)

// artifactTimeout bounds the writing of a failed test's artifacts.
const artifactTimeout = 30 * time.Second

// WhenFailed makes a failed t leave the artifacts of b (the trace as JSON
// and as a sequence diagram, the realms' console, a screenshot of each tab)
// in a folder named after t under Config.Artifacts, and name them in t's
// log (and in a Ginkgo spec's report, as the "artifacts" entry). With
// Config.PauseOnFailure, it then waits for Enter. Browser and Launch call
// it; call it for a browser launched by other means. Cleanups run
// last-registered first, so register it after what empties or closes b.
func (s *Suite) WhenFailed(t testing.TB, b *harness.Browser) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		root, err := filepath.Abs(cmp.Or(s.cfg.Artifacts, os.Getenv("PORTPROBE_ARTIFACTS"), "artifacts"))
		if err != nil {
			t.Logf("probetest: artifacts: %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), artifactTimeout)
		defer cancel()
		paths, err := b.WriteArtifacts(ctx, filepath.Join(root, slug(t)))
		if err != nil {
			t.Logf("probetest: %v", err)
		}
		if len(paths) > 0 {
			if _, ok := t.(*ginkgo.GinkgoTBWrapper); ok {
				ginkgo.AddReportEntry("artifacts", strings.Join(paths, "\n"))
			} else {
				t.Logf("probetest: artifacts:\n%s", strings.Join(paths, "\n"))
			}
		}
		if s.cfg.PauseOnFailure || envOn("PORTPROBE_PAUSE_ON_FAILURE") {
			pause(t)
		}
	})
}

// slug names a test's artifact folder: its name, made safe for a path, and
// for a Ginkgo spec the line of its It.
func slug(t testing.TB) string {
	text := strings.ToLower(t.Name())
	s := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, text)
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	s = strings.Trim(s, "-")
	if len(s) > 100 {
		s = strings.TrimRight(s[:100], "-")
	}
	if _, ok := t.(*ginkgo.GinkgoTBWrapper); ok {
		s += fmt.Sprintf("-line%d", ginkgo.CurrentSpecReport().LeafNodeLocation.LineNumber)
	}
	return cmp.Or(s, "test")
}

// pause keeps a failed test's browser open until the person at the terminal
// presses Enter; never in CI.
func pause(t testing.TB) {
	if os.Getenv("CI") != "" {
		t.Logf("probetest: PORTPROBE_PAUSE_ON_FAILURE is ignored in CI")
		return
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		t.Logf("probetest: cannot pause on failure without a terminal: %v", err)
		return
	}
	defer tty.Close()
	fmt.Fprintf(tty, "\nportprobe: %q failed.\nThe browser stays open; press Enter to go on.\n", t.Name())
	bufio.NewReader(tty).ReadString('\n')
}
