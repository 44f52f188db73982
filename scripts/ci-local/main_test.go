package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpressions(t *testing.T) {
	e := &evalState{ctx: map[string]any{
		"matrix": map[string]any{"leg": "cft-stable", "slow": true, "headful": false},
		"runner": map[string]any{"os": "Linux"},
		"steps":  map[string]any{"chrome": map[string]any{"outputs": map[string]any{"chrome-path": "/c/chrome"}}},
	}}
	for _, tc := range []struct{ expr, want string }{
		{"matrix.leg", "cft-stable"},
		{"matrix.browser || 'chrome'", "chrome"},
		{"matrix.headful && '1' || ''", ""},
		{"matrix.slow && '1' || ''", "1"},
		{"runner.os == 'Linux'", "true"},
		{"runner.os != 'linux'", "false"}, // comparisons ignore case, as GitHub's
		{"!cancelled() && matrix.slow", "true"},
		{"!matrix.edge", "true"},
		{"steps.chrome.outputs.chrome-path || steps.edge.outputs.edge-path", "/c/chrome"},
		{"'it''s'", "it's"},
		{"contains(matrix.leg, 'STABLE')", "true"},
		{"(matrix.slow || false) && !(matrix.headful)", "true"},
	} {
		v, err := e.eval(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := toString(v); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.expr, got, tc.want)
		}
	}
	for _, bad := range []string{"hashFiles('x')", "matrix.leg ==", "(true"} {
		if _, err := e.eval(bad); err == nil {
			t.Errorf("%s: no error, want one", bad)
		}
	}
	// After a failed step, a condition without a status function is false.
	e.failed = true
	if ok, _ := e.condition("${{ matrix.slow }}"); ok {
		t.Error("matrix.slow after a failure: true, want false (GitHub's implicit success())")
	}
	if ok, _ := e.condition("${{ !cancelled() }}"); !ok {
		t.Error("!cancelled() after a failure: false, want true")
	}
}

// The runner reads ci.yml itself: its legs, and the steps with the anchors'
// aliases resolved, in the workflow's order.
func TestLoadTheWorkflow(t *testing.T) {
	wf, legs, err := load("../../.github/workflows/ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]leg{}
	for _, l := range legs {
		byName[l.name] = l
	}
	for _, name := range []string{"lint", "debian-chromium", "debian-firefox", "race", "cft-stable", "edge-stable", "compat"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no leg %s in ci.yml", name)
		}
	}
	for name, want := range map[string]string{"debian-chromium": "", "race": "", "macos-cft-stable": "macos-latest", "edge-stable": "setup-edge"} {
		if got := cannotRun(byName[name]); !strings.Contains(got, want) || (want == "") != (got == "") {
			t.Errorf("cannotRun(%s) = %q, want %q", name, got, want)
		}
	}
	// A dry run of a debian leg shows the steps its aliases name.
	var out bytes.Buffer
	r, err := newRun(wf, byName["debian-firefox"], true)
	if err != nil {
		t.Fatal(err)
	}
	r.logOut = &out
	if err := r.do(); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"./scripts/setup.sh", "xargs go test -timeout 15m", "env PORTPROBE_BROWSER=firefox", "go test ./specs \"${flags[@]}\"", "skipped: if: ${{ !cancelled() && matrix.slow }} is false"} {
		if !strings.Contains(text, want) {
			t.Errorf("the dry run of debian-firefox does not show %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "./scripts/setup.sh") > strings.Index(text, "go test ./specs") {
		t.Error("the dry run shows the steps out of the workflow's order")
	}
}

// A real run: GITHUB_ENV carries a variable to the next step, outputs reach
// the steps context, if: skips after a failure, and the leg fails.
func TestRunALeg(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "wf.yml")
	if err := os.WriteFile(file, []byte(`
defaults:
  run:
    shell: bash
jobs:
  j:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        include:
          - { leg: one, word: hello }
    steps:
      - id: a
        run: echo "GREETING=${{ matrix.word }}" >> "$GITHUB_ENV"; echo "out=42" >> "$GITHUB_OUTPUT"
      - run: test "$GREETING" = hello && test "$OUT" = 42 && echo "$GREETING" > seen
        env:
          OUT: ${{ steps.a.outputs.out }}
      - run: exit 3
      - run: touch after-failure
      - if: ${{ always() }}
        run: touch always
`), 0o644); err != nil {
		t.Fatal(err)
	}
	wf, legs, err := load(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRun(wf, legs[0], false)
	if err != nil {
		t.Fatal(err)
	}
	r.root = dir
	var out bytes.Buffer
	r.logOut = &out
	if err := r.do(); err == nil || !strings.Contains(err.Error(), "leg one failed") {
		t.Errorf("run = %v, want the leg to fail\n%s", err, out.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "seen")); err != nil || string(b) != "hello\n" {
		t.Errorf("step 2 did not see GITHUB_ENV's and the output's values: %q %v\n%s", b, err, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "after-failure")); err == nil {
		t.Error("a step ran after a failure without always()")
	}
	if _, err := os.Stat(filepath.Join(dir, "always")); err != nil {
		t.Errorf("the always() step did not run: %v", err)
	}
	os.RemoveAll(r.out)
}

// The workflow runs cft-stable as three shards; --shard picks a row, or
// runs a leg that is not sharded as one shard of the specs.
func TestShards(t *testing.T) {
	e := &evalState{ctx: map[string]any{"matrix": map[string]any{"leg": "cft-stable", "shard": 2, "shards": 3}}}
	for expr, want := range map[string]string{
		"matrix.shard && format('{0}/{1}', matrix.shard, matrix.shards) || ''":           "2/3",
		"matrix.shard && format('-shard-{0}-of-{1}', matrix.shard, matrix.shards) || ''": "-shard-2-of-3",
		"matrix.nope && format('{0}', matrix.nope) || ''":                                "",
		"format('{{{0}}}', 'x')": "{x}",
	} {
		v, err := e.eval(expr)
		if err != nil || toString(v) != want {
			t.Errorf("%s = %q, %v; want %q", expr, toString(v), err, want)
		}
	}
	if _, err := e.eval("format('{1}', 'x')"); err == nil {
		t.Error("format with a missing argument: no error")
	}

	wf, legs, err := load("../../.github/workflows/ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var shards []string
	for _, l := range legs {
		if l.name == "cft-stable" {
			shards = append(shards, rowShard(l))
		}
	}
	if strings.Join(shards, " ") != "1/3 2/3 3/3" {
		t.Errorf("cft-stable rows have shards %q, want 1/3 2/3 3/3", shards)
	}
	for _, tc := range []struct{ name, shard, err string }{
		{"cft-stable", "", "runs as shards: give --shard, one of 1/3, 2/3, 3/3"},
		{"cft-stable", "2/4", "has no shard 2/4"},
		{"cft-stable", "0/3", "from 1 to 3"},
		{"debian-chromium", "x", "want i/n"},
		{"nope", "", `no leg "nope"`},
	} {
		if _, err := pick(legs, tc.name, tc.shard); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("pick(%s, %q) = %v, want an error with %q", tc.name, tc.shard, err, tc.err)
		}
	}

	l, err := pick(legs, "cft-stable", "2/3")
	if err != nil || rowShard(l) != "2/3" {
		t.Fatalf("pick(cft-stable, 2/3) = %v, %v", rowShard(l), err)
	}
	var out bytes.Buffer
	r, err := newRun(wf, l, true)
	if err != nil {
		t.Fatal(err)
	}
	r.logOut = &out
	if err := r.do(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Specs (cft-stable 2/3, Chrome for Testing stable)", "job env PORTPROBE_SHARD=2/3", "name: reports-cft-stable-shard-2-of-3", "name: failures-cft-stable-shard-2-of-3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the dry run of cft-stable 2/3 does not show %q:\n%s", want, out.String())
		}
	}

	l, err = pick(legs, "debian-chromium", "1/4")
	if err != nil {
		t.Fatal(err)
	}
	r, err = newRun(wf, l, true)
	if err != nil {
		t.Fatal(err)
	}
	r.shard = "1/4"
	env, err := r.stepEnv(step{})
	if err != nil || env["PORTPROBE_SHARD"] != "1/4" {
		t.Errorf("debian-chromium --shard=1/4: the steps' PORTPROBE_SHARD = %q, %v; want 1/4", env["PORTPROBE_SHARD"], err)
	}
}
