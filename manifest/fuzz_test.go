package manifest

import (
	"testing"
)

// FuzzParseManifest: no input makes the parser panic, and what it accepts
// keeps its name through a second parse of the same bytes.
// Run: go test -fuzz FuzzParseManifest ./manifest
func FuzzParseManifest(f *testing.F) {
	for _, seed := range []string{
		`{"manifest_version": 3, "name": "x", "version": "1"}`,
		"\uFEFF{\"name\": \"bom\"}",
		"{\n  // why\n  \"name\": \"a // b /* c */\" /* x */}",
		"{\n  /* unterminated",
		`{"name": "\"//\"", "key": "/*"}`,
		`{"manifest_version": "3"}`,
		``,
		`/`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		again, err := Parse(data)
		if err != nil || again.Name != m.Name {
			t.Fatalf("a second parse differs: %v, %q vs %q", err, again.Name, m.Name)
		}
	})
}
