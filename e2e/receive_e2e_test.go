package e2e_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/meshobs/meshobs/e2e/jaegertest"
	"github.com/meshobs/meshobs/e2e/tooltest"
)

var receivingLine = regexp.MustCompile(`receiving OTLP"? grpc=(\S+) http=(\S+)`)

// startReceivingNode runs meshobs as a stdio node with OTLP receivers on free
// ports beside it (and the extra config), and returns it with the
// receivers' gRPC and HTTP addresses.
func startReceivingNode(t *testing.T, extra string) (n *node, grpcAddr, httpAddr string) {
	t.Helper()
	n = startNode(t, "receivers:\n  otlp:\n    protocols:\n      grpc: {endpoint: 127.0.0.1:0}\n      http: {endpoint: 127.0.0.1:0}\n"+extra)
	tooltest.Eventually(t, 30*time.Second, func(context.Context) error {
		if m := receivingLine.FindStringSubmatch(n.stderr.String()); m != nil {
			grpcAddr, httpAddr = m[1], m[2]
			return nil
		}
		return fmt.Errorf("no receivers yet; stderr: %s", n.stderr.String())
	})
	return n, grpcAddr, httpAddr
}

// receiverCount returns a stats reply's receivers count for one transport and signal.
func receiverCount(stats map[string]any, transport, signal, field string) float64 {
	rs, _ := stats["receivers"].([]any)
	for _, r := range rs {
		m := r.(map[string]any)
		if m["transport"] == transport && m["signal"] == signal {
			v, _ := m[field].(float64)
			return v
		}
	}
	return -1
}

// TestTelemetrygenEverySpanCounted: telemetrygen, an external OTLP/gRPC load
// generator, sends traces; meshobs accepts and holds every span.
func TestTelemetrygenEverySpanCounted(t *testing.T) {
	n, grpcAddr, _ := startReceivingNode(t, "")
	opts := tooltest.TelemetrygenOptions{Endpoint: grpcAddr, Traces: 200, ChildSpans: 4, Service: "loadgen"}
	tooltest.RunTelemetrygen(t, opts)
	stats := n.call(map[string]any{"type": "stats"})
	want := float64(opts.Spans())
	if got := receiverCount(stats, "grpc", "traces", "accepted"); got != want {
		t.Fatalf("meshobs accepted %v spans, telemetrygen sent %v: %v", got, want, stats["receivers"])
	}
	if got := receiverCount(stats, "grpc", "traces", "refused"); got != 0 {
		t.Fatalf("refused %v spans", got)
	}
	n.close(10 * time.Second)
}

// TestHotROD: Jaeger's HotROD demo sends its traces through meshobs to a
// real Jaeger. meshobs's cross-service edges and counts equal Jaeger's
// dependencies for the same spans, and every trace is in Jaeger span for span.
func TestHotROD(t *testing.T) {
	j := jaegertest.Start(t, jaegertest.Options{})
	n, _, httpAddr := startReceivingNode(t, fmt.Sprintf(
		"exporters:\n  batch_delay: 200ms\n  jaeger:\n    enabled: true\n    endpoint: %s\n    protocol: grpc\n", j.OTLPGRPCEndpoint))
	h := tooltest.StartHotROD(t, tooltest.HotRODOptions{OTLPEndpoint: "http://" + httpAddr,
		Args: []string{"--fix-db-query-delay=10ms", "--fix-route-worker-pool-size=100"}})
	ctx := context.Background()
	// HotROD's simulated faults may fail a dispatch; its traces still count.
	ok := 0
	for range 3 {
		if _, err := h.Dispatch(ctx, 123); err != nil {
			t.Logf("dispatch: %v", err)
			continue
		}
		ok++
	}
	if ok == 0 {
		t.Fatal("no dispatch succeeded")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("meshobs stderr:\n%s", n.stderr.String())
		}
	})
	j.WaitForServices(t, tooltest.HotRODServices...)

	services := map[string]bool{}
	for _, s := range tooltest.HotRODServices {
		services[s] = true
	}
	// Both sides ingest asynchronously (HotROD batches, meshobs batches to
	// Jaeger): wait until they agree and stay so, or report the difference.
	var last string
	stable := 0
	tooltest.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		deps, err := j.Dependencies(ctx, time.Now(), time.Hour)
		if err != nil {
			return err
		}
		var fromJaeger []string
		for _, d := range deps {
			if d.Parent != d.Child {
				fromJaeger = append(fromJaeger, fmt.Sprintf("%s -> %s: %d", d.Parent, d.Child, d.CallCount))
			}
		}
		g := n.call(map[string]any{"type": "generate"})
		var fromMeshobs []string
		for _, e := range g["edges"].([]any) {
			m := e.(map[string]any)
			src, dst := m["source"].(string), m["target"].(string)
			if src != dst && services[src] && services[dst] {
				fromMeshobs = append(fromMeshobs, fmt.Sprintf("%s -> %s: %v", src, dst, m["request_count"]))
			}
		}
		sort.Strings(fromJaeger)
		sort.Strings(fromMeshobs)
		a, b := strings.Join(fromJaeger, ", "), strings.Join(fromMeshobs, ", ")
		if a != b || len(fromJaeger) < 5 {
			stable = 0
			return fmt.Errorf("Jaeger's dependencies [%s]\nmeshobs's edges      [%s]", a, b)
		}
		if a != last {
			last, stable = a, 0
		}
		if stable++; stable < 3 {
			return fmt.Errorf("agree on [%s]; waiting for it to hold", a)
		}
		return nil
	})
	t.Logf("meshobs and Jaeger agree: %s", last)

	traces, err := j.FindTraces(ctx, "frontend", url.Values{"limit": {"100"}, "lookback": {"1h"}})
	if err != nil || len(traces) == 0 {
		t.Fatalf("Jaeger's frontend traces: %d, %v", len(traces), err)
	}
	for _, tr := range traces {
		reply := n.call(map[string]any{"type": "get_trace", "trace_id": tr.TraceID})
		var inMeshobs, inJaeger []string
		// Ids, parents, services, names, start times and every attribute
		// meshobs holds (Jaeger adds tags of its own: span kind, status).
		for _, s := range reply["spans"].([]any) {
			m := s.(map[string]any)
			start, err := time.Parse(time.RFC3339Nano, m["start"].(string))
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range m["attributes"].(map[string]any) {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			inMeshobs = append(inMeshobs, fmt.Sprintf("%s %s %s parent=%s start=%d attrs=%v", m["span_id"], m["service"],
				m["operation"], m["parent_span_id"], start.UnixMicro(), keys))
		}
		for _, s := range tr.Spans {
			var keys []string
			for _, kv := range s.Tags {
				if k := kv.Key; !strings.HasPrefix(k, "otel.") && k != "span.kind" && k != "error" && k != "internal.span.format" {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			inJaeger = append(inJaeger, fmt.Sprintf("%s %s %s parent=%s start=%d attrs=%v", s.SpanID, s.ServiceName,
				s.OperationName, s.ParentSpanID(), s.StartTime, keys))
		}
		slices.Sort(inMeshobs)
		slices.Sort(inJaeger)
		if !slices.Equal(inMeshobs, inJaeger) {
			t.Fatalf("trace %s\nmeshobs: %v\nJaeger:  %v", tr.TraceID, inMeshobs, inJaeger)
		}
	}
	t.Logf("%d traces identical span for span", len(traces))
	n.close(15 * time.Second)
}
