// Package jaegertest runs a real Jaeger v2 (the jaeger v1.75.0 binary, an
// OpenTelemetry Collector distribution) for meshobs end-to-end tests.
//
// Start renders testdata/jaeger.yaml.tmpl with free loopback ports, starts
// the binary and waits until it is healthy. The instance accepts OTLP over
// gRPC and HTTP and keeps:
//
//   - traces in memory storage, readable through Jaeger's query HTTP API
//     (Services, Operations, Trace, FindTraces, Dependencies);
//   - metrics on a Prometheus exporter (ScrapeMetrics, Samples);
//   - log records, both printed by the debug exporter into the process
//     output (Output) and forwarded as OTLP/JSON to a sink in the test
//     process (Logs).
//
// Ingestion is asynchronous: use Eventually or the WaitFor* helpers rather
// than asserting right after an export.
//
// The binary comes from MESHOBS_JAEGER_BIN, else from the user cache
// directory, where tools/build.sh (run by test.sh) builds it once from the
// module in tools/jaeger; see package tooltest. Without it the tests that
// start Jaeger skip, or fail under CI.
package jaegertest
