package meshobs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// publicAPI are the packages an embedder uses: every exported name in them
// carries a doc comment, and each has package docs.
var publicAPI = []string{".", "exporters", "exporters/outbound", "graph", "node", "semconv", "telemetry"}

func TestPublicAPIDocumented(t *testing.T) {
	for _, dir := range publicAPI {
		fset := token.NewFileSet()
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		hasPkgDoc := false
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc != nil {
				hasPkgDoc = true
			}
			for _, name := range undocumented(f) {
				t.Errorf("%s: exported %s has no doc comment", path, name)
			}
		}
		if !hasPkgDoc {
			t.Errorf("package %s has no package doc", dir)
		}
	}
}

func undocumented(f *ast.File) []string {
	var out []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() || d.Doc != nil {
				continue
			}
			if d.Recv != nil && !exportedRecv(d.Recv.List[0].Type) {
				continue
			}
			out = append(out, d.Name.Name)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					if s.Doc == nil && d.Doc == nil {
						out = append(out, s.Name.Name)
					}
					if st, ok := s.Type.(*ast.StructType); ok {
						for _, fld := range st.Fields.List {
							if len(fld.Names) > 0 && fld.Names[0].IsExported() && fld.Doc == nil && fld.Comment == nil {
								out = append(out, s.Name.Name+"."+fld.Names[0].Name)
							}
						}
					}
				case *ast.ValueSpec:
					if s.Names[0].IsExported() && s.Doc == nil && d.Doc == nil && s.Comment == nil {
						out = append(out, s.Names[0].Name)
					}
				}
			}
		}
	}
	return out
}

func exportedRecv(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.Ident:
			return x.IsExported()
		default:
			return false
		}
	}
}
