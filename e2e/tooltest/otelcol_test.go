package tooltest_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/meshobs/meshobs/e2e/tooltest"
)

// TestOtelcolAcceptsTelemetrygen runs telemetrygen against the collector
// (otlp receiver -> nop exporter) and checks, from the collector's own
// metrics, that it accepted exactly the spans sent.
func TestOtelcolAcceptsTelemetrygen(t *testing.T) {
	grpcAddr := tooltest.Loopback(tooltest.FreePorts(t, 1)[0])
	c := tooltest.StartOtelcol(t, tooltest.OtelcolOptions{Config: fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  nop:
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [nop]
`, grpcAddr)})
	checkListeners(t, c.Process, grpcAddr, c.MetricsURL)
	if n, err := c.AcceptedSpans(t.Context()); err != nil || n != 0 {
		t.Fatalf("before any traffic: %v accepted spans, %v", n, err)
	}

	opts := tooltest.TelemetrygenOptions{Endpoint: grpcAddr, Traces: 5, ChildSpans: 3, Service: "tooltest-gen"}
	tooltest.RunTelemetrygen(t, opts)
	if got := c.WaitForAcceptedSpans(t, 30*time.Second, float64(opts.Spans())); got != 20 || opts.Spans() != 20 {
		t.Fatalf("accepted %v spans, want %d (= 5 traces x (3+1))", got, opts.Spans())
	}
}

// TestOtelcolLoadBalancingSpanMetrics chains two collectors: the first
// routes by trace id (load_balancing exporter, static resolver) to the
// second, whose span_metrics connector turns the spans into call counts that
// its debug exporter prints.
func TestOtelcolLoadBalancingSpanMetrics(t *testing.T) {
	ports := tooltest.FreePorts(t, 2)
	frontAddr, backAddr := tooltest.Loopback(ports[0]), tooltest.Loopback(ports[1])
	back := tooltest.StartOtelcol(t, tooltest.OtelcolOptions{Config: fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
connectors:
  spanmetrics:
    metrics_flush_interval: 200ms
exporters:
  nop:
  debug:
    verbosity: detailed
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [nop, spanmetrics]
    metrics:
      receivers: [spanmetrics]
      exporters: [debug]
`, backAddr)})
	front := tooltest.StartOtelcol(t, tooltest.OtelcolOptions{Config: fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  loadbalancing:
    routing_key: traceID
    protocol:
      otlp:
        tls:
          insecure: true
    resolver:
      static:
        hostnames: [%s]
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [loadbalancing]
`, frontAddr, backAddr)})
	checkListeners(t, front.Process, frontAddr, front.MetricsURL)

	opts := tooltest.TelemetrygenOptions{Endpoint: frontAddr, Traces: 4, ChildSpans: 1, Service: "lb-gen"}
	tooltest.RunTelemetrygen(t, opts)
	front.WaitForAcceptedSpans(t, 30*time.Second, float64(opts.Spans()))
	if got := back.WaitForAcceptedSpans(t, 30*time.Second, float64(opts.Spans())); got != float64(opts.Spans()) {
		t.Fatalf("back end accepted %v spans, want %d", got, opts.Spans())
	}
	// The connector's calls counter, per span name, printed by debug.
	tooltest.Eventually(t, 30*time.Second, func(context.Context) error {
		out := back.Output()
		for _, want := range []string{"traces.span.metrics.calls", "lb-gen", "lets-go", "okey-dokey-0"} {
			if !strings.Contains(out, want) {
				return fmt.Errorf("back end output lacks %q", want)
			}
		}
		return nil
	})
}

// TestOtelcolComponents checks the distribution has the components the
// tests use, under their current names and the deprecated aliases.
func TestOtelcolComponents(t *testing.T) {
	bin := tooltest.Binary(t, tooltest.Otelcol)
	out, err := exec.Command(bin, "components").CombinedOutput()
	if err != nil {
		t.Fatalf("otelcol components: %v\n%s", err, out)
	}
	for _, want := range []string{"otlp", "otlp_grpc", "nop", "debug", "load_balancing", "span_metrics", "v0.161.0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("otelcol components lacks %q:\n%s", want, out)
		}
	}
}

// TestOtelcolBadConfig checks that the collector rejects a config naming a
// component it does not have, and says which.
func TestOtelcolBadConfig(t *testing.T) {
	bin := tooltest.Binary(t, tooltest.Otelcol)
	out, err := exec.Command(bin, "validate", "--config=yaml:exporters::nosuch: {}").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown type: "nosuch"`) || !strings.Contains(string(out), "load_balancing") {
		t.Fatalf("validate of an unknown exporter: %v, want an error naming it and the valid types\n%s", err, out)
	}
}
