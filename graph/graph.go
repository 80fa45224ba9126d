package graph

import (
	"strings"
	"sync"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/semconv"
)

var _ exporters.AccessLogObserver = (*Graph)(nil)

// Edge is one (source, target) pair of the graph with what was seen on it.
type Edge struct {
	// Source is the calling service and Target the called one.
	Source, Target string
	// Calls is the number of calls seen on the edge (access logs and cross-service spans).
	Calls int64
	// Errors is how many of them failed (5xx status or span status error).
	Errors int64
	// Logged counts the edge's access-log entries per status code; calls
	// seen only as spans are not in it.
	Logged StatusCounts
	// ClientLatency summarises the calls' durations as the caller saw them
	// (client and producer spans); ServerLatency as the callee saw them
	// (server and consumer spans). Access logs and spans of other kinds add
	// to neither.
	ClientLatency, ServerLatency Latency
}

// Graph is the mesh as meshobs knows it: services as nodes with their
// request tallies, and the calls between them as edges. It only grows:
// O(services + edges) memory, nothing is evicted, so counts stay exact
// however long it runs; past its edge limit new edges fold into one
// overflow edge. It is safe for concurrent use.
type Graph struct {
	mu        sync.Mutex
	nodes     []string
	nodeIdx   map[string]int // index in nodes
	edges     []*Edge
	edgeIdx   map[[2]string]*Edge
	logged    []*Edge // edges with access logs, in the order of their first one
	tallies   map[string]*ServiceTally
	tallyList []*ServiceTally
	maxEdge   int
	observer  CallObserver
}

// Option configures a Graph.
type Option func(*Graph)

// WithMaxEdges caps the distinct edges; calls on further edges are counted on
// the edge (OverflowService, OverflowService). Zero means no cap.
func WithMaxEdges(n int) Option { return func(g *Graph) { g.maxEdge = n } }

// New returns an empty Graph.
func New(opts ...Option) *Graph {
	g := &Graph{
		nodeIdx: make(map[string]int),
		edgeIdx: make(map[[2]string]*Edge),
		tallies: make(map[string]*ServiceTally),
	}
	for _, o := range opts {
		o(g)
	}
	return g
}

// ObserveAccessLog adds one access-log entry: its edge's source, then its
// target, then its reporting service become nodes; the edge gets one call
// and one access log, and the reporting service one request.
func (g *Graph) ObserveAccessLog(a exporters.AccessLog) {
	g.mu.Lock()
	defer g.mu.Unlock()
	failed := a.Status >= 500
	t := g.tallies[a.Service]
	if t == nil {
		if a.HasEdge() {
			g.addNode(a.Source)
			g.addNode(a.Target)
		}
		t = g.tallyLocked(g.addNode(a.Service))
	}
	t.Logged++
	t.count(a.Status, failed, a.Observed)
	if !a.HasEdge() {
		return
	}
	e := g.edgeIdx[[2]string{a.Source, a.Target}]
	if e == nil {
		e = g.edge(g.addNode(a.Source), g.addNode(a.Target))
	}
	e.count(failed)
	if len(e.Logged) == 0 {
		g.logged = append(g.logged, e)
	}
	e.Logged.add(a.Status)
	if g.observer != nil {
		g.observeLogged(e, &a, failed)
	}
}

// addNode adds a node unless it is there, and returns the graph's own copy
// of its name: the graph keeps none of the strings it is handed.
func (g *Graph) addNode(name string) string {
	if i, ok := g.nodeIdx[name]; ok {
		return g.nodes[i]
	}
	name = strings.Clone(name)
	g.nodeIdx[name] = len(g.nodes)
	g.nodes = append(g.nodes, name)
	return name
}

// edge returns the edge source -> target, both the graph's own names,
// creating it, or the overflow edge when the graph has its fill of edges.
func (g *Graph) edge(source, target string) *Edge {
	k := [2]string{source, target}
	e := g.edgeIdx[k]
	if e == nil && g.maxEdge > 0 && len(g.edges) >= g.maxEdge {
		k = [2]string{semconv.OverflowService, semconv.OverflowService}
		g.addNode(semconv.OverflowService)
		e = g.edgeIdx[k]
	}
	if e == nil {
		e = &Edge{Source: k[0], Target: k[1]}
		g.edgeIdx[k] = e
		g.edges = append(g.edges, e)
	}
	return e
}

func (e *Edge) count(failed bool) {
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
		out[i].Logged = append(StatusCounts(nil), e.Logged...)
		out[i].ClientLatency = e.ClientLatency.Clone()
		out[i].ServerLatency = e.ServerLatency.Clone()
	}
	return out
}
