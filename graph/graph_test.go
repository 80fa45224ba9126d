package graph_test

import (
	"reflect"
	"testing"

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
