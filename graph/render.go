package graph

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// RenderEdge is an edge as the renderers draw it: its counts and its p95 latency.
type RenderEdge struct {
	Edge
	// P95Ms is the edge's 95th percentile latency in milliseconds.
	P95Ms float64
}

// errorColor marks edges with failed calls.
const errorColor = "#c0392b"

// label is an edge's label lines: requests, error %, p95.
func label(e *RenderEdge) []string {
	errPct := "0% err"
	if e.Calls > 0 && e.Errors > 0 {
		errPct = sig3(100*float64(e.Errors)/float64(e.Calls)) + "% err"
	}
	return []string{strconv.FormatInt(e.Calls, 10) + " req", errPct, "p95 " + duration(e.P95Ms)}
}

// duration formats milliseconds with three significant digits, in s or min when long.
func duration(ms float64) string {
	switch {
	case math.IsNaN(ms) || ms < 0:
		return "?"
	case ms >= 60_000:
		return sig3(ms/60_000) + " min"
	case ms >= 1000:
		return sig3(ms/1000) + " s"
	}
	return sig3(ms) + " ms"
}

// sig3 formats v >= 0 with three significant digits, without an exponent.
func sig3(v float64) string {
	if v == 0 {
		return "0"
	}
	decimals := max(0, 2-int(math.Floor(math.Log10(v))))
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// ids names the nodes n0, n1, ... in order, adding edge ends missing from
// nodes, so that no service name is ever used as a syntax element.
func ids(nodes []string, edges []RenderEdge) ([]string, map[string]string) {
	all := make([]string, 0, len(nodes))
	id := make(map[string]string, len(nodes))
	add := func(n string) {
		if _, ok := id[n]; !ok {
			id[n] = "n" + strconv.Itoa(len(id))
			all = append(all, n)
		}
	}
	for _, n := range nodes {
		add(n)
	}
	for _, e := range edges {
		add(e.Source)
		add(e.Target)
	}
	return all, id
}

// DOT renders the graph in Graphviz's DOT language, left to right, each
// edge labelled with its requests, error % and p95 latency; edges with
// errors are drawn red. Nodes get the ids n0, n1, ... and show the service
// name as their label, escaped so that any name (quotes, backslashes,
// newlines, unicode, invalid UTF-8) renders as itself.
func DOT(nodes []string, edges []RenderEdge) string {
	var b strings.Builder
	b.WriteString("digraph meshobs {\n")
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", color=\"#4a6fa5\", fontname=\"Helvetica\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10, color=\"#555555\"];\n")
	all, id := ids(nodes, edges)
	for _, n := range all {
		fmt.Fprintf(&b, "  %s [label=%s];\n", id[n], dotString(n))
	}
	for i := range edges {
		e := &edges[i]
		attrs := "label=" + dotString(strings.Join(label(e), "\n"))
		if e.Errors > 0 {
			attrs += fmt.Sprintf(", color=%q, fontcolor=%q", errorColor, errorColor)
		}
		fmt.Fprintf(&b, "  %s -> %s [%s];\n", id[e.Source], id[e.Target], attrs)
	}
	b.WriteString("}\n")
	return b.String()
}

// dotString quotes s as a DOT label (an escString): backslashes and quotes
// are escaped, a newline becomes a line break, other control characters a
// space, '&' an entity so that Graphviz does not read one in the name.
func dotString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '&':
			b.WriteString("&amp;")
		case unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Mermaid renders the graph as a Mermaid flowchart, left to right, each
// edge labelled with its requests, error % and p95 latency; edges with
// errors are drawn red. Nodes get the ids n0, n1, ... and show the service
// name as a quoted label in which every character Mermaid could read as
// syntax or markup is written as an entity code.
func Mermaid(nodes []string, edges []RenderEdge) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	all, id := ids(nodes, edges)
	for _, n := range all {
		fmt.Fprintf(&b, "  %s[%s]\n", id[n], mermaidString(n))
	}
	var red []string
	for i := range edges {
		e := &edges[i]
		fmt.Fprintf(&b, "  %s -->|%s| %s\n", id[e.Source], mermaidString(strings.Join(label(e), "\n")), id[e.Target])
		if e.Errors > 0 {
			red = append(red, strconv.Itoa(i))
		}
	}
	if len(red) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:%s,color:%s\n", strings.Join(red, ","), errorColor, errorColor)
	}
	return b.String()
}

// mermaidString quotes s as a Mermaid label: a newline becomes <br>, other
// control characters a space, and quotes, markup and syntax characters
// entity codes (#quot; #35; ...), which Mermaid decodes after parsing.
func mermaidString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n':
			b.WriteString("<br>")
		case unicode.IsControl(r):
			b.WriteByte(' ')
		case strings.ContainsRune("\"#&<>`|[]{}()\\;", r):
			fmt.Fprintf(&b, "#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
