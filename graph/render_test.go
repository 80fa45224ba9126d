package graph_test

import (
	"bytes"
	"encoding/xml"
	"html"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/meshobs/meshobs/graph"
)

// needDot returns the path of Graphviz's dot. Without it the test is
// skipped on a developer's machine but fails in CI (env CI set), where
// test.sh installs it.
func needDot(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Graphviz dot is not on the PATH; test.sh installs it (apt-get install graphviz)")
		}
		t.Skip("Graphviz dot is not on the PATH; ./test.sh installs it")
	}
	return path
}

// awkwardNames are service names that must render as themselves.
var awkwardNames = []string{
	`a"b`, `back\slash`, `trailing\`, "tab\tname", "ünïcødé 服务 🚀", "&amp; entity", "<html>",
	"{braces} [brackets] (parens)", " spaced  name ", "bad\xffutf8", "-> edge", "subgraph", "node",
	`\N\G\L`, "%% comment", "#35; hash", "pipe | bar", "`tick`", "semi;colon", "end", "graph",
}

func chain(names []string) []graph.RenderEdge {
	var edges []graph.RenderEdge
	for i := 1; i < len(names); i++ {
		edges = append(edges, graph.RenderEdge{
			Edge:  graph.Edge{Source: names[i-1], Target: names[i], Calls: int64(10 * i), Errors: int64(i % 3)},
			P95Ms: float64(i) * 12.34,
		})
	}
	return edges
}

// svgTexts returns the text of every <text> element of an SVG document,
// with the no-break spaces Graphviz writes for runs of spaces made plain.
func svgTexts(t *testing.T, svg []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	dec.Strict = false
	dec.Entity = xml.HTMLEntity
	var texts []string
	in := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("dot wrote invalid SVG: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			in = tk.Name.Local == "text"
			if in {
				texts = append(texts, "")
			}
		case xml.EndElement:
			in = false
		case xml.CharData:
			if in {
				texts[len(texts)-1] += strings.ReplaceAll(string(tk), "\u00a0", " ")
			}
		}
	}
	return texts
}

// TestDOTRendersWithGraphviz feeds the DOT output to the real Graphviz and
// checks that every service name comes out of the SVG as itself.
func TestDOTRendersWithGraphviz(t *testing.T) {
	dot := needDot(t)
	tests := []struct {
		name  string
		nodes []string
		edges []graph.RenderEdge
	}{
		{"empty", nil, nil},
		{"one service", []string{"api"}, nil},
		{"self call", []string{"api"}, []graph.RenderEdge{{Edge: graph.Edge{Source: "api", Target: "api", Calls: 3}, P95Ms: 0.42}}},
		{"awkward names", awkwardNames, chain(awkwardNames)},
		{"edge ends missing from nodes", []string{"a"}, []graph.RenderEdge{{Edge: graph.Edge{Source: "a", Target: "b", Calls: 1, Errors: 1}, P95Ms: 90_000}}},
		{"names with newlines", []string{"two\nlines", "crlf\r\nname"}, chain([]string{"two\nlines", "crlf\r\nname"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := graph.DOT(tt.nodes, tt.edges)
			cmd := exec.Command(dot, "-Tsvg")
			cmd.Stdin = strings.NewReader(src)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Fatalf("dot -Tsvg: %v\n%s\ninput:\n%s", err, stderr.String(), src)
			}
			texts := svgTexts(t, stdout.Bytes())
			have := map[string]bool{}
			for _, s := range texts {
				have[s] = true
			}
			for _, n := range tt.nodes {
				for _, line := range strings.Split(n, "\n") {
					want := strings.ReplaceAll(strings.ToValidUTF8(line, "\uFFFD"), "\t", " ")
					want = strings.ReplaceAll(want, "\r", " ")
					if strings.TrimSpace(want) != "" && !have[want] {
						t.Errorf("name line %q not in the SVG texts %q", want, texts)
					}
				}
			}
			for _, e := range tt.edges {
				if want := strconv.FormatInt(e.Calls, 10) + " req"; !have[want] {
					t.Errorf("edge %q -> %q: label line %q missing from %q", e.Source, e.Target, want, texts)
				}
			}
		})
	}
}

func TestEdgeLabels(t *testing.T) {
	tests := []struct {
		edge graph.RenderEdge
		want string
	}{
		{graph.RenderEdge{Edge: graph.Edge{Calls: 3, Errors: 1}, P95Ms: 830.2}, `3 req\n33.3% err\np95 830 ms`},
		{graph.RenderEdge{Edge: graph.Edge{Calls: 2}, P95Ms: 0.8}, `2 req\n0% err\np95 0.8 ms`},
		{graph.RenderEdge{Edge: graph.Edge{Calls: 20000, Errors: 1}, P95Ms: 0.01234}, `20000 req\n0.005% err\np95 0.0123 ms`},
		{graph.RenderEdge{Edge: graph.Edge{Calls: 1, Errors: 1}, P95Ms: 1500}, `1 req\n100% err\np95 1.5 s`},
		{graph.RenderEdge{Edge: graph.Edge{Calls: 1}, P95Ms: 150_000}, `1 req\n0% err\np95 2.5 min`},
		{graph.RenderEdge{Edge: graph.Edge{Calls: 1}, P95Ms: 0}, `1 req\n0% err\np95 0 ms`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			tt.edge.Source, tt.edge.Target = "a", "b"
			out := graph.DOT(nil, []graph.RenderEdge{tt.edge})
			if !strings.Contains(out, `[label="`+tt.want+`"`) {
				t.Errorf("DOT\n%s\nlacks label %q", out, tt.want)
			}
			mm := graph.Mermaid(nil, []graph.RenderEdge{tt.edge})
			if want := strings.ReplaceAll(tt.want, `\n`, "<br>"); !strings.Contains(mm, `|"`+want+`"|`) {
				t.Errorf("Mermaid\n%s\nlacks label %q", mm, want)
			}
		})
	}
}

var (
	mermaidNode = regexp.MustCompile(`^  (n\d+)\["([^"]*)"\]$`)
	mermaidEdge = regexp.MustCompile(`^  (n\d+) -->\|"([^"|]*)"\| (n\d+)$`)
	mermaidLink = regexp.MustCompile(`^  linkStyle [\d,]+ stroke:#[0-9a-f]{6},color:#[0-9a-f]{6}$`)
	entity      = regexp.MustCompile(`#(\d+);`)
)

// TestMermaidQuotesEveryName checks the Mermaid output line by line: every
// name sits in one quoted label without a character Mermaid reads as
// syntax, and decoding its entity codes gives the name back.
func TestMermaidQuotesEveryName(t *testing.T) {
	names := append([]string{"two\nlines"}, awkwardNames...)
	out := graph.Mermaid(names, chain(names))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "flowchart LR" {
		t.Fatalf("first line %q", lines[0])
	}
	var got []string
	edges := 0
	for _, l := range lines[1:] {
		if m := mermaidNode.FindStringSubmatch(l); m != nil {
			if strings.ContainsAny(strings.ReplaceAll(m[2], "<br>", ""), "\"`|[]{}()<>\\\t") {
				t.Errorf("label %q holds a syntax character", m[2])
			}
			name := strings.ReplaceAll(m[2], "<br>", "\n")
			name = entity.ReplaceAllStringFunc(name, func(e string) string {
				return html.UnescapeString("&#" + e[1:])
			})
			got = append(got, name)
			continue
		}
		if mermaidEdge.MatchString(l) {
			edges++
			continue
		}
		if !mermaidLink.MatchString(l) {
			t.Errorf("unexpected line %q", l)
		}
	}
	if edges != len(names)-1 {
		t.Errorf("%d edges, want %d", edges, len(names)-1)
	}
	if len(got) != len(names) {
		t.Fatalf("%d nodes, want %d", len(got), len(names))
	}
	for i, n := range names {
		want := strings.ReplaceAll(strings.ToValidUTF8(n, "\uFFFD"), "\t", " ")
		if got[i] != want {
			t.Errorf("node %d: %q, want %q", i, got[i], want)
		}
	}
}

func ExampleDOT() {
	edges := []graph.RenderEdge{
		{Edge: graph.Edge{Source: "frontend", Target: "catalog", Calls: 3, Errors: 1}, P95Ms: 830.2},
		{Edge: graph.Edge{Source: "catalog", Target: `pg "main"`, Calls: 2}, P95Ms: 6.3},
	}
	os.Stdout.WriteString(graph.DOT([]string{"frontend", "catalog", `pg "main"`}, edges))
	// Output:
	// digraph meshobs {
	//   rankdir=LR;
	//   node [shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#4a6fa5", fontname="Helvetica"];
	//   edge [fontname="Helvetica", fontsize=10, color="#555555"];
	//   n0 [label="frontend"];
	//   n1 [label="catalog"];
	//   n2 [label="pg \"main\""];
	//   n0 -> n1 [label="3 req\n33.3% err\np95 830 ms", color="#c0392b", fontcolor="#c0392b"];
	//   n1 -> n2 [label="2 req\n0% err\np95 6.3 ms"];
	// }
}

func ExampleMermaid() {
	edges := []graph.RenderEdge{
		{Edge: graph.Edge{Source: "frontend", Target: "catalog", Calls: 3, Errors: 1}, P95Ms: 830.2},
		{Edge: graph.Edge{Source: "catalog", Target: `pg "main"`, Calls: 2}, P95Ms: 6.3},
	}
	os.Stdout.WriteString(graph.Mermaid([]string{"frontend", "catalog", `pg "main"`}, edges))
	// Output:
	// flowchart LR
	//   n0["frontend"]
	//   n1["catalog"]
	//   n2["pg #34;main#34;"]
	//   n0 -->|"3 req<br>33.3% err<br>p95 830 ms"| n1
	//   n1 -->|"2 req<br>0% err<br>p95 6.3 ms"| n2
	//   linkStyle 0 stroke:#c0392b,color:#c0392b
}
