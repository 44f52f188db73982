package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// The subset of GitHub Actions expressions that ci.yml uses: literals
// ('text', true, false, null, numbers), contexts with dotted properties
// (matrix.leg, steps.chrome.outputs.chrome-path), ! && || == != and
// parentheses, and the functions always(), success(), failure(),
// cancelled(), contains(), startsWith(), endsWith() and format(). Anything else is an
// error, so a workflow the runner cannot read fails loudly.

// evalState is what status functions answer from.
type evalState struct {
	ctx    map[string]any // the contexts: matrix, runner, github, env, steps
	failed bool           // a step of the job failed
}

// interpolate replaces each ${{ expr }} in s with its value as text.
func (e *evalState) interpolate(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return "", fmt.Errorf("unclosed ${{ in %q", s)
		}
		v, err := e.eval(s[i+3 : i+j])
		if err != nil {
			return "", err
		}
		b.WriteString(s[:i])
		b.WriteString(toString(v))
		s = s[i+j+2:]
	}
}

// condition evaluates an if: (with or without ${{ }}); empty means success().
func (e *evalState) condition(s string) (bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return !e.failed, nil
	}
	if strings.HasPrefix(s, "${{") && strings.HasSuffix(s, "}}") && strings.Count(s, "${{") == 1 {
		s = s[3 : len(s)-2]
	}
	v, err := e.eval(s)
	if err != nil {
		return false, err
	}
	// GitHub adds success() to a condition that calls no status function.
	if !strings.Contains(s, "always()") && !strings.Contains(s, "cancelled()") && !strings.Contains(s, "failure()") && !strings.Contains(s, "success()") && e.failed {
		return false, nil
	}
	return truthy(v), nil
}

func (e *evalState) eval(src string) (any, error) {
	p := &parser{src: src, e: e}
	p.next()
	v, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", strings.TrimSpace(src), err)
	}
	if p.tok != "" {
		return nil, fmt.Errorf("expression %q: unexpected %q", strings.TrimSpace(src), p.tok)
	}
	return v, nil
}

type parser struct {
	src string
	pos int
	tok string // the current token; "" at the end
	e   *evalState
}

func (p *parser) next() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' || p.pos < len(p.src) && p.src[p.pos] == '\t' || p.pos < len(p.src) && p.src[p.pos] == '\n' {
		p.pos++
	}
	if p.pos >= len(p.src) {
		p.tok = ""
		return
	}
	start := p.pos
	c := p.src[p.pos]
	switch {
	case strings.HasPrefix(p.src[p.pos:], "&&"), strings.HasPrefix(p.src[p.pos:], "||"),
		strings.HasPrefix(p.src[p.pos:], "=="), strings.HasPrefix(p.src[p.pos:], "!="):
		p.pos += 2
	case c == '!' || c == '(' || c == ')' || c == ',' || c == '[' || c == ']':
		p.pos++
	case c == '\'':
		p.pos++
		for p.pos < len(p.src) {
			if p.src[p.pos] == '\'' {
				if p.pos+1 < len(p.src) && p.src[p.pos+1] == '\'' {
					p.pos += 2
					continue
				}
				break
			}
			p.pos++
		}
		p.pos++
	default:
		for p.pos < len(p.src) {
			r := rune(p.src[p.pos])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != '.' {
				break
			}
			p.pos++
		}
		if p.pos == start {
			p.pos++
		}
	}
	p.tok = p.src[start:min(p.pos, len(p.src))]
}

func (p *parser) or() (any, error) {
	v, err := p.and()
	for err == nil && p.tok == "||" {
		p.next()
		var w any
		if w, err = p.and(); !truthy(v) {
			v = w
		}
	}
	return v, err
}

func (p *parser) and() (any, error) {
	v, err := p.cmp()
	for err == nil && p.tok == "&&" {
		p.next()
		var w any
		if w, err = p.cmp(); truthy(v) {
			v = w
		}
	}
	return v, err
}

func (p *parser) cmp() (any, error) {
	v, err := p.unary()
	for err == nil && (p.tok == "==" || p.tok == "!=") {
		op := p.tok
		p.next()
		var w any
		if w, err = p.unary(); err == nil {
			eq := strings.EqualFold(toString(v), toString(w))
			v = eq == (op == "==")
		}
	}
	return v, err
}

func (p *parser) unary() (any, error) {
	if p.tok == "!" {
		p.next()
		v, err := p.unary()
		return !truthy(v), err
	}
	return p.primary()
}

func (p *parser) primary() (any, error) {
	tok := p.tok
	switch {
	case tok == "":
		return nil, fmt.Errorf("unexpected end")
	case tok == "(":
		p.next()
		v, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok != ")" {
			return nil, fmt.Errorf("want ), got %q", p.tok)
		}
		p.next()
		return v, nil
	case tok[0] == '\'':
		p.next()
		return strings.ReplaceAll(strings.TrimSuffix(tok[1:], "'"), "''", "'"), nil
	case tok == "true" || tok == "false":
		p.next()
		return tok == "true", nil
	case tok == "null":
		p.next()
		return nil, nil
	case tok[0] >= '0' && tok[0] <= '9':
		p.next()
		return strconv.ParseFloat(tok, 64)
	}
	p.next()
	if p.tok == "(" {
		return p.call(tok)
	}
	var v any = p.e.ctx
	for name := range strings.SplitSeq(tok, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, nil
		}
		v = m[name]
	}
	return v, nil
}

func (p *parser) call(name string) (any, error) {
	p.next() // (
	var args []any
	for p.tok != ")" {
		v, err := p.or()
		if err != nil {
			return nil, err
		}
		args = append(args, v)
		if p.tok == "," {
			p.next()
		} else if p.tok != ")" {
			return nil, fmt.Errorf("in %s(): want , or ), got %q", name, p.tok)
		}
	}
	p.next()
	str := func(i int) string {
		if i < len(args) {
			return strings.ToLower(toString(args[i]))
		}
		return ""
	}
	switch name {
	case "always":
		return true, nil
	case "cancelled":
		return false, nil // a local run is never cancelled: Ctrl-C ends it
	case "success":
		return !p.e.failed, nil
	case "failure":
		return p.e.failed, nil
	case "contains":
		return strings.Contains(str(0), str(1)), nil
	case "startsWith":
		return strings.HasPrefix(str(0), str(1)), nil
	case "endsWith":
		return strings.HasSuffix(str(0), str(1)), nil
	case "format":
		return format(args)
	}
	return nil, fmt.Errorf("function %s() is not known to ci-local", name)
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case float64:
		return v != 0
	case int:
		return v != 0
	}
	return true
}

func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// format is GitHub's format('{0}/{1}', a, b): {N} is the N-th argument after
// the first, as text; {{ and }} are braces.
func format(args []any) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("format() needs a format string")
	}
	f, _ := args[0].(string)
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		switch {
		case strings.HasPrefix(f[i:], "{{"), strings.HasPrefix(f[i:], "}}"):
			b.WriteByte(f[i])
			i++
		case f[i] == '{':
			j := strings.IndexByte(f[i:], '}')
			n, err := strconv.Atoi(f[i+1 : i+max(j, 1)])
			if j < 0 || err != nil || n < 0 || n+1 >= len(args) {
				return nil, fmt.Errorf("format(%q): bad or missing argument at %d", f, i)
			}
			b.WriteString(toString(args[n+1]))
			i += j
		default:
			b.WriteByte(f[i])
		}
	}
	return b.String(), nil
}
