package graph_test

import (
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/codes"

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
	g.ObserveSpan(exporters.Span{Service: "db"}, exporters.Span{Service: "api"}, true)
	g.ObserveSpan(exporters.Span{Service: "db", Status: codes.Error}, exporters.Span{Service: "db"}, true) // same service: no call
	g.ObserveSpan(exporters.Span{Service: "queue"}, exporters.Span{}, false)

	wantNodes := []string{"gateway", "api", "worker", "db", "cache", "queue"}
	if got := g.Nodes(); !reflect.DeepEqual(got, wantNodes) {
		t.Fatalf("nodes %v, want %v", got, wantNodes)
	}
	wantEdges := []graph.Edge{
		{Source: "gateway", Target: "api", Calls: 1},
		{Source: "api", Target: "db", Calls: 3, Errors: 1},
		{Source: "api", Target: "cache", Calls: 1},
	}
	if got := g.Edges(); !reflect.DeepEqual(got, wantEdges) {
		t.Fatalf("edges %+v, want %+v", got, wantEdges)
	}
}
