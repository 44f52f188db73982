package jsonx

import "testing"

func TestEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[2]}`, `{ "b": [2], "a": 1 }`, true},
		{`1`, `1.0`, true},
		{`"x"`, `"y"`, false},
		{`{}`, `not json`, false},
		{`not json`, `not json`, false},
		{``, ``, false},
	} {
		if got := Equal([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("Equal(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestAt(t *testing.T) {
	doc := []byte(`{"tab":{"id":7,"url":"https://x/"},"frameId":0}`)
	if v, ok := At(doc, "tab.id"); !ok || string(v) != "7" {
		t.Errorf("At(tab.id) = %s, %v", v, ok)
	}
	if v, ok := At(doc, "frameId"); !ok || string(v) != "0" {
		t.Errorf("At(frameId) = %s, %v", v, ok)
	}
	for _, p := range []string{"tab.title", "origin", "frameId.x"} {
		if _, ok := At(doc, p); ok {
			t.Errorf("At(%s) found something", p)
		}
	}
}
