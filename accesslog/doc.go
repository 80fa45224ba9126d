// Package accesslog recognises access logs in OTLP log records, as the
// access-log table of docs/protocol.md ("Receiving OTLP") describes: records sent
// by Envoy's OpenTelemetry access logger (envoy.access_loggers.open_telemetry,
// alone or configured by Istio's envoyOtelAls provider), records following
// the OpenTelemetry HTTP semantic conventions, and meshobs's own exported
// access logs (event meshobs.access_log), which round-trip exactly.
//
// # Keys
//
// Each field comes from the first of its keys that is present, a key being
// looked up in the record's attributes, then in the resource's:
//
//	status     http.response.status_code, response_code   (required)
//	source     meshobs.source, source_workload
//	target     meshobs.target, destination_workload, upstream_cluster, peer.service, server.address
//	duration   meshobs.duration_ms (ms), duration (ms), http.server.request.duration (s),
//	           http.client.request.duration (s)
//	method     http.request.method, method
//	path       url.path, path
//	protocol   network.protocol.name, protocol
//	service    the resource's service.name
//
// A value may be a string, an int or a double: Envoy's sink formats every
// command operator as a string ("200", "12"). A string that is empty or "-"
// (Envoy's placeholder for a missing value) counts as absent, so the next key
// is tried. Other keys are ignored.
//
// The status must be an integer 100..599 (an int, an integral double, or
// decimal digits); a record whose first status key holds anything else is not
// an access log, and neither is one whose first duration key is not a finite
// number >= 0. Without a duration key the duration is 0.
//
// # Body lines
//
// When neither the record's nor the resource's attributes carry a status, the
// record is an access log only if its body is a string holding one line in
// Envoy's default format or in Istio's default text format (the body of
// Istio's envoyOtelAls provider, and of the OpenTelemetry demo's Envoy). The
// line's response code, duration, method, path, protocol and (Istio format)
// upstream cluster then fill the keys response_code, duration, method, path,
// protocol and upstream_cluster, below any attribute of the same key: the
// record's other attributes (service.name on the resource, url.path, ...)
// still apply. A line whose response code is not 100..599 (Envoy writes 0
// when it sent no response, and for TCP) is not an access log.
//
// # The edge
//
// The reporting service is the resource's service.name. The record's
// direction is the first of these that applies:
//   - its target came from meshobs.target or peer.service: outbound (the
//     reporting service called the target);
//   - it has an upstream_cluster: inbound for inbound|... and
//     InboundPassthroughCluster, outbound for any other cluster;
//   - it carries http.client.request.duration: outbound;
//   - it carries http.server.request.duration: inbound (the reporting
//     service was called);
//   - else the direction is unknown.
//
// The upstream cluster outbound|PORT|SUBSET|HOST names HOST's first DNS label
// (outbound|9080||reviews.default.svc.cluster.local: reviews); so do its SNI
// form outbound_.PORT_.SUBSET_.HOST and a waypoint's inbound-vip|PORT|PROTO|HOST.
// An empty HOST or a malformed name gives no target, and the target keys
// after upstream_cluster are then not tried: the key is present.
// inbound|... and InboundPassthroughCluster name the reporting service. Any
// other cluster name is the target as it stands: BlackHoleCluster and
// PassthroughCluster are kept as named nodes (Istio's metrics and Kiali show
// them so), and a plain Envoy cluster is usually named after its service.
//
// Then:
//   - without service.name, the reporting service is the record's own end:
//     for an inbound record the target named by an attribute (an inbound
//     cluster names nobody), for any other record the source. It is empty
//     when that is unknown too (Istio's envoyOtelAls sends no resource
//     attributes); the caller chooses a fallback.
//   - an outbound record without a source key has the reporting service as
//     its source; an inbound record without a target has it as its target.
//   - with both ends known the entry has the edge source -> target; with only
//     one end known (an inbound record from a caller without a sidecar, a
//     record of unknown direction naming only one end) it has no edge, and is
//     still an entry of its service.
//
// meshobs's own records carry meshobs.source and meshobs.target exactly when
// the exporting node's entry had an edge, and service.name on the resource,
// so they come back with the same service, edge, status, duration, method,
// path, protocol, timestamp and trace context.
//
// # Timestamps and trace context
//
// The entry's timestamp is the record's timestamp (Envoy sets it to the
// request's start time), else the START_TIME of a parsed body line, else the
// observed timestamp. Trace and span id are the record's.
package accesslog
