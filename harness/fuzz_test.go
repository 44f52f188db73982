package harness

import (
	"testing"

	"github.com/portprobe/portprobe/trace"
)

// FuzzProbeEvents: whatever a realm's code sends through the binding (a page
// that found it, a broken probe), the harness records or ignores it without
// a panic, and every event it records has its realm.
// Run: go test -fuzz FuzzProbeEvents ./harness
func FuzzProbeEvents(f *testing.F) {
	for _, seed := range []string{
		`[{"k":"connect","p":1,"t":1700000000000,"n":"x"}]`,
		`{"k":"onConnect","p":2,"t":0,"n":"y","s":{"id":"a"}}`,
		`[{"k":"post","p":1,"t":1,"m":{"a":1}},{"k":"bogus"}]`,
		`[{"k":"message","p":1,"t":-1e308,"m":null,"le":"e"}]`,
		`[{"k":"sendMessage","p":3,"t":2,"call":"tabs.sendMessage","m":"hi","to":{"tabId":1,"options":{"frameId":0}}}]`,
		`[{"k":"reply","p":4,"t":3,"li":2,"call":"promise","error":"no"},{"k":"keepOpen","p":4,"t":3,"li":-1,"call":"true"}]`,
		`[{"k":"response","p":3,"t":4,"call":"callback","to":"not an object","li":"x"}]`,
		`[`, `{}`, `[null]`, `"str"`,
	} {
		f.Add(seed)
		f.Add("secret" + seed) // through the binding, with the probe's secret
		f.Add("wrong" + seed)  // through the binding, without it
	}
	f.Fuzz(func(t *testing.T, payload string) {
		b := &Browser{trace: trace.New(), opts: Options{Logf: func(string, ...any) {}}, probeSecret: "secret"}
		r := newRealm(b, trace.WorkerRealm, "abc")
		b.record(r, payload)
		for _, e := range b.trace.Events() {
			if e.Realm != r {
				t.Fatalf("an event with realm %v", e.Realm)
			}
			_ = e.String()
		}
	})
}
