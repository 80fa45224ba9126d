// Package jaegertest runs a real Jaeger v2 (the jaeger v1.76.0 binary, an
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
// The binary comes from MESHOBS_JAEGER_BIN, or is built once from the
// separate module in <repo>/tools (go build, several minutes on a cold
// build cache) into the user cache directory and reused afterwards. The
// first cold build can exceed go test's default 10m timeout on a small
// machine: pre-build with `go test -run XXX ./e2e/jaegertest` or pass
// -timeout 30m.
package jaegertest
