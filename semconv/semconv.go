// Package semconv names the instruments and attributes meshobs emits.
//
// It holds only the mesh-specific names, under the "meshobs." namespace as
// the conventions ask of custom names; the standard ones (service.name,
// http.response.status_code, http.request.method, url.path, peer.service,
// ...) come from OpenTelemetry's own semconv package
// (go.opentelemetry.io/otel/semconv/v1.37.0: the last release before
// peer.service was renamed service.peer.name, which meshes still send).
package semconv

import "go.opentelemetry.io/otel/attribute"

// Instrumentation scope of everything meshobs emits.
const ScopeName = "github.com/meshobs/meshobs"

// Instrument names and units.
const (
	// RequestsName is the Counter of requests reported with record.
	RequestsName = "meshobs.requests"
	// RequestsUnit is the unit of RequestsName.
	RequestsUnit = "{request}"
	// RequestDurationName is the Histogram (base-2 exponential) of request durations.
	RequestDurationName = "meshobs.request.duration"
	// RequestDurationUnit is the unit of RequestDurationName: milliseconds, as the protocol reports them.
	RequestDurationUnit = "ms"
)

// AccessLogEventName is the event name of every access-log record.
const AccessLogEventName = "meshobs.access_log"

// Attribute keys.
const (
	// Service is the reporting service on metric points (metrics share one resource).
	Service = attribute.Key("meshobs.service")
	// Source is the calling service of a request's edge.
	Source = attribute.Key("meshobs.source")
	// Target is the called service of a request's edge.
	Target = attribute.Key("meshobs.target")
	// DurationMs is the request duration in milliseconds on an access-log record.
	DurationMs = attribute.Key("meshobs.duration_ms")
	// Side says which end of an access log's edge reported it, "client" (the
	// caller) or "server" (the callee), on the records whose ends do not
	// tell (see exporters.SideOf): a self-call, or a third service's report.
	Side = attribute.Key("meshobs.side")
)

// OverflowService is the service name that stands for every name beyond the
// node's service limit, and both ends of the edge that stands for every edge
// beyond its edge limit.
const OverflowService = "meshobs.overflow"
