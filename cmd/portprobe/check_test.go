package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// portprobeBinary builds the command once for the tests that run it as a
// user does, to see its exit codes.
func portprobeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("no go command in PATH: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "portprobe-check-test-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "portprobe")
		if out, err := exec.Command(goBin, "build", "-o", built, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built != "" {
		os.RemoveAll(filepath.Dir(built))
	}
	os.Exit(code)
}

// runPortprobe runs the built command and returns its exit code, stdout and
// stderr.
func runPortprobe(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, portprobeBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("portprobe %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, &stdout, &stderr)
	return 0, "", ""
}

var mdnScenario = filepath.Join("..", "..", "fixtures", "scenarios", "mdn-example.yaml")

// The example scenario of docs/check.md passes: exit code 0, no diagram.
func TestCheckMDNExamplePasses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds portprobe and starts a browser")
	}
	out := t.TempDir()
	code, stdout, stderr := runPortprobe(t, "check", mdnScenario, "--out", out)
	if code != 0 || !strings.Contains(stdout, "PASS "+mdnScenario+": 8 expected events, 2 absent, in ") {
		t.Fatalf("exit code %d, want 0 and PASS\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, checkDiagram)); !os.IsNotExist(err) {
		t.Errorf("a passing check wrote %s (%v)", checkDiagram, err)
	}
}

// The same scenario with one expectation changed fails with exit code 1, the
// matcher's message naming the missing event, the trace, and the diagram.
func TestCheckNamesTheMissingEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds portprobe and starts a browser")
	}
	text, err := os.ReadFile(mdnScenario)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "extensions", "mdn-example"))
	if err != nil {
		t.Fatal(err)
	}
	// The expectation waits its whole timeout before it fails: a short one,
	// scaled on a loaded machine as the specs' deadlines are.
	timeout := 8 * time.Second
	if v, err := strconv.ParseFloat(os.Getenv("PORTPROBE_TIMEOUT_SCALE"), 64); err == nil && v > 0 {
		timeout = time.Duration(float64(timeout) * v)
	}
	changed := strings.NewReplacer(
		"../extensions/mdn-example", abs,
		"timeout: 20s", "timeout: "+timeout.String(),
		`message: {greeting: "they clicked the button!"}}`+"\n  absent:", `message: {greeting: "they clicked the button twice!"}}`+"\n  absent:",
	).Replace(string(text))
	if strings.Count(changed, "twice") != 1 || !strings.Contains(changed, abs) {
		t.Fatalf("the copy did not change as meant:\n%s", changed)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "changed.yaml")
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runPortprobe(t, "check", file, "--out", out)
	if code != 1 {
		t.Fatalf("exit code %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"portprobe check: FAIL " + file,
		"Expected the trace to have these events in order:",
		`  7. post in background with message {"greeting":"they clicked the button!"}  [ok #`,
		`  8. message in content-script(mdn-example) named "port-from-cs" with message {"greeting":"they clicked the button twice!"}  [MISSING]`,
		"Whole trace:",
		`message={"greeting":"they clicked the button!"}`,
		"sequence diagram: " + filepath.Join(out, checkDiagram),
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the failure does not say %q\nstderr:\n%s", want, stderr)
		}
	}
	page, err := os.ReadFile(filepath.Join(out, checkDiagram))
	if err != nil {
		t.Fatalf("reading the diagram: %v", err)
	}
	if !strings.Contains(string(page), "content-script(mdn-example)@tab1") {
		t.Errorf("the diagram has no lane for the content script")
	}
}

// Bad input ends with exit code 2 and names the file, the line and the
// cause, before any browser starts.
func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ext, _ := filepath.Abs(filepath.Join("..", "..", "fixtures", "extensions", "mdn-example"))
	unknownKey := write("unknown.yaml", "extensions: ["+ext+"]\nsteps:\n  - open: /\n    wait_for: 3s\nexpect:\n  events: [{event: Connect}]\n")
	noFolder := write("nofolder.json", "{\"extensions\": [\"missing\"], \"steps\": [{\"open\": \"/\"}], \"expect\": {\"events\": [{\"event\": \"Connect\"}]}}")
	badKind := write("kind.yml", "extensions: ["+ext+"]\nsteps:\n  - open: /\nexpect:\n  events:\n    - {event: Connect, in: tab}\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{unknownKey}, unknownKey + `:4: unknown key "wait_for"`},
		{[]string{noFolder}, noFolder + `:1: extensions[0]: reading the extension "missing": `},
		{[]string{badKind}, badKind + `:6: expect.events[0]: in "tab": unknown realm kind "tab"`},
		{[]string{filepath.Join(dir, "none.yaml")}, "reading the scenario: open "},
		{[]string{write("s.toml", "")}, `unknown extension ".toml": want .yaml, .yml or .json`},
		{[]string{unknownKey, "--browser", "safari"}, `--browser "safari": want chrome or firefox`},
		{nil, "no scenario file given"},
	} {
		var out bytes.Buffer
		err := runCheck(t.Context(), tt.args, &out)
		var coded interface{ ExitCode() int }
		if !errors.As(err, &coded) || coded.ExitCode() != exitBadInput || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("check %q: got %v, want exit code 2 and %q", tt.args, err, tt.want)
		}
	}
	if testing.Short() {
		return
	}
	// As a user sees it.
	code, _, stderr := runPortprobe(t, "check", unknownKey)
	if code != exitBadInput || !strings.Contains(stderr, "portprobe check: "+unknownKey+`:4: unknown key "wait_for"`) {
		t.Errorf("portprobe check %s: exit code %d, stderr:\n%s", unknownKey, code, stderr)
	}
	// An extension the browser refuses (its worker's file is missing) is
	// bad input too, found once the browser runs.
	refused := filepath.Join(dir, "refused")
	if err := os.Mkdir(refused, 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join("refused", "manifest.json"), `{"manifest_version": 3, "name": "refused", "version": "1.0", "background": {"service_worker": "missing.js"}}`)
	refusing := write("refused.yaml", "extensions:\n  - refused\nsteps: [{open: /}]\nexpect: {events: [{event: Connect}]}\n")
	code, _, stderr = runPortprobe(t, "check", refusing)
	if code != exitBadInput || !strings.Contains(stderr, "portprobe check: "+refusing+`:2: extensions[0]: loading extension "`) {
		t.Errorf("portprobe check %s: exit code %d, stderr:\n%s", refusing, code, stderr)
	}
}
