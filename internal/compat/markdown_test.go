package compat

import (
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	md := build(t, legs(t), testCatalog(t)).Markdown()
	for _, want := range []string{
		"| ID | area | behavior | Chrome for Testing 142 stable | Chrome for Testing 143 beta | Chromium 156 debian | unknown browser windows |\n|---|---|---|---|---|---|---|\n",
		"| RC-01 | connect | `runtime.connect()` returns a Port synchronously | ✅ passed | ⏭️ skipped | ✅ passed | ➖ not run |\n",
		"| RC-02 | connect | `onConnect` fires asynchronously in the receiver | ❌ failed (1 of 2) | ✅ passed | ⚠️ differs | ➖ not run |\n",
		"| – | connect | The runtime.connect() example from MDN | ✅ passed | ➖ not run | ✅ passed | ➖ not run |\n",
		"- **Chrome for Testing 142 stable**: Google Chrome for Testing 142.0.7444.175 (/opt/hostedtoolcache/setup-chrome/chrome/stable/x64/chrome), from stable.json, stable.json. 3 passed, 0 differ, 1 failed, 0 skipped, 0 not run.\n",
		"- **unknown browser windows**: the reports do not name the browser",
		"  - ❌ `BeforeSuite failed: Unexpected error: no Chrome found`\n",
		"### Failed specs\n\n- **Chrome for Testing 142 stable**, RC-02: runtime.connect fires onConnect later (`specs/connect_test.go:32`): `Expected <string>: a to equal <string>: b`\n",
		"Catalog entries no spec checks in these runs: RC-03.\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q; it is:\n%s", want, md)
		}
	}
}

func TestMarkdownEscapesCells(t *testing.T) {
	r := run(t, "", suite(chromium156, it("a|b", 9, passed, "RC-09")))
	md := build(t, []Run{r}, nil).Markdown()
	if !strings.Contains(md, `| RC-09 | connect | runtime.connect a\|b | ✅ passed |`) {
		t.Errorf("a | in a title is not escaped:\n%s", md)
	}
}
