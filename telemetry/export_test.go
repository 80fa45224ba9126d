package telemetry

import (
	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
)

// The stores behind Query, for the tests of this package.

func (p *Pipeline) Logs() *exporters.LogStore        { return p.logs }
func (p *Pipeline) Spans() *exporters.SpanStore      { return p.spans }
func (p *Pipeline) Metrics() *exporters.MetricReader { return p.metrics }
func (p *Pipeline) Graph() *graph.Graph              { return p.graph }
func (p *Pipeline) SpanGraph() *graph.SpanBuilder    { return p.spanGraph.stdio }
