// Package promtest checks meshobs's Prometheus metrics with a real
// Prometheus: a meshobs instance (meshobs.New with exporters.prometheus on a
// free loopback port) is fed a workload through its stdio node, Prometheus
// scrapes it, and its HTTP API must give back, edge for edge, what
// `generate` answers: request counts, error counts and the p95 latency
// within one bucket; every PromQL expression of the Grafana dashboard under
// deploy/grafana must parse and return data.
//
// The tests need the Prometheus binary (Debian's prometheus package), found
// and started by e2e/tooltest: MESHOBS_PROMETHEUS_BIN, else prometheus on
// PATH. Without it they fail under CI (env CI set) and are skipped
// elsewhere, naming the command that installs it (bash tools/build.sh,
// which runs apt-get install prometheus).
package promtest
