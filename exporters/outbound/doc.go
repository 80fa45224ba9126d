// Package outbound builds the exporters that send meshobs's telemetry out of
// the process: OTLP (gRPC or HTTP/protobuf) to any collector, the same to
// Jaeger's OTLP receiver, a pretty-printed copy on stderr, and a Prometheus
// scrape endpoint.
//
// New turns a Config (the `exporters:` section of config.yaml) into a Set of
// span processors, log processors and metric readers, which the caller
// registers with its providers and shuts down. An exporter is on only when
// its Enabled is true; one configured but not enabled is warned about
// (Config.Warnings). Batching and push intervals the Config leaves unset come
// from the standard OTEL_BSP_*, OTEL_BLRP_* and OTEL_METRIC_EXPORT_*
// variables.
//
// Spans and log records pass through bounded, non-blocking batch queues;
// metrics through periodic readers. Every exporter and signal is counted
// (accepted, exported, failed), so data lost to a full queue or an
// unreachable endpoint is visible through Stats and Report rather than
// silently gone, and every failed export's error names its exporter and
// signal, in one line (ErrorHandler).
package outbound
