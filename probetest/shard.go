package probetest

// This file splits a Ginkgo suite across machines, as Playwright's
// --shard=i/n does: each machine runs one shard, and every spec is in
// exactly one of them.

import (
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// EnvShard is the environment variable that picks a shard when the suite's
// own setting (a flag, say -portprobe.shard) is empty: PORTPROBE_SHARD=2/3.
const EnvShard = "PORTPROBE_SHARD"

// Shard is one of Total parts of a suite, numbered from 1: "2/3" is the
// second of three. A spec's shard depends on its own text and Total only
// (see ShardOf), so a spec stays in its shard whatever other specs are
// added, removed or reordered, and every spec is in exactly one shard.
type Shard struct {
	Index int // 1 to Total
	Total int
}

// ParseShard reads "i/n", such as "2/3", with 1 ≤ i ≤ n.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, ierr := strconv.Atoi(is)
	n, nerr := strconv.Atoi(ns)
	switch {
	case !ok || ierr != nil || nerr != nil:
		return Shard{}, fmt.Errorf("shard %q: want i/n, the i-th of n shards, such as 2/3", s)
	case n < 1:
		return Shard{}, fmt.Errorf("shard %q: the number of shards must be at least 1", s)
	case i < 1 || i > n:
		return Shard{}, fmt.Errorf("shard %q: the shard must be from 1 to %d (shards are numbered from 1, as Playwright's)", s, n)
	}
	return Shard{Index: i, Total: n}, nil
}

// LookupShard returns the shard that setting names ("2/3"), or, when
// setting is empty, the one EnvShard names. ok is false when neither names
// one: the suite runs whole. An explicit setting wins over the environment.
func LookupShard(setting string) (s Shard, ok bool, err error) {
	fromEnv := setting == ""
	if fromEnv {
		setting = os.Getenv(EnvShard)
	}
	if setting == "" {
		return Shard{}, false, nil
	}
	s, err = ParseShard(setting)
	if err != nil && fromEnv {
		return Shard{}, false, fmt.Errorf("%s: %w", EnvShard, err)
	}
	return s, err == nil, err
}

// String returns "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Total) }

// Label is the Ginkgo label that Select gives the specs of the shard:
// "shard-2-of-3". Reports carry it on every spec, run or not, so a report
// says which shard each spec belongs to.
func (s Shard) Label() string { return ShardLabel(s.Index, s.Total) }

// ShardLabel is the label of the i-th of n shards: "shard-2-of-3".
func ShardLabel(i, n int) string { return fmt.Sprintf("shard-%d-of-%d", i, n) }

// ParseShardLabel reads a label that ShardLabel wrote; ok is false for any
// other label.
func ParseShardLabel(label string) (s Shard, ok bool) {
	rest, found := strings.CutPrefix(label, "shard-")
	if !found {
		return Shard{}, false
	}
	is, ns, found := strings.Cut(rest, "-of-")
	i, ierr := strconv.Atoi(is)
	n, nerr := strconv.Atoi(ns)
	if !found || ierr != nil || nerr != nil || n < 1 || i < 1 || i > n || ShardLabel(i, n) != label {
		return Shard{}, false
	}
	return Shard{Index: i, Total: n}, true
}

// ShardOf returns the shard (1 to total) of the spec whose key is key (see
// SpecKey): the FNV-1a hash of the key, modulo total. The split is by count:
// each shard gets about 1/total of the specs, not an exact share, as the
// price of never moving a spec when others change.
func ShardOf(key string, total int) int {
	if total < 1 {
		panic("probetest.ShardOf: total must be at least 1")
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64()%uint64(total)) + 1
}

// SpecKey is what places a spec in its shard: the texts of its containers
// and its own, joined by spaces, as Ginkgo's full text. A spec in an
// Ordered container is placed by its outermost container's text instead, so
// the specs of an Ordered container (which share state, in order) stay in
// one shard.
func SpecKey(containers []string, text string, ordered bool) string {
	if ordered && len(containers) > 0 {
		return containers[0]
	}
	var parts []string
	for _, t := range append(containers[:len(containers):len(containers)], text) {
		if t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// Select makes the Ginkgo suite run only the specs of the shard. It labels
// every It (each Entry of a DescribeTable too) with the label of the shard
// it belongs to, and narrows cfg's label filter to the shard's label, so
// the other specs are left out as a label filter leaves them out: reported
// as skipped, with no message, and never run. Any label filter already in
// cfg still applies.
//
// Call it in the test function, before RunSpecs, with the configuration
// given to RunSpecs:
//
//	suiteConfig, reporterConfig := GinkgoConfiguration()
//	if shard, ok, err := probetest.LookupShard(*shardFlag); err != nil {
//		t.Fatal(err)
//	} else if ok {
//		defer shard.Select(&suiteConfig)()
//	}
//	RunSpecs(t, "my suite", suiteConfig, reporterConfig)
//
// Specs are labelled as the tree is built, in RunSpecs; an It written at the
// top level of a file, outside any container, is made before Select runs
// and has no shard label: the first shard runs those. The returned function
// stops the labelling.
func (s Shard) Select(cfg *types.SuiteConfig) func() {
	if s.Total < 1 || s.Index < 1 || s.Index > s.Total {
		panic(fmt.Sprintf("probetest: Select of shard %s, which ParseShard would refuse", s))
	}
	filter := s.Label()
	if s.Index == 1 {
		filter = "(" + filter + " || !/^shard-[0-9]+-of-[0-9]+$/)"
	}
	if f := strings.TrimSpace(cfg.LabelFilter); f != "" {
		filter = "(" + f + ") && " + filter
	}
	cfg.LabelFilter = filter
	return ginkgo.AddTreeConstructionNodeArgsTransformer(func(nodeType types.NodeType, _ ginkgo.Offset, text string, args []any) (string, []any, []error) {
		if nodeType != types.NodeTypeIt {
			return text, args, nil
		}
		containers, ordered, ok := construction()
		if !ok {
			return text, args, nil // an It outside any container: the first shard's
		}
		label := ShardLabel(ShardOf(SpecKey(containers, text, ordered), s.Total), s.Total)
		return text, append(args, ginkgo.Label(label)), nil
	})
}

// construction returns the texts of the containers of the node being made,
// and whether one of them is Ordered; ok is false outside any container
// (where Ginkgo has no construction report and panics).
func construction() (containers []string, ordered, ok bool) {
	defer func() {
		if recover() != nil {
			containers, ordered, ok = nil, false, false
		}
	}()
	r := ginkgo.CurrentTreeConstructionNodeReport()
	return r.ContainerHierarchyTexts, r.IsInOrderedContainer, true
}
