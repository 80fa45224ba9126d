// Package graph is the service dependency graph: services as nodes in
// first-seen order, (source, target) edges in first-seen order with their
// call and error counts and client- and server-side latency, and the
// builders that fill it from telemetry.
//
// A [Graph] is fed by the in-memory exporters of package exporters:
//
//   - it implements exporters.AccessLogObserver itself: every access log
//     with an edge is one call;
//   - a [SpanBuilder] implements exporters.SpanObserver and turns spans into
//     calls the way Jaeger and the OpenTelemetry Collector's servicegraph
//     connector do.
//
// # Span rules
//
// A SpanBuilder counts a call for a pair of spans, parent and child, when
// one of its rules matches, and at most one call per pair, so the rules
// never count the same call twice:
//
//   - parent/child, Jaeger's rule ([WithParentChild]): the two spans belong
//     to different services, whatever their kinds;
//   - client/server ([WithClientServer]): a client span and its server child;
//   - messaging ([WithMessaging]): a producer span and its consumer child.
//
// And for a single span:
//
//   - virtual nodes ([WithVirtualNodes]): a client or producer span with no
//     callee is a call to the peer named by the first of its peer attributes
//     ([DefaultPeerAttributes]: peer.service, db.name, db.namespace,
//     db.system, messaging.destination.name, server.address); a database
//     client span at once, any other when its pairing TTL expires. A span
//     with none of them is not counted (SpanStats.Unnamed);
//   - user node ([WithUserNode]): a root server span is a call from [UserNode].
//
// A call fails when the child span, or a client or producer parent, has
// status Error. Its client latency is the client or producer span's
// duration, its server latency the server or consumer span's.
//
// Each call has a [ConnectionType], the servicegraph connector's
// connection_type: messaging_system for a producer/consumer call, database
// for a database client span's virtual node, virtual_node for any other
// virtual node and for calls from UserNode, none between two services.
//
// # Observing calls
//
// A [CallObserver] registered with [WithCallObserver] is told of every call
// the graph counts, access logs and span calls alike, with its connection
// type, whether it failed, and the client- and server-side latency when
// known (an access log's duration is the side that reported it, see
// exporters.Side). Metrics built from it add up to the graph's own counts:
// package telemetry turns them into the connector's service-graph metrics.
//
// [NewSpanBuilder]'s defaults are the connector's plus Jaeger's rule: every
// rule on, so spans of unset or internal kind that cross services still make
// a call. The stdio node (package telemetry) uses Jaeger's rule alone, as its
// protocol specifies, and turns the others on only when configured.
package graph
