// Package otlptrace decodes OTLP trace export requests
// (opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest) from
// the protobuf wire format straight into the values the telemetry pipeline
// consumes: OTel attribute.KeyValue lists, ids as arrays, times as Unix
// nanoseconds.
//
// It exists for speed. The collector's pdata decodes the same bytes into
// its own object graph (about 28 allocations a span), which the pipeline
// then converts once more; a Request decodes in one pass, its strings
// alias the input buffer, and a Request that is decoded into again reuses
// its slices, so that a steady stream of requests allocates almost
// nothing. What it accepts, rejects and produces is pdata's: the decoding
// rules (wire types checked per known field, unknown fields skipped,
// repeated singular messages merged, oneof last-wins, the recursion limit,
// the deprecated instrumentation_library_spans field) follow
// go.opentelemetry.io/collector/pdata v1.71.0, and a differential fuzz
// test holds the two to the same answers. OTLP/JSON and the other signals
// are decoded by pdata.
package otlptrace
