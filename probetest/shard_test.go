package probetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func TestParseShard(t *testing.T) {
	for in, want := range map[string]Shard{"1/1": {1, 1}, "2/3": {2, 3}, "3/3": {3, 3}, " 4/10 ": {4, 10}} {
		got, err := ParseShard(in)
		if err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"0/3": "from 1 to 3", "4/3": "from 1 to 3", "-1/3": "from 1 to 3", "1/0": "at least 1",
		"x": "want i/n", "2": "want i/n", "2/": "want i/n", "/3": "want i/n", "2/3/4": "want i/n", "": "want i/n",
	} {
		_, err := ParseShard(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fmt.Sprintf("%q", in)) {
			t.Errorf("ParseShard(%q) error = %v, want one that quotes the input and says %q", in, err, want)
		}
	}
}

// The setting wins over PORTPROBE_SHARD; without either the suite is whole.
func TestLookupShard(t *testing.T) {
	t.Setenv(EnvShard, "")
	if _, ok, err := LookupShard(""); ok || err != nil {
		t.Errorf("LookupShard with nothing set = ok %v, %v; want no shard", ok, err)
	}
	t.Setenv(EnvShard, "2/3")
	if s, ok, err := LookupShard(""); !ok || err != nil || s != (Shard{2, 3}) {
		t.Errorf("LookupShard from %s=2/3 = %v, %v, %v", EnvShard, s, ok, err)
	}
	if s, ok, err := LookupShard("1/4"); !ok || err != nil || s != (Shard{1, 4}) {
		t.Errorf("LookupShard(1/4) with %s=2/3 = %v, %v, %v; want 1/4", EnvShard, s, ok, err)
	}
	t.Setenv(EnvShard, "4/3")
	if _, _, err := LookupShard(""); err == nil || !strings.Contains(err.Error(), EnvShard) {
		t.Errorf("LookupShard from %s=4/3: error %v, want one naming the variable", EnvShard, err)
	}
}

func TestShardLabel(t *testing.T) {
	s := Shard{2, 3}
	if s.Label() != "shard-2-of-3" || s.String() != "2/3" {
		t.Errorf("label %q, string %q", s.Label(), s.String())
	}
	if got, ok := ParseShardLabel("shard-2-of-3"); !ok || got != s {
		t.Errorf("ParseShardLabel(shard-2-of-3) = %v, %v", got, ok)
	}
	for _, bad := range []string{"connect", "shard-0-of-3", "shard-4-of-3", "shard-2-of-", "shard-02-of-3", "shard-2-of-3x"} {
		if _, ok := ParseShardLabel(bad); ok {
			t.Errorf("ParseShardLabel(%q): ok, want not a shard label", bad)
		}
	}
	// A shard label is a valid Ginkgo label, and its filter parses.
	if _, err := types.ValidateAndCleanupLabel(s.Label(), types.CodeLocation{}); err != nil {
		t.Errorf("the label %q is not a valid Ginkgo label: %v", s.Label(), err)
	}
	for _, sh := range []Shard{{1, 3}, {2, 3}} {
		cfg := types.SuiteConfig{LabelFilter: "!slow"}
		stop := sh.Select(&cfg)
		stop()
		filter, err := types.ParseLabelFilter(cfg.LabelFilter)
		if err != nil {
			t.Fatalf("shard %s: the filter %q does not parse: %v", sh, cfg.LabelFilter, err)
		}
		for labels, want := range map[string]bool{
			"connect,shard-2-of-3":      sh.Index == 2,
			"connect,slow,shard-2-of-3": false,
			"connect,shard-1-of-3":      sh.Index == 1,
			"connect":                   sh.Index == 1, // no shard label: the first shard's
		} {
			if got := filter(strings.Split(labels, ",")); got != want {
				t.Errorf("shard %s, filter %q, labels %s: selected %v, want %v", sh, cfg.LabelFilter, labels, got, want)
			}
		}
	}
}

// A spec's shard depends on its key and the number of shards only, and
// never changes: these are FNV-1a's answers (computed apart, in Python),
// which a change of hash would break, moving specs between shards.
func TestShardOfIsStable(t *testing.T) {
	for key, want := range map[string][4]int{
		"runtime.connect returns a Port at once": {1, 2, 1, 5},
		"The runtime.connect() example from MDN": {1, 1, 3, 1},
		"port names must be strings":             {1, 3, 3, 3},
	} {
		got := [4]int{ShardOf(key, 2), ShardOf(key, 3), ShardOf(key, 4), ShardOf(key, 10)}
		if got != want {
			t.Errorf("ShardOf(%q, 2, 3, 4, 10) = %v, want %v", key, got, want)
		}
	}
}

// By count, the split is even within a few percent over many specs.
func TestShardOfBalances(t *testing.T) {
	const specs, shards = 3000, 3
	count := make([]int, shards+1)
	for i := range specs {
		count[ShardOf(fmt.Sprintf("runtime.connect spec number %d", i), shards)]++
	}
	if count[0] != 0 {
		t.Fatalf("%d specs in shard 0", count[0])
	}
	for s := 1; s <= shards; s++ {
		if c := count[s]; c < specs/shards*9/10 || c > specs/shards*11/10 {
			t.Errorf("shard %d/%d has %d of %d specs, want %d ± 10%% (all: %v)", s, shards, c, specs, specs/shards, count[1:])
		}
	}
}

func TestSpecKey(t *testing.T) {
	containers := []string{"runtime.connect", "", "with a name"}
	if got := SpecKey(containers, "returns a Port", false); got != "runtime.connect with a name returns a Port" {
		t.Errorf("SpecKey = %q, want Ginkgo's full text", got)
	}
	if got := SpecKey(containers, "returns a Port", true); got != "runtime.connect" {
		t.Errorf("SpecKey in an Ordered container = %q, want the outermost container's text", got)
	}
	if got := SpecKey(nil, "at the top", true); got != "at the top" {
		t.Errorf("SpecKey without containers = %q", got)
	}
	if len(containers) != 3 || containers[2] != "with a name" {
		t.Errorf("SpecKey changed its argument: %q", containers)
	}
}
