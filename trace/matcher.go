package trace

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/portprobe/portprobe/internal/jsonx"
)

// Matcher is what a query method takes in place of a value to test a field
// of an event: a Gomega matcher (types.GomegaMatcher has these methods), so
// that a query composes with BeNumerically, ContainSubstring, Not, HaveKey
// and the rest without this package importing Gomega.
//
// The matcher gets the field as Go has it: a string for a name or an error,
// and for JSON what encoding/json decodes into an any (float64 for numbers,
// map[string]any for objects, []any for arrays). An error from Match counts
// as no match.
type Matcher interface {
	Match(actual any) (success bool, err error)
	FailureMessage(actual any) string
	NegatedFailureMessage(actual any) string
}

// jsonPart returns how a query describes v, as eq followed by its JSON or as
// " matching <matcher>", and the test of a JSON value against it. call
// starts the query method's call, such as `WithField("k", `, for the panic
// of a v that JSON cannot encode.
func jsonPart(call string, v any, eq string) (desc string, match func(json.RawMessage) bool) {
	if m, ok := v.(Matcher); ok {
		matchGo := matchValue(m)
		return " matching " + describeMatcher(m), func(got json.RawMessage) bool {
			var x any
			if json.Unmarshal(got, &x) != nil {
				return false
			}
			return matchGo(x)
		}
	}
	want, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("trace: %s%#v): %v", call, v, err))
	}
	return eq + string(want), func(got json.RawMessage) bool { return jsonx.Equal(got, want) }
}

// matchValue returns m's test of a Go value. A Gomega matcher may keep state
// in Match (And remembers which matcher failed), and a query may be matched
// from several goroutines, so the calls take turns.
func matchValue(m Matcher) func(any) bool {
	var mu sync.Mutex
	return func(x any) bool {
		mu.Lock()
		defer mu.Unlock()
		ok, err := m.Match(x)
		return err == nil && ok
	}
}

// textArg returns v as a string, for the query methods that take a string or
// a Matcher, and panics naming method for anything else.
func textArg(method string, v any) string {
	s, ok := v.(string)
	if !ok {
		panic(fmt.Sprintf("trace: %s(%#v): want a string or a Matcher, got %T", method, v, v))
	}
	return s
}

// maxMatcherDesc bounds the description of a matcher in a query's String.
const maxMatcherDesc = 120

// describeMatcher names m for a query's String as its constructor call
// would read: Not(BeZero()), BeNumerically(">", 3). A matcher that is a
// fmt.Stringer says it itself; otherwise the description is its type's name
// without "Matcher" and its exported fields that are set, which is how
// Gomega's matchers keep their arguments.
func describeMatcher(m Matcher) string {
	var s string
	if st, ok := m.(fmt.Stringer); ok {
		s = st.String()
	} else {
		s = describeCall(reflect.ValueOf(m), 0)
	}
	if len(s) > maxMatcherDesc {
		n := maxMatcherDesc
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

// describeCall describes the matcher v as a call, looking depth matchers
// deep into matchers that take matchers.
func describeCall(v reflect.Value, depth int) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "nil"
		}
		v = v.Elem()
	}
	name := strings.TrimSuffix(v.Type().Name(), "Matcher")
	if name == "" {
		name = v.Type().String()
	}
	if v.Kind() != reflect.Struct {
		return name
	}
	if depth > 3 {
		return name + "(…)"
	}
	var args []string
	for i := range v.NumField() {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		args = appendArg(args, v.Field(i), depth)
	}
	return name + "(" + strings.Join(args, ", ") + ")"
}

// appendArg appends the description of a matcher's field to args: nothing
// for a field that is not set (nil, false, ""), each element of a slice (the
// variadic arguments), and a matcher as a call.
func appendArg(args []string, f reflect.Value, depth int) []string {
	switch f.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Func, reflect.Chan:
		if f.IsNil() {
			return args
		}
	case reflect.Bool:
		if !f.Bool() {
			return args
		}
	case reflect.String:
		if f.String() == "" {
			return args
		}
	case reflect.Slice, reflect.Array:
		for i := range f.Len() {
			args = appendArg(args, f.Index(i), depth)
		}
		return args
	}
	if !f.CanInterface() {
		return args
	}
	x := f.Interface()
	switch x := x.(type) {
	case Matcher:
		return append(args, describeCall(reflect.ValueOf(x), depth+1))
	}
	for f.Kind() == reflect.Interface {
		f = f.Elem()
	}
	switch f.Kind() {
	case reflect.Func:
		return append(args, f.Type().String())
	case reflect.String:
		return append(args, quote(f.String()))
	}
	return append(args, fmt.Sprintf("%v", x))
}

// quote quotes s as Go source would, in backquotes when it holds a double
// quote (JSON, mostly) and can be.
func quote(s string) string {
	if strings.Contains(s, `"`) && strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}
