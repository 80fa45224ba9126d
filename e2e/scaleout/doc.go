// Package scaleout proves the scale-out topology of deploy/scale-out end to
// end: an OpenTelemetry Collector (tools/otelcol: otlp receiver,
// loadbalancing exporter v0.161.0 routing by trace id over a static list)
// in front of three `meshobs serve` nodes, Prometheus scraping the three.
// A generator of ours sends traces with cross-service client/server,
// producer/consumer and database calls through the collector, and the same
// spans straight to a fourth, single meshobs node; the service-graph
// metrics summed over the three nodes must equal that single node's, edge
// for edge and count for count, latency buckets included.
//
// The test runs the checked-in configurations (deploy/scale-out/*.yaml,
// prometheus.yml) with only their addresses moved to free loopback ports
// and the scrape interval shortened. It needs the otelcol and prometheus
// binaries (e2e/tooltest finds them; bash tools/build.sh builds and
// installs them): without them it fails under CI and is skipped elsewhere.
package scaleout
