package specs_test

// Sharding: `go test ./specs -portprobe.shard=2/3` (or
// `go tool ginkgo ./specs -- -portprobe.shard=2/3`, or PORTPROBE_SHARD=2/3)
// runs the second of three shards of the suite, as Playwright's
// --shard=2/3. probetest.Shard says how specs are placed; docs/sharding.md
// how CI runs the shards and merges their reports.

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/portprobe/portprobe/probetest"
)

var shardFlag = flag.String("portprobe.shard", "", "run only the i-th of n shards of the suite, such as 2/3 (as "+probetest.EnvShard+"=2/3)")

// selectShard narrows cfg to the shard that -portprobe.shard or
// PORTPROBE_SHARD names, if any, and says which in the log. Bad input fails
// the test before any spec runs. The returned function undoes it.
func selectShard(t *testing.T, cfg *types.SuiteConfig) func() {
	t.Helper()
	shard, ok, err := probetest.LookupShard(*shardFlag)
	if err != nil && *shardFlag != "" {
		t.Fatalf("-portprobe.shard: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return func() {}
	}
	if cfg.ParallelProcess <= 1 {
		t.Logf("running shard %s of the suite (label filter %s)", shard, shard.Label())
	}
	return shard.Select(cfg)
}

// Every spec is in exactly one shard: the suite's specs, slow ones
// included, listed by dry runs of each shard of three and of four, add up
// to the specs of a dry run of the whole suite, each once, and each in the
// shard its label names. A dry run runs no spec and needs no browser.
func TestShardsCoverEverySpec(t *testing.T) {
	if suiteConfig, _ := GinkgoConfiguration(); suiteConfig.ParallelProcess > 1 {
		t.Skip("ginkgo -p: the first process checks the shards")
	}
	all := dryRun(t, "")
	if len(all) < 50 {
		t.Fatalf("the dry run of the whole suite listed %d specs; want the suite's (over 50)", len(all))
	}
	for _, n := range []int{3, 4} {
		seen := map[string]int{}
		var counts []int
		for i := 1; i <= n; i++ {
			shard := fmt.Sprintf("%d/%d", i, n)
			specs := dryRun(t, shard)
			counts = append(counts, len(specs))
			for key, labels := range specs {
				seen[key]++
				if want := probetest.ShardLabel(i, n); !slices.Contains(labels, want) {
					t.Errorf("shard %s ran %s, whose labels %q lack %s", shard, key, labels, want)
				}
			}
		}
		for key := range all {
			if seen[key] != 1 {
				t.Errorf("%d shards: %s ran in %d shards, want exactly 1", n, key, seen[key])
			}
		}
		for key := range seen {
			if _, ok := all[key]; !ok {
				t.Errorf("%d shards: %s ran in a shard but is not in the whole suite", n, key)
			}
		}
		t.Logf("%d specs in %d shards: %v", len(all), n, counts)
	}
}

// dryRun runs this test binary's suite with --dry-run and every label (the
// slow specs too), in shard ("" for the whole suite), and returns the specs
// it would run, each keyed by location and full text, with its labels.
func dryRun(t *testing.T, shard string) map[string][]string {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.json")
	args := []string{"-test.run=^TestSpecs$", "-ginkgo.dry-run", "-ginkgo.no-color", "-ginkgo.silence-skips",
		"-ginkgo.label-filter=slow || !slow", "-ginkgo.json-report=" + report}
	if shard != "" {
		args = append(args, "-portprobe.shard="+shard)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), probetest.EnvShard+"=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dry run of shard %q: %v\n%s", shard, err, out)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("dry run of shard %q: %v", shard, err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		t.Fatalf("dry run of shard %q: reading its report: %v", shard, err)
	}
	specs := map[string][]string{}
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt || sr.State == types.SpecStateSkipped {
				continue // left out by the filter
			}
			key := fmt.Sprintf("%s:%d %q", filepath.Base(sr.LeafNodeLocation.FileName), sr.LeafNodeLocation.LineNumber, sr.FullText())
			if _, dup := specs[key]; dup {
				t.Fatalf("dry run of shard %q: two specs are %s; the check needs each once", shard, key)
			}
			specs[key] = sr.Labels()
		}
	}
	return specs
}
