package compat

// This file reads what a differing spec says, in its Go comments, about what
// a browser does.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Source reads the specs' Go files under a module's folder, to find what
// their comments say a browser does where it differs from the catalog. The
// specs write it so: a Chrome difference in a comment that starts with
// "Catalog" ("Catalog: \"found number\". Chrome 156: \"found integer\"."),
// a Firefox difference in a comment inside a branch on the engine
// (`if w.b.Engine() == Firefox {`) or one that starts with "Firefox".
// Files are parsed once. The zero Source has no folder and finds nothing.
type Source struct {
	root  string
	fset  *token.FileSet
	files map[string]*ast.File // by path relative to root; nil if unreadable
}

// NewSource returns a Source of the module in root (the folder that holds
// specs/).
func NewSource(root string) *Source {
	return &Source{root: root, fset: token.NewFileSet(), files: map[string]*ast.File{}}
}

// Notes returns the comments of the spec that say what the browser does:
// Firefox's when firefox is true, else Chrome's. They come from the spec's
// own function (for an Entry of a DescribeTable, the table's function) and
// the comment just above it. It returns none, and no error, when the spec's
// file is not under the Source's folder or has no such comment.
func (src *Source) Notes(s Spec, firefox bool) ([]string, error) {
	if src == nil || src.root == "" {
		return nil, nil
	}
	file, lineText, ok := strings.Cut(s.Location, ":")
	line, err := strconv.Atoi(lineText)
	if !ok || err != nil || !strings.HasPrefix(file, "specs/") {
		return nil, nil
	}
	f, err := src.parse(file)
	if f == nil {
		return nil, err
	}
	body, start := src.specBody(f, line)
	if body == nil {
		return nil, nil
	}
	var notes []string
	add := func(g *ast.CommentGroup) {
		text := strings.Join(strings.Fields(g.Text()), " ")
		if text != "" && !slices.Contains(notes, text) {
			notes = append(notes, text)
		}
	}
	for _, g := range f.Comments {
		last := src.fset.Position(g.End()).Line
		inBody := g.Pos() >= body.Pos() && g.End() <= body.End()
		above := last == start-1
		if !inBody && !above {
			continue
		}
		text := strings.TrimSpace(g.Text())
		switch {
		case firefox && strings.HasPrefix(text, "Firefox"):
			add(g)
		case firefox && inBody && src.inFirefoxBranch(body, g):
			add(g)
		case !firefox && strings.HasPrefix(text, "Catalog"):
			add(g)
		}
	}
	return notes, nil
}

// parse parses a spec file once.
func (src *Source) parse(file string) (*ast.File, error) {
	if f, seen := src.files[file]; seen {
		return f, nil
	}
	src.files[file] = nil
	data, err := os.ReadFile(filepath.Join(src.root, filepath.FromSlash(file)))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil // a report from another checkout
		}
		return nil, fmt.Errorf("reading the spec %s: %w", file, err)
	}
	f, err := parser.ParseFile(src.fset, file, data, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parsing the spec %s: %w", file, err)
	}
	src.files[file] = f
	return f, nil
}

// specBody finds the call of It (or Entry) on line, and returns the function
// it runs (for an Entry, its DescribeTable's) and the line the call starts
// on.
func (src *Source) specBody(f *ast.File, line int) (*ast.FuncLit, int) {
	var stack []ast.Node
	var body *ast.FuncLit
	start := 0
	ast.Inspect(f, func(n ast.Node) bool {
		if body != nil {
			return false
		}
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		stack = append(stack, n)
		call, ok := n.(*ast.CallExpr)
		if !ok || src.fset.Position(call.Pos()).Line != line {
			return true
		}
		switch name := callee(call); {
		case strings.HasSuffix(name, "It"):
			body = lastFunc(call)
		case strings.HasSuffix(name, "Entry"):
			for i := len(stack) - 2; i >= 0; i-- {
				if c, ok := stack[i].(*ast.CallExpr); ok && strings.HasSuffix(callee(c), "DescribeTable") {
					body = lastFunc(c)
					break
				}
			}
		default:
			return true
		}
		start = line
		return false
	})
	return body, start
}

// inFirefoxBranch reports whether the comment g is inside the body of an if
// whose condition names Firefox.
func (src *Source) inFirefoxBranch(body *ast.FuncLit, g *ast.CommentGroup) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if found {
			return false
		}
		st, ok := n.(*ast.IfStmt)
		if !ok {
			return true
		}
		if mentions(st.Cond, "Firefox") && g.Pos() >= st.Body.Pos() && g.End() <= st.Body.End() {
			found = true
		}
		return true
	})
	return found
}

// mentions reports whether expr uses the identifier name.
func mentions(expr ast.Expr, name string) bool {
	found := false
	ast.Inspect(expr, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// callee names the function a call calls: "It", "DescribeTable".
func callee(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		return fn.Sel.Name
	}
	return ""
}

// lastFunc returns the last function literal among a call's arguments.
func lastFunc(call *ast.CallExpr) *ast.FuncLit {
	for i := len(call.Args) - 1; i >= 0; i-- {
		if fl, ok := call.Args[i].(*ast.FuncLit); ok {
			return fl
		}
	}
	return nil
}

// AddNotes fills in the Notes of the table's differing specs from their
// source (Source.Notes), in the engine of their column: Firefox's in a
// Firefox column, Chrome's in any other. A spec whose report has DoesEntry
// entries keeps those alone.
func (t *Table) AddNotes(src *Source) error {
	for _, bh := range t.Behaviors {
		for ci, cell := range bh.Cells {
			for si, s := range cell.Specs {
				if Outcome(s) != Differs || len(s.Does) > 0 {
					continue
				}
				notes, err := src.Notes(s, t.Columns[ci].BCDBrowser == "firefox")
				if err != nil {
					return err
				}
				cell.Specs[si].Notes = notes
			}
		}
	}
	return nil
}
