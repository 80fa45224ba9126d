package graph_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
)

func TestGraphFirstSeenOrderAndCounts(t *testing.T) {
	g := graph.New()
	if n, e := g.Nodes(), g.Edges(); n == nil || e == nil || len(n)+len(e) != 0 {
		t.Fatalf("empty graph: %#v %#v", n, e)
	}
	// Within one message: source, target, then the reporting service.
	g.ObserveAccessLog(exporters.AccessLog{Service: "api", Source: "gateway", Target: "api", Status: 200})
	g.ObserveAccessLog(exporters.AccessLog{Service: "worker", Status: 200})
	g.ObserveAccessLog(exporters.AccessLog{Service: "api", Source: "api", Target: "db", Status: 503})
	g.ObserveAccessLog(exporters.AccessLog{Service: "cache", Source: "api", Target: "cache", Status: 200})
	g.ObserveAccessLog(exporters.AccessLog{Service: "api", Source: "api", Target: "db", Status: 200})
	// A known edge reported by a third service (a mesh proxy, say): it
	// still becomes a node.
	g.ObserveAccessLog(exporters.AccessLog{Service: "proxy", Source: "gateway", Target: "api", Status: 200})
	g.AddCall(graph.Call{Source: "api", Target: "db"})
	g.AddNode("queue")

	wantNodes := []string{"gateway", "api", "worker", "db", "cache", "proxy", "queue"}
	if got := g.Nodes(); !reflect.DeepEqual(got, wantNodes) {
		t.Fatalf("nodes %v, want %v", got, wantNodes)
	}
	wantEdges := []graph.Edge{
		{Source: "gateway", Target: "api", Calls: 2},
		{Source: "api", Target: "db", Calls: 3, Errors: 1},
		{Source: "api", Target: "cache", Calls: 1},
	}
	got := g.Edges()
	if len(got) != len(wantEdges) {
		t.Fatalf("edges %+v, want %+v", got, wantEdges)
	}
	for i, e := range got {
		w := wantEdges[i]
		if e.Source != w.Source || e.Target != w.Target || e.Calls != w.Calls || e.Errors != w.Errors {
			t.Fatalf("edge %d: %+v, want %+v", i, e, w)
		}
	}
}

// TestGraphOwnsItsStrings feeds the graph names in a buffer overwritten
// after each call: its nodes, edges and tallies must keep their own copies.
func TestGraphOwnsItsStrings(t *testing.T) {
	g := graph.New()
	buf := make([]byte, 0, 64)
	str := func(s string) string {
		start := len(buf)
		buf = append(buf, s...)
		return unsafe.String(&buf[start], len(s))
	}
	clobber := func() {
		for i := range buf {
			buf[i] = '#'
		}
		buf = buf[:0]
	}
	at := time.Unix(1767312000, 0)
	g.ObserveAccessLog(exporters.AccessLog{Service: str("web"), Source: str("web"), Target: str("api"), Status: 200, Observed: at})
	clobber()
	g.CountRequest(str("api"), 200, false, at)
	clobber()
	g.CountRequest(str("worker"), 503, true, at)
	clobber()
	g.AddCall(graph.Call{Source: str("api"), Target: str("db"), Type: graph.ConnectionDatabase})
	clobber()
	g.AddNode(str("idle"))
	clobber()
	if got, want := fmt.Sprint(g.Nodes()), "[web api worker db idle]"; got != want {
		t.Errorf("nodes %s, want %s", got, want)
	}
	var edges, tallies string
	for _, e := range g.Edges() {
		edges += e.Source + "->" + e.Target + " "
	}
	for _, ta := range g.Tallies("", at) {
		tallies += fmt.Sprintf("%s:%d ", ta.Service, ta.Requests)
	}
	if want := "web->api api->db "; edges != want {
		t.Errorf("edges %q, want %q", edges, want)
	}
	if want := "web:1 api:1 worker:1 "; tallies != want {
		t.Errorf("tallies %q, want %q", tallies, want)
	}
	if got := g.Pairs(exporters.LogFilter{}); len(got) != 1 || got[0].Source != "web" || got[0].Target != "api" {
		t.Errorf("pairs %+v, want web->api", got)
	}
}
