package graph

import (
	"time"

	"github.com/meshobs/meshobs/exporters"
)

// ConnectionType says what kind of peer a call reached, with the values of
// the OpenTelemetry Collector's servicegraph connector (and Tempo's
// metrics-generator) for their connection_type label.
type ConnectionType string

// The connection types. A call between two instrumented services has none.
const (
	// ConnectionDirect is a call between two services that both reported it
	// or, for an access log, a call on a service-to-service edge.
	ConnectionDirect ConnectionType = ""
	// ConnectionDatabase is a client span's call to a database (a virtual node
	// named by its db.* attributes).
	ConnectionDatabase ConnectionType = "database"
	// ConnectionMessaging is a call through a messaging system: a producer
	// span and its consumer.
	ConnectionMessaging ConnectionType = "messaging_system"
	// ConnectionVirtualNode is a call to or from a peer that sent no spans of
	// its own: a client or producer span's uninstrumented callee, or UserNode.
	ConnectionVirtualNode ConnectionType = "virtual_node"
)

// Call is one call between two services, as a graph builder found it.
type Call struct {
	// Source is the calling service and Target the called one (maybe a virtual node).
	Source, Target string
	// Type is what kind of peer the call reached.
	Type ConnectionType
	// Failed reports whether either side's span had status Error (for an
	// access log: a 5xx status).
	Failed bool
	// ClientLatency is the duration of the caller's client or producer span
	// (for an access log: its duration, when the caller reported it).
	ClientLatency time.Duration
	// HasClient reports whether the call had such a span.
	HasClient bool
	// ServerLatency is the duration of the callee's server or consumer span
	// (for an access log: its duration, when the callee reported it).
	ServerLatency time.Duration
	// HasServer reports whether the call had such a span.
	HasServer bool
}

// CallObserver is told of every call a Graph counts, access logs and span
// calls alike, exactly once per call: what it sees adds up to the graph's
// edge counts. A call past the edge limit arrives with the overflow edge's
// ends. ObserveCall is made with the graph's lock held, so calls arrive one
// at a time in counting order; it must return quickly and must not call
// back into the graph.
type CallObserver interface {
	ObserveCall(Call)
}

// WithCallObserver registers o to be told of every counted call.
func WithCallObserver(o CallObserver) Option { return func(g *Graph) { g.observer = o } }

// AddNode adds a service to the graph unless it is already there.
func (g *Graph) AddNode(name string) {
	g.mu.Lock()
	g.addNode(name)
	g.mu.Unlock()
}

// AddCall counts one call: its source, then its target, become nodes, and
// its edge gets one call, one error if it failed, and its latencies.
func (g *Graph) AddCall(c Call) {
	var e *Edge
	g.addCallVia(&e, c)
}

// addCallVia is AddCall with the edge of (c.Source, c.Target) cached in *e
// by a caller that makes many calls: when *e is nil it is resolved as
// AddCall does (its nodes added) and stored in *e; else the call is counted
// on *e with no lookup. The graph only grows, so an edge once resolved
// stays the one that the call's ends resolve to, the overflow edge
// included.
func (g *Graph) addCallVia(e **Edge, c Call) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if *e == nil {
		source := g.addNode(c.Source)
		*e = g.edge(source, g.addNode(c.Target))
	}
	edge := *e
	edge.count(c.Failed)
	if c.HasClient {
		edge.ClientLatency.Record(c.ClientLatency)
	}
	if c.HasServer {
		edge.ServerLatency.Record(c.ServerLatency)
	}
	if g.observer != nil {
		c.Source, c.Target = edge.Source, edge.Target
		g.observer.ObserveCall(c)
	}
}

// observeLogged tells the observer of the call an access log counted on e;
// g.mu must be held.
func (g *Graph) observeLogged(e *Edge, a *exporters.AccessLog, failed bool) {
	c := Call{Source: e.Source, Target: e.Target, Failed: failed}
	d := time.Duration(a.DurationMs * float64(time.Millisecond))
	switch a.Side {
	case exporters.SideClient:
		c.ClientLatency, c.HasClient = d, true
	case exporters.SideServer:
		c.ServerLatency, c.HasServer = d, true
	}
	g.observer.ObserveCall(c)
}
