package telemetry

import (
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/semconv"
)

// spanRouter is the span store's observer: it hands every captured span to
// the graph builder of its source. Spans a meshobs stdio node made (its
// instrumentation scope), here or on the node whose export this node
// receives, follow the stdio rules; every other span was received over
// OTLP and follows the received rules, and a SERVER or CONSUMER one is
// also one request of its service in the golden signals.
type spanRouter struct {
	graph           *graph.Graph
	stdio, received *graph.SpanBuilder
	now             func() time.Time
}

var _ exporters.SpanObserver = spanRouter{}

func fromStdio(sp *exporters.Span) bool { return sp.Scope == semconv.ScopeName }

// ObserveSpan routes one captured span.
func (r spanRouter) ObserveSpan(sp, parent *exporters.Span) {
	if fromStdio(sp) {
		r.stdio.ObserveSpan(sp, parent)
		return
	}
	r.received.ObserveSpan(sp, parent)
	if sp.Kind == trace.SpanKindServer || sp.Kind == trace.SpanKindConsumer {
		status := spanStatus(sp.Attributes)
		r.graph.CountRequest(sp.Service, status, spanFailed(sp.Status, status), r.now())
	}
}

// expire settles the pairing entries whose TTL has passed, in both builders.
func (r spanRouter) expire() {
	r.stdio.Expire()
	r.received.Expire()
}

// spanFailed is the golden-signal rule for a span: status Error, or an
// HTTP status >= 500.
func spanFailed(c codes.Code, status int) bool { return c == codes.Error || status >= 500 }
