// Package exporters holds meshobs's in-memory OpenTelemetry exporters and the
// outbound ones built from configuration.
//
// The in-memory stores are ordinary OTel SDK components that any Go
// application can register in its own providers:
//
//   - [SpanStore] is a [sdktrace.SpanProcessor] and a [sdktrace.SpanExporter];
//     it keeps the newest spans in a bounded ring, indexed by trace.
//   - [LogStore] is a [sdklog.Processor] and a [sdklog.Exporter]; it keeps the
//     newest access-log records in a bounded ring, and tells an observer (the
//     service graph) of each, which keeps the exact aggregates.
//   - [MetricReader] is a [sdkmetric.Reader] that collects on demand.
//
// [ExpHistogram] merges the exponential histogram data points a reader
// collects, whatever their scales, and estimates quantiles from them within
// a stated relative error.
//
// The three stores are safe for concurrent use, copy what the SDK may
// reuse, keep their data after Shutdown (reads usually happen after a final
// flush) and return copies from their getters; package exporterstest checks
// all of that, for them and for any other implementation. An ExpHistogram
// is a plain value: not safe for concurrent use, guard it as any variable.
package exporters
