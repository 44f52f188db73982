// Package jsonx holds the two JSON questions that the trace, its diagram and
// the core all ask: are two documents the same value, and what is at a dotted
// path of one.
package jsonx

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// Equal reports whether a and b are the same JSON value (key order and
// spacing aside). Either one not being JSON makes them different.
func Equal(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return len(a) > 0 && json.Valid(a)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// At returns the JSON at a dotted path of doc, such as "tab.id", and whether
// it is there.
func At(doc json.RawMessage, path string) (json.RawMessage, bool) {
	cur := doc
	for _, key := range strings.Split(path, ".") {
		var m map[string]json.RawMessage
		if json.Unmarshal(cur, &m) != nil {
			return nil, false
		}
		next, ok := m[key]
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}
