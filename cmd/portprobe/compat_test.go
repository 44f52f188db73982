package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// writeCompatReport writes a Ginkgo JSON report of a run on browser in which
// RC-01's spec ended in state, and returns its path.
func writeCompatReport(t *testing.T, name, browser string, state types.SpecState) string {
	t.Helper()
	report := types.Report{SpecReports: types.SpecReports{
		{
			LeafNodeType:  types.NodeTypeBeforeSuite,
			State:         types.SpecStatePassed,
			ReportEntries: types.ReportEntries{{Name: "browser", Value: types.WrapEntryValue(browser)}},
		},
		{
			ContainerHierarchyTexts: []string{"runtime.connect"},
			LeafNodeType:            types.NodeTypeIt,
			LeafNodeText:            "returns a Port at once",
			LeafNodeLabels:          []string{"connect", "RC-01"},
			LeafNodeLocation:        types.CodeLocation{FileName: "/src/portprobe/specs/connect_test.go", LineNumber: 16},
			State:                   state,
		},
	}}
	data, err := json.Marshal([]types.Report{report})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompatMergesReports(t *testing.T) {
	old := writeCompatReport(t, "old.json", "Google Chrome for Testing 141.0.7390.122 (/opt/chrome-old)", types.SpecStateFailed)
	stable := writeCompatReport(t, "stable.json", "Google Chrome for Testing 142.0.7444.175 (/opt/chrome)", types.SpecStatePassed)
	beta := writeCompatReport(t, "beta.json", "Google Chrome for Testing 143.0.7499.4 (/opt/chrome-beta)", types.SpecStateFailed)
	catalog := filepath.Join(t.TempDir(), "catalog.md")
	if err := os.WriteFile(catalog, []byte("### RC-01 `runtime.connect()` returns a Port\n- **Outcome:** Returns a `Port` object at once.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "compat.json")
	results := filepath.Join(t.TempDir(), "results.json")
	var stdout, stderr bytes.Buffer
	err := runCompat(t.Context(), []string{"--catalog", catalog, "--report", "old=" + old, "--report", "stable=" + stable, "--report", "beta=" + beta,
		"--json", out, "--results", results}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("compat: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		"| ID | area | behavior | Chrome for Testing 141 old | Chrome for Testing 142 stable | Chrome for Testing 143 beta |",
		"| RC-01 | connect | `runtime.connect()` returns a Port | ❌ failed (1 of 1) | ✅ passed | ❌ failed (1 of 1) |",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the table lacks %q; it is:\n%s", want, stdout.String())
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var bcd struct {
		WebExtensions struct {
			API struct {
				Runtime struct {
					Connect map[string]struct {
						Compat struct {
							Support map[string]map[string]any
						} `json:"__compat"`
					} `json:"connect"`
				} `json:"runtime"`
			} `json:"api"`
		} `json:"webextensions"`
	}
	if err := json.Unmarshal(data, &bcd); err != nil {
		t.Fatalf("--json wrote %v:\n%s", err, data)
	}
	chrome := bcd.WebExtensions.API.Runtime.Connect["runtime_connect_returns_a_port"].Compat.Support["chrome"]
	if chrome["version_added"] != "142" || chrome["version_removed"] != "143" {
		t.Errorf("RC-01's chrome support = %v, want added 142, removed 143; the JSON is:\n%s", chrome, data)
	}
	data, err = os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"bcd": "webextensions.api.runtime.connect.runtime_connect_returns_a_port"`; !strings.Contains(string(data), want) {
		t.Errorf("--results lacks %s; it is:\n%s", want, data)
	}
}

func TestCompatLeavesChromiumOutOfChromeUnlessAsked(t *testing.T) {
	report := writeCompatReport(t, "r.json", "Chromium 83.0.4103.116 (/usr/lib/chromium/chromium)", types.SpecStatePassed)
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, `"webextensions": {}`},
		{[]string{"--chromium-as-chrome"}, `"version_added": "≤83"`},
	} {
		out := filepath.Join(t.TempDir(), "compat.json")
		var stdout, stderr bytes.Buffer
		if err := runCompat(t.Context(), append([]string{"--report", report, "--json", out}, tc.flags...), &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil || !strings.Contains(string(data), tc.want) {
			t.Errorf("compat %v wrote %s (%v), want it to contain %s", tc.flags, data, err, tc.want)
		}
	}
}

func TestCompatWritesMarkdownToAFile(t *testing.T) {
	report := writeCompatReport(t, "r.json", "Chromium 156.0.8078.79 (/usr/lib/chromium/chromium)", types.SpecStatePassed)
	summary := filepath.Join(t.TempDir(), "summary.md")
	var stdout, stderr bytes.Buffer
	if err := runCompat(t.Context(), []string{"--report", report, "--markdown", summary}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing when --markdown is given", stdout.String())
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "| RC-01 | connect | runtime.connect returns a Port at once | ✅ passed |") {
		t.Errorf("--markdown wrote %q (%v)", md, err)
	}
}

func TestCompatErrors(t *testing.T) {
	report := writeCompatReport(t, "r.json", "Chromium 156.0.8078.79 (/usr/lib/chromium/chromium)", types.SpecStatePassed)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ginkgo arguments with reports", []string{"--report", report, "--", "--label-filter=mdn"}, "runs nothing"},
		{"a missing report", []string{"--report", "beta=/nonexistent/report.json"}, "/nonexistent/report.json"},
		{"a missing catalog", []string{"--catalog", "/nonexistent/catalog.md", "--report", report}, "/nonexistent/catalog.md"},
		{"an unknown flag", []string{"--reports", report}, "flag provided but not defined"},
	} {
		var stdout, stderr bytes.Buffer
		err := runCompat(t.Context(), tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one that says %q", tc.name, err, tc.want)
		}
	}
}

func TestParseReportArg(t *testing.T) {
	odd := filepath.Join(t.TempDir(), "leg=beta.json")
	if err := os.WriteFile(odd, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arg  string
		want reportArg
	}{
		{"report.json", reportArg{path: "report.json"}},
		{"beta=reports/beta/ginkgo.json", reportArg{name: "beta", path: "reports/beta/ginkgo.json"}},
		{odd, reportArg{path: odd}},
		{"=x.json", reportArg{path: "=x.json"}},
	} {
		if got := parseReportArg(tc.arg); got != tc.want {
			t.Errorf("parseReportArg(%q) = %+v, want %+v", tc.arg, got, tc.want)
		}
	}
}

func TestGinkgoArgs(t *testing.T) {
	for _, tc := range []struct {
		extra, want []string
	}{
		{nil, []string{"tool", "ginkgo", "--json-report=report.json", "--output-dir=/tmp/d", "./specs"}},
		{[]string{"--label-filter=mdn"}, []string{"tool", "ginkgo", "--json-report=report.json", "--output-dir=/tmp/d", "--label-filter=mdn", "./specs"}},
		{[]string{"-v", "--", "-test.v"}, []string{"tool", "ginkgo", "--json-report=report.json", "--output-dir=/tmp/d", "-v", "./specs", "--", "-test.v"}},
	} {
		if got := ginkgoArgs("/tmp/d", tc.extra); !slices.Equal(got, tc.want) {
			t.Errorf("ginkgoArgs(%q) = %q, want %q", tc.extra, got, tc.want)
		}
	}
}

// --catalog takes a folder, as CI passes docs/catalog.
func TestCompatReadsACatalogFolder(t *testing.T) {
	report := writeCompatReport(t, "r.json", "Google Chrome for Testing 142.0.7444.175 (/opt/chrome)", types.SpecStatePassed)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "connect.md"), []byte("### RC-01 `runtime.connect()` returns a Port\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := runCompat(t.Context(), []string{"--catalog", dir, "--report", report}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if want := "| RC-01 | connect | `runtime.connect()` returns a Port | ✅ passed |"; !strings.Contains(stdout.String(), want) {
		t.Errorf("the table lacks %q:\n%s", want, stdout.String())
	}
}
