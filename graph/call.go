package graph

import "time"

// Call is one call between two services, as a graph builder found it.
type Call struct {
	// Source is the calling service and Target the called one (maybe a virtual node).
	Source, Target string
	// Failed reports whether either side's span had status Error.
	Failed bool
	// ClientLatency is the duration of the caller's client or producer span.
	ClientLatency time.Duration
	// HasClient reports whether the call had such a span.
	HasClient bool
	// ServerLatency is the duration of the callee's server or consumer span.
	ServerLatency time.Duration
	// HasServer reports whether the call had such a span.
	HasServer bool
}

// AddNode adds a service to the graph unless it is already there.
func (g *Graph) AddNode(name string) {
	g.mu.Lock()
	g.addNode(name)
	g.mu.Unlock()
}

// AddCall counts one call: its source, then its target, become nodes, and
// its edge gets one call, one error if it failed, and its latencies.
func (g *Graph) AddCall(c Call) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addNode(c.Source)
	g.addNode(c.Target)
	e := g.addCall(c.Source, c.Target, c.Failed)
	if c.HasClient {
		e.ClientLatency.Record(c.ClientLatency)
	}
	if c.HasServer {
		e.ServerLatency.Record(c.ServerLatency)
	}
}
