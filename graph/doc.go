// Package graph is the service dependency graph: services as nodes in
// first-seen order, (source, target) edges in first-seen order with their
// call and error counts, and renderers for it.
//
// A [Graph] is fed by the in-memory exporters: it implements
// exporters.AccessLogObserver (every access log with an edge is one call) and
// exporters.SpanObserver (a span whose parent belongs to another service is
// one call on the edge parent service -> child service, Jaeger's rule).
package graph
