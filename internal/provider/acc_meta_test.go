package provider

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// Every resource.TestCase of this package sets CheckDestroy: a test added without it fails here
// rather than leaving leaks unnoticed.
func TestEveryTestCaseChecksDestroy(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	cases := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "TestCase" {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "resource" {
				return true
			}
			cases++
			for _, el := range lit.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "CheckDestroy" {
						if v, ok := kv.Value.(*ast.Ident); !ok || v.Name != "nil" {
							return true
						}
					}
				}
			}
			t.Errorf("%s: resource.TestCase without CheckDestroy (use env.checkDestroy)", fset.Position(lit.Pos()))
			return true
		})
	}
	if cases == 0 {
		t.Fatal("found no resource.TestCase: the scan is broken")
	}
}
