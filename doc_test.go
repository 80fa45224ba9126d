package meshobs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
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

// docFiles are the Markdown files whose links TestDocLinks checks: the
// READMEs and everything under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md", filepath.Join("bench", "README.md")}, docs...)
}

var (
	fence      = regexp.MustCompile("(?ms)^[ \t]*```.*?^[ \t]*```[^\n]*$")
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	mdLink     = regexp.MustCompile(`!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`(?m)^\s*\[[^\]\n]+\]:\s+(\S+)`)
	htmlLink   = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	heading    = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+?)[ \t#]*$`)
	htmlAnchor = regexp.MustCompile(`<a (?:name|id)="([^"]+)"`)
)

// links returns the link targets of a Markdown text, outside code.
func links(md string) []string {
	md = fence.ReplaceAllString(md, "")
	md = inlineCode.ReplaceAllString(md, "")
	var out []string
	for _, re := range []*regexp.Regexp{mdLink, refLink, htmlLink} {
		for _, m := range re.FindAllStringSubmatch(md, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// anchors returns the #fragments a Markdown text's headings get, as GitHub
// makes them: lower case, punctuation dropped, spaces to hyphens, a
// repeated heading suffixed -1, -2, ...
func anchors(md string) map[string]bool {
	md = fence.ReplaceAllString(md, "")
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(md, -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		for i := 1; out[a]; i++ {
			a = fmt.Sprintf("%s-%d", b.String(), i)
		}
		out[a] = true
	}
	for _, m := range htmlAnchor.FindAllStringSubmatch(md, -1) {
		out[m[1]] = true
	}
	return out
}

// TestDocLinks: every relative link of README.md and docs/*.md names a file
// of the repository, and every #anchor a heading of its Markdown file.
func TestDocLinks(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range docFiles(t) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		found := links(string(data))
		if len(found) == 0 && doc == "README.md" {
			t.Errorf("README.md: no links found: the link parser is broken")
		}
		for _, target := range found {
			if u, err := url.Parse(target); err == nil && u.Scheme != "" {
				continue // http(s), mailto: not checked offline
			}
			path, frag, _ := strings.Cut(target, "#")
			file := doc
			if path != "" {
				file = filepath.Join(filepath.Dir(doc), filepath.FromSlash(path))
				abs, _ := filepath.Abs(file)
				if rel, err := filepath.Rel(root, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					t.Errorf("%s: link %q points outside the repository", doc, target)
					continue
				}
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s: link %q: %v", doc, target, err)
					continue
				}
			}
			if frag == "" {
				continue
			}
			if !strings.HasSuffix(file, ".md") {
				t.Errorf("%s: link %q: an anchor into a file that is not Markdown", doc, target)
				continue
			}
			md, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s: link %q: %v", doc, target, err)
				continue
			}
			if !anchors(string(md))[frag] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", doc, target, file, frag)
			}
		}
	}
}

func TestAnchorsAndLinks(t *testing.T) {
	md := "# meshobs\n## `meshobs serve`: receive OTLP\n## Quick start\n## Quick start\n" +
		"```\n# not a heading [x](nowhere.md)\n```\n" +
		"See [a](docs/a.md#x), ![pic](docs/p.svg), `[code](no.md)`, <img src=\"i.png\">.\n[ref]: https://example.com\n"
	got := anchors(md)
	for _, a := range []string{"meshobs", "meshobs-serve-receive-otlp", "quick-start", "quick-start-1"} {
		if !got[a] {
			t.Errorf("anchor %q missing from %v", a, got)
		}
	}
	if got["not-a-heading"] {
		t.Errorf("a comment in a code block made an anchor")
	}
	if l, want := links(md), []string{"docs/a.md#x", "docs/p.svg", "https://example.com", "i.png"}; !reflect.DeepEqual(l, want) {
		t.Errorf("links %q, want %q", l, want)
	}
}

// TestNoReferenceOutsideRepository: no tracked file points at the
// project's steering files, which are not part of the repository.
func TestNoReferenceOutsideRepository(t *testing.T) {
	files := trackedFiles(t)
	needles := []string{"../" + "shared", "PROTOCOL" + ".md"} // split so this file does not match itself
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // deleted in the work tree
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, n := range needles {
				if strings.Contains(line, n) {
					t.Errorf("%s:%d mentions %s, which is not in the repository: point at docs/protocol.md", f, i+1, n)
				}
			}
		}
	}
}

// trackedFiles lists the files git tracks, or, outside a git checkout,
// every file below the module root but .git.
func trackedFiles(t *testing.T) []string {
	t.Helper()
	if out, err := exec.Command("git", "ls-files", "-z").Output(); err == nil && len(out) > 0 {
		return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	}
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var snippet = regexp.MustCompile("(?s)<!-- snippet: (\\S+) -->\n```go\n(.*?)```")

// TestDocSnippets: a code block marked <!-- snippet: FILE --> is a verbatim
// part of FILE, a runnable example, so that go test compiles and runs what
// the documentation shows.
func TestDocSnippets(t *testing.T) {
	n := 0
	for _, doc := range docFiles(t) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range snippet.FindAllSubmatch(data, -1) {
			n++
			src, err := os.ReadFile(filepath.FromSlash(string(m[1])))
			if err != nil {
				t.Errorf("%s: snippet source: %v", doc, err)
				continue
			}
			if !strings.Contains(string(src), string(m[2])) {
				t.Errorf("%s: a snippet is not part of %s:\n%s", doc, m[1], m[2])
			}
		}
	}
	if n == 0 {
		t.Errorf("no snippets found: the marker or the pattern changed")
	}
}
