package graph

import (
	"time"

	"github.com/meshobs/meshobs/exporters"
)

// Edges made of records get their latency from the request-duration metric
// the SDK aggregates; nothing aggregates the spans that make an edge, so the
// graph keeps a histogram of their durations per edge, the same base-2
// exponential kind, so that the two merge.

// observeSpanDuration adds one cross-service span's duration to its edge.
// It must be called with g.mu held.
func (g *Graph) observeSpanDuration(source, target string, d time.Duration) {
	if g.spanDurations == nil {
		g.spanDurations = make(map[[2]string]*exporters.ExpHistogram)
	}
	k := [2]string{source, target}
	h := g.spanDurations[k]
	if h == nil {
		h = new(exporters.ExpHistogram)
		g.spanDurations[k] = h
	}
	h.Add(float64(d) / float64(time.Millisecond))
}

// SpanDurations returns, per (source, target) edge, a copy of the histogram
// of the durations in milliseconds of the cross-service spans counted on it.
// Edges without such spans are absent.
func (g *Graph) SpanDurations() map[[2]string]*exporters.ExpHistogram {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[[2]string]*exporters.ExpHistogram, len(g.spanDurations))
	for k, h := range g.spanDurations {
		out[k] = h.Clone()
	}
	return out
}
