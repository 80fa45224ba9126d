package telemetry

import (
	"github.com/meshobs/meshobs/exporters"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Request is one validated request seen by a sidecar (the record message).
type Request struct {
	// Service is the reporting service; never empty.
	Service string
	// Source and Target are the optional peers as reported.
	Source, Target string
	// DurationMs is the request duration in milliseconds, finite and >= 0.
	DurationMs float64
	// Status is the HTTP status, 100..599.
	Status int
	// Method, Path and Protocol are kept on the access log.
	Method, Path, Protocol string
	// TraceID correlates the access log with a trace; zero when absent.
	TraceID trace.TraceID
	// SpanID correlates the access log with a span; zero when absent.
	SpanID trace.SpanID
	// Timestamp is when the request happened; zero means now.
	Timestamp time.Time
	// Side is which end of the edge reported the request, when the reporter
	// said (a received access log); SideUnknown: told by the request's shape.
	Side exporters.Side
}

// Edge returns the request's call edge: with a target, (source or else
// service) -> target; else with a source, source -> service; else none.
func (r *Request) Edge() (source, target string, ok bool) {
	switch {
	case r.Target != "":
		if r.Source != "" {
			return r.Source, r.Target, true
		}
		return r.Service, r.Target, true
	case r.Source != "":
		return r.Source, r.Service, true
	}
	return "", "", false
}

// SpanRequest is one validated span (the trace message).
type SpanRequest struct {
	// Operation is the span name; never empty.
	Operation string
	// Service owns the span; empty means the pipeline's default service.
	Service string
	// TraceID joins an existing trace when valid.
	TraceID trace.TraceID
	// ParentSpanID is the parent span when valid; it needs TraceID.
	ParentSpanID trace.SpanID
	// Kind is the span kind; unspecified means server.
	Kind trace.SpanKind
	// Duration is how long before now the span started.
	Duration time.Duration
	// Status is the HTTP status; 0 when not given. >= 500 marks the span as an error.
	Status int
	// Attributes are added to the span.
	Attributes []attribute.KeyValue
}
