// Package semconv names the instruments and attributes meshobs emits.
//
// Names follow the OpenTelemetry semantic conventions where one fits
// (http.response.status_code, http.request.method, url.path); the mesh-specific
// ones live under the "meshobs." namespace, as the conventions ask of custom names.
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
	// ServiceName is the resource attribute naming the service a signal belongs to.
	ServiceName = attribute.Key("service.name")
	// Service is the reporting service on metric points (metrics share one resource).
	Service = attribute.Key("meshobs.service")
	// Source is the calling service of a request's edge.
	Source = attribute.Key("meshobs.source")
	// Target is the called service of a request's edge.
	Target = attribute.Key("meshobs.target")
	// StatusCode is the HTTP response status code.
	StatusCode = attribute.Key("http.response.status_code")
	// Method is the HTTP request method.
	Method = attribute.Key("http.request.method")
	// Path is the URL path of the request.
	Path = attribute.Key("url.path")
	// Protocol is the protocol of the request as reported (e.g. "http", "grpc").
	Protocol = attribute.Key("network.protocol.name")
	// DurationMs is the request duration in milliseconds on an access-log record.
	DurationMs = attribute.Key("meshobs.duration_ms")
	// Side says which end of an access log's edge reported it, "client" (the
	// caller) or "server" (the callee), on the records whose ends do not
	// tell (see exporters.SideOf): a self-call, or a third service's report.
	Side = attribute.Key("meshobs.side")
	// PeerService names the remote service of a client span (used by the graph).
	PeerService = attribute.Key("peer.service")
)

// OverflowService is the service name that stands for every name beyond the
// node's service limit, and both ends of the edge that stands for every edge
// beyond its edge limit.
const OverflowService = "meshobs.overflow"
