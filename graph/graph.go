package graph

import (
	"sync"

	"go.opentelemetry.io/otel/codes"

	"github.com/meshobs/meshobs/exporters"
)

var (
	_ exporters.AccessLogObserver = (*Graph)(nil)
	_ exporters.SpanObserver      = (*Graph)(nil)
)

// Edge is one (source, target) pair of the graph with what was seen on it.
type Edge struct {
	Source, Target string
	// Calls is the number of calls seen on the edge (access logs and cross-service spans).
	Calls int64
	// Errors is how many of them failed (5xx status or span status error).
	Errors int64
}

// Graph is a service graph that only grows: O(services + edges) memory,
// nothing is evicted, so counts stay exact however long it runs.
// It is safe for concurrent use.
type Graph struct {
	mu      sync.Mutex
	nodes   []string
	nodeSet map[string]struct{}
	edges   []*Edge
	edgeIdx map[[2]string]*Edge
	// spanDurations holds the durations of the cross-service spans per edge (see latency.go).
	spanDurations map[[2]string]*exporters.ExpHistogram
}

// New returns an empty Graph.
func New() *Graph {
	return &Graph{nodeSet: make(map[string]struct{}), edgeIdx: make(map[[2]string]*Edge)}
}

// ObserveAccessLog adds one access-log entry: its edge's source, then its
// target, then its reporting service become nodes, and the edge gets one call.
func (g *Graph) ObserveAccessLog(a exporters.AccessLog) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a.HasEdge() {
		g.addNode(a.Source)
		g.addNode(a.Target)
		g.addNode(a.Service)
		g.addCall(a.Source, a.Target, a.Status >= 500)
		return
	}
	g.addNode(a.Service)
}

// ObserveSpan adds one span: its service becomes a node and, when its held
// parent belongs to another service, the edge parent -> span gets one call.
func (g *Graph) ObserveSpan(sp, parent exporters.Span, parentHeld bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if parentHeld && parent.Service != sp.Service {
		g.addNode(parent.Service)
		g.addNode(sp.Service)
		g.addCall(parent.Service, sp.Service, sp.Status == codes.Error)
		g.observeSpanDuration(parent.Service, sp.Service, sp.Duration())
		return
	}
	g.addNode(sp.Service)
}

func (g *Graph) addNode(name string) {
	if _, ok := g.nodeSet[name]; ok {
		return
	}
	g.nodeSet[name] = struct{}{}
	g.nodes = append(g.nodes, name)
}

func (g *Graph) addCall(source, target string, failed bool) {
	k := [2]string{source, target}
	e := g.edgeIdx[k]
	if e == nil {
		e = &Edge{Source: source, Target: target}
		g.edgeIdx[k] = e
		g.edges = append(g.edges, e)
	}
	e.Calls++
	if failed {
		e.Errors++
	}
}

// Nodes returns the services in first-seen order (never nil).
func (g *Graph) Nodes() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append(make([]string, 0, len(g.nodes)), g.nodes...)
}

// Edges returns copies of the edges in first-seen order (never nil).
func (g *Graph) Edges() []Edge {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Edge, len(g.edges))
	for i, e := range g.edges {
		out[i] = *e
	}
	return out
}
