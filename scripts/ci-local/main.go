// Command ci-local runs a Linux leg of .github/workflows/ci.yml on this
// machine as GitHub would: the leg's run: steps, read from the workflow
// itself, in their order, with their if: conditions, their env (matrix
// values substituted), the workflow's default shell (bash -eo pipefail) and
// their timeouts. uses: steps get a local equivalent or are skipped with a
// line saying so. With --dry-run it prints what it would run.
//
//	go run ./scripts/ci-local --list
//	go run ./scripts/ci-local --dry-run debian-firefox
//	go run ./scripts/ci-local race
//	go run ./scripts/ci-local --shard=1/4 debian-chromium
//
// --shard=i/n picks the row of a leg the workflow runs as shards (cft-stable
// --shard=2/3), or runs a leg that is not sharded as one shard: its steps get
// PORTPROBE_SHARD=i/n, so `go test ./specs` runs the i-th of n shards
// (docs/sharding.md).
// A leg is a matrix row's leg value (debian-chromium, cft-stable) or, for a
// job without a matrix, the job's ID (race, lint). A job's container is not
// started: this machine stands in for it. Legs on macOS or Windows, and legs
// that install a browser with setup-chrome or setup-edge, cannot run here.
// docs/ci.md says more.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/portprobe/portprobe/probetest"
)

type workflow struct {
	Env      map[string]string `yaml:"env"`
	Defaults struct {
		Run struct {
			Shell string `yaml:"shell"`
		} `yaml:"run"`
	} `yaml:"defaults"`
	Jobs yaml.Node `yaml:"jobs"` // a node, to keep the jobs' order
}

type job struct {
	Name           string            `yaml:"name"`
	RunsOn         string            `yaml:"runs-on"`
	TimeoutMinutes float64           `yaml:"timeout-minutes"`
	Container      map[string]any    `yaml:"container"`
	Env            map[string]string `yaml:"env"`
	Strategy       struct {
		Matrix struct {
			Include []map[string]any `yaml:"include"`
		} `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []step `yaml:"steps"`
}

type step struct {
	ID             string            `yaml:"id"`
	Name           string            `yaml:"name"`
	If             string            `yaml:"if"`
	Uses           string            `yaml:"uses"`
	Run            string            `yaml:"run"`
	Shell          string            `yaml:"shell"`
	Env            map[string]string `yaml:"env"`
	With           map[string]string `yaml:"with"`
	TimeoutMinutes float64           `yaml:"timeout-minutes"`
}

// leg is one job, with one matrix row (nil for a job without a matrix).
type leg struct {
	name, jobID string
	job         *job
	matrix      map[string]any
}

func main() {
	dryRun := flag.Bool("dry-run", false, "print the steps the leg would run, with their env, and run nothing")
	list := flag.Bool("list", false, "list the legs of the workflow and whether they can run here")
	file := flag.String("workflow", ".github/workflows/ci.yml", "the workflow file")
	shard := flag.String("shard", "", "`i/n`: the shard of a sharded leg to run, or the shard of the specs to run in a leg that is not sharded (PORTPROBE_SHARD=i/n)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: ci-local [--dry-run] [--workflow file] [--shard i/n] <leg>\n       ci-local --list\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	wf, legs, err := load(*file)
	if err != nil {
		fail(err)
	}
	if *list {
		for _, l := range legs {
			why := cannotRun(l)
			if why == "" {
				why = "runs here"
			}
			name := l.name
			if s := rowShard(l); s != "" {
				name += " --shard=" + s
			}
			fmt.Printf("%-32s job %-8s %s\n", name, l.jobID, why)
		}
		return
	}
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	l, err := pick(legs, flag.Arg(0), *shard)
	if err != nil {
		fail(fmt.Errorf("%w (%s)", err, *file))
	}
	r, err := newRun(wf, l, *dryRun)
	if err != nil {
		fail(err)
	}
	if rowShard(l) == "" {
		r.shard = *shard
	}
	if err := r.do(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ci-local:", err)
	os.Exit(1)
}

// load reads the workflow and lists its legs in the file's order.
func load(file string) (*workflow, []leg, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the workflow: %w", err)
	}
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		return nil, nil, fmt.Errorf("reading the workflow %s: %w", file, err)
	}
	if wf.Jobs.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("reading the workflow %s: no jobs", file)
	}
	var legs []leg
	for i := 0; i+1 < len(wf.Jobs.Content); i += 2 {
		id := wf.Jobs.Content[i].Value
		j := new(job)
		if err := wf.Jobs.Content[i+1].Decode(j); err != nil {
			return nil, nil, fmt.Errorf("reading job %s of %s: %w", id, file, err)
		}
		if len(j.Strategy.Matrix.Include) == 0 {
			legs = append(legs, leg{name: id, jobID: id, job: j})
			continue
		}
		for n, row := range j.Strategy.Matrix.Include {
			name, _ := row["leg"].(string)
			if name == "" {
				name = fmt.Sprintf("%s-%d", id, n+1)
			}
			legs = append(legs, leg{name: name, jobID: id, job: j, matrix: row})
		}
	}
	return &wf, legs, nil
}

// rowShard is the shard of a leg's matrix row ("2/3"), or "" for a row
// without one.
func rowShard(l leg) string {
	if l.matrix["shard"] == nil {
		return ""
	}
	return toString(l.matrix["shard"]) + "/" + toString(l.matrix["shards"])
}

// pick returns the leg named name: for a leg the workflow shards, the row of
// shard; for any other, the leg (which then runs shard of the specs).
func pick(legs []leg, name, shard string) (leg, error) {
	if shard != "" {
		if _, err := probetest.ParseShard(shard); err != nil {
			return leg{}, fmt.Errorf("--shard: %w", err)
		}
	}
	var rows []leg
	var names, shards []string
	for _, l := range legs {
		if !slices.Contains(names, l.name) {
			names = append(names, l.name)
		}
		if l.name == name {
			rows = append(rows, l)
			if s := rowShard(l); s != "" {
				shards = append(shards, s)
			}
		}
	}
	switch {
	case len(rows) == 0:
		return leg{}, fmt.Errorf("no leg %q; the legs are: %s", name, strings.Join(names, ", "))
	case len(shards) == 0 && len(rows) == 1:
		return rows[0], nil
	case len(shards) == 0:
		return leg{}, fmt.Errorf("%d rows are named %q", len(rows), name)
	}
	for _, l := range rows {
		if rowShard(l) == shard {
			return l, nil
		}
	}
	if shard == "" {
		return leg{}, fmt.Errorf("leg %s runs as shards: give --shard, one of %s", name, strings.Join(shards, ", "))
	}
	return leg{}, fmt.Errorf("leg %s has no shard %s: its shards are %s", name, shard, strings.Join(shards, ", "))
}

// cannotRun says why the leg cannot run on this machine, or "".
func cannotRun(l leg) string {
	e := &evalState{ctx: map[string]any{"matrix": l.matrix}}
	runsOn, err := e.interpolate(l.job.RunsOn)
	if err != nil {
		return err.Error()
	}
	if !strings.HasPrefix(runsOn, "ubuntu") {
		return "cannot run here: it runs on " + runsOn
	}
	if runtime.GOOS != "linux" {
		return "cannot run here: a Linux leg, and this is " + runtime.GOOS
	}
	for _, s := range l.job.Steps {
		if local, _ := localUses(s.Uses); local == "" && s.Uses != "" {
			if ok, err := e.condition(s.If); err == nil && ok {
				return "cannot run here: it needs " + s.Uses
			}
		}
	}
	return ""
}

// localUses returns what the run does for a uses: step ("" when it cannot
// stand in for it) and whether that is doing something.
func localUses(uses string) (what string, acts bool) {
	action, _, _ := strings.Cut(uses, "@")
	switch action {
	case "actions/checkout":
		return "skipped: the working tree is the checkout (with its uncommitted changes)", false
	case "actions/setup-go":
		return "the Go on PATH, checked against go.mod", true
	case "actions/upload-artifact":
		return "copies the files into the run's folder", true
	}
	// setup-chrome, setup-edge: a browser this machine does not have;
	// download-artifact: the other jobs' artifacts, which are not here.
	return "", false
}

type run struct {
	wf     *workflow
	leg    leg
	dry    bool
	root   string // the repository's top folder
	out    string // the run's folder: GITHUB_ENV and the others, artifacts
	e      *evalState
	env    map[string]string // GITHUB_ENV's variables so far
	steps  map[string]any    // the steps context
	shard  string            // --shard for a leg the workflow does not shard: PORTPROBE_SHARD
	logOut io.Writer
}

func newRun(wf *workflow, l leg, dry bool) (*run, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	r := &run{wf: wf, leg: l, dry: dry, root: root, env: map[string]string{}, steps: map[string]any{}, logOut: os.Stdout}
	r.e = &evalState{ctx: map[string]any{
		"matrix": l.matrix,
		"runner": map[string]any{"os": "Linux", "arch": runnerArch(), "temp": os.TempDir()},
		"github": map[string]any{"event_name": "workflow_dispatch", "ref": "refs/heads/local", "workspace": root},
		"steps":  r.steps,
	}}
	return r, nil
}

func runnerArch() string {
	if runtime.GOARCH == "arm64" {
		return "ARM64"
	}
	return "X64"
}

func (r *run) printf(format string, args ...any) { fmt.Fprintf(r.logOut, format, args...) }

func (r *run) do() error {
	l := r.leg
	why := cannotRun(l)
	r.printf("leg %s (job %s: %s)\n", l.name, l.jobID, r.must(l.job.Name))
	if r.shard != "" {
		r.printf("shard %s: every step gets %s=%s\n", r.shard, probetest.EnvShard, r.shard)
	}
	keys := slices.Sorted(maps.Keys(l.job.Env))
	for _, k := range keys {
		r.printf("job env %s=%s\n", k, r.must(l.job.Env[k]))
	}
	if why != "" && !r.dry {
		return fmt.Errorf("leg %s %s; --dry-run shows its steps", l.name, why)
	}
	if why != "" {
		r.printf("note: %s\n", why)
	}
	if img, _ := l.job.Container["image"].(string); img != "" {
		r.printf("container %s: not started; this machine (%s, user %d) stands in for it\n", img, osName(), os.Getuid())
	}
	if !r.dry {
		var err error
		if r.out, err = os.MkdirTemp("", "ci-local-"+l.name+"-"); err != nil {
			return err
		}
		for _, f := range []string{"env", "summary.md", "path"} {
			if err := os.WriteFile(filepath.Join(r.out, f), nil, 0o644); err != nil {
				return err
			}
		}
		r.printf("the run's folder (GITHUB_ENV, the step summary, artifacts): %s\n", r.out)
	}
	ctx := context.Background()
	if l.job.TimeoutMinutes > 0 && !r.dry {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, minutes(l.job.TimeoutMinutes))
		defer cancel()
	}
	for n, s := range l.job.Steps {
		if err := r.step(ctx, n+1, s); err != nil {
			return err
		}
	}
	if r.dry {
		r.printf("\ndry run: nothing was run\n")
		return nil
	}
	if r.e.failed {
		return fmt.Errorf("leg %s failed (the run's folder: %s)", l.name, r.out)
	}
	r.printf("\nleg %s: every step passed\n", l.name)
	return nil
}

func minutes(m float64) time.Duration { return time.Duration(m * float64(time.Minute)) }

// must interpolates s, or returns it with the error appended.
func (r *run) must(s string) string {
	v, err := r.e.interpolate(s)
	if err != nil {
		return s + " (" + err.Error() + ")"
	}
	return v
}

func (r *run) step(ctx context.Context, n int, s step) error {
	name := r.must(s.Name)
	if name == "" {
		name = s.Uses + strings.SplitN(s.Run, "\n", 2)[0]
	}
	r.printf("\n== step %d: %s\n", n, name)
	ok, err := r.e.condition(s.If)
	if err != nil {
		return fmt.Errorf("step %d (%s): if: %w", n, name, err)
	}
	if !ok {
		r.printf("   skipped: if: %s is false\n", strings.TrimSpace(s.If))
		r.record(s, "skipped", nil)
		return nil
	}
	if s.If != "" {
		r.printf("   if: %s is true\n", strings.TrimSpace(s.If))
	}
	env, err := r.stepEnv(s)
	if err != nil {
		return fmt.Errorf("step %d (%s): %w", n, name, err)
	}
	if s.Uses != "" {
		return r.uses(n, name, s, env)
	}
	script, err := r.e.interpolate(s.Run)
	if err != nil {
		return fmt.Errorf("step %d (%s): %w", n, name, err)
	}
	shell := s.Shell
	if shell == "" {
		shell = r.wf.Defaults.Run.Shell
	}
	if shell != "" && shell != "bash" {
		return fmt.Errorf("step %d (%s): shell %q: ci-local runs bash only", n, name, shell)
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.printf("   env %s=%s\n", k, env[k])
	}
	if s.TimeoutMinutes > 0 {
		r.printf("   timeout-minutes: %g\n", s.TimeoutMinutes)
	}
	r.printf("   run (bash --noprofile --norc -eo pipefail):\n")
	for line := range strings.SplitSeq(strings.TrimRight(script, "\n"), "\n") {
		r.printf("   | %s\n", line)
	}
	if r.dry {
		r.record(s, "success", nil)
		return nil
	}
	sctx := ctx
	if s.TimeoutMinutes > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, minutes(s.TimeoutMinutes))
		defer cancel()
	}
	outputs := filepath.Join(r.out, fmt.Sprintf("output-%d", n))
	if err := os.WriteFile(outputs, nil, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(sctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = r.root
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "GITHUB_OUTPUT="+outputs)
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start).Round(time.Second)
	if newEnv, rerr := readEnvFile(filepath.Join(r.out, "env")); rerr == nil {
		r.env = newEnv
	}
	out, _ := readEnvFile(outputs)
	if err != nil {
		if errors.Is(sctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (timeout-minutes reached)", err)
		}
		r.printf("   FAILED after %v: %v\n", took, err)
		r.e.failed = true
		r.record(s, "failure", out)
		return nil
	}
	r.printf("   ok after %v\n", took)
	r.record(s, "success", out)
	return nil
}

// stepEnv is the step's environment: the workflow's, the job's, GITHUB_ENV's,
// the step's (each later one winning), and the runner's variables.
func (r *run) stepEnv(s step) (map[string]string, error) {
	env := map[string]string{
		"CI": "true", "RUNNER_OS": "Linux", "RUNNER_ARCH": runnerArch(), "RUNNER_TEMP": os.TempDir(),
		"GITHUB_WORKSPACE": r.root, "GITHUB_EVENT_NAME": "workflow_dispatch",
	}
	if r.shard != "" {
		env[probetest.EnvShard] = r.shard
	}
	if r.out != "" {
		env["GITHUB_ENV"] = filepath.Join(r.out, "env")
		env["GITHUB_STEP_SUMMARY"] = filepath.Join(r.out, "summary.md")
		env["GITHUB_PATH"] = filepath.Join(r.out, "path")
	}
	ctxEnv := map[string]any{}
	for _, layer := range []map[string]string{r.wf.Env, r.leg.job.Env, r.env, s.Env} {
		for k, v := range layer {
			r.e.ctx["env"] = ctxEnv
			val, err := r.e.interpolate(v)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", k, err)
			}
			env[k], ctxEnv[k] = val, val
		}
	}
	return env, nil
}

func (r *run) uses(n int, name string, s step, env map[string]string) error {
	what, acts := localUses(s.Uses)
	if what == "" {
		r.printf("   uses: %s: cannot run here (no local equivalent)\n", s.Uses)
		r.record(s, "skipped", nil)
		return nil
	}
	r.printf("   uses: %s: %s\n", s.Uses, what)
	if name := s.With["name"]; name != "" {
		r.printf("   name: %s\n", r.must(name))
	}
	if !acts || r.dry {
		r.record(s, "success", nil)
		return nil
	}
	action, _, _ := strings.Cut(s.Uses, "@")
	var err error
	switch action {
	case "actions/setup-go":
		err = checkGo(r.root)
	case "actions/upload-artifact":
		err = r.upload(s)
	}
	if err != nil {
		r.printf("   FAILED: %v\n", err)
		r.e.failed = true
		r.record(s, "failure", nil)
		return nil
	}
	r.record(s, "success", nil)
	return nil
}

// checkGo says which Go is on PATH and fails if it is older than go.mod's.
func checkGo(root string) error {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return fmt.Errorf("no go on PATH: %w", err)
	}
	have := strings.TrimPrefix(strings.TrimSpace(string(out)), "go")
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	var want string
	for line := range strings.SplitSeq(string(mod), "\n") {
		if v, ok := strings.CutPrefix(line, "go "); ok {
			want = strings.TrimSpace(v)
		}
	}
	fmt.Printf("   go %s on PATH; go.mod asks for %s\n", have, want)
	if compareVersions(have, want) < 0 {
		return fmt.Errorf("go %s is older than go.mod's %s", have, want)
	}
	return nil
}

// compareVersions compares dotted versions numerically (1.26 < 1.26.1).
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			fmt.Sscan(as[i], &x)
		}
		if i < len(bs) {
			fmt.Sscan(bs[i], &y)
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// upload copies the step's path into the run's folder, under the artifact's
// name, honouring if-no-files-found.
func (r *run) upload(s step) error {
	name, err := r.e.interpolate(s.With["name"])
	if err != nil {
		return err
	}
	src := filepath.Join(r.root, s.With["path"])
	dst := filepath.Join(r.out, "artifacts", name)
	if _, err := os.Stat(src); err != nil {
		switch s.With["if-no-files-found"] {
		case "ignore":
			r.printf("   no %s: nothing to keep\n", s.With["path"])
			return nil
		case "error":
			return fmt.Errorf("no files at %s", s.With["path"])
		}
		r.printf("   warning: no files at %s\n", s.With["path"])
		return nil
	}
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return fmt.Errorf("keeping %s as %s: %w", src, name, err)
	}
	r.printf("   kept %s as %s\n", s.With["path"], dst)
	return nil
}

// record adds the step to the steps context (outcome and outputs).
func (r *run) record(s step, outcome string, outputs map[string]string) {
	if s.ID == "" {
		return
	}
	o := map[string]any{}
	for k, v := range outputs {
		o[k] = v
	}
	r.steps[s.ID] = map[string]any{"outcome": outcome, "conclusion": outcome, "outputs": o}
}

// readEnvFile reads a GITHUB_ENV or GITHUB_OUTPUT file: NAME=value lines and
// NAME<<DELIMITER blocks.
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if k, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(k, "=") {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			vars[k] = strings.Join(val, "\n")
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = v
		}
	}
	return vars, nil
}

// osName is this system's PRETTY_NAME, or its GOOS.
func osName() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}
