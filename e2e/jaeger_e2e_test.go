package e2e_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/meshobs/meshobs/e2e/jaegertest"
)

// span is what we created, as meshobs's get_trace returns it.
type span struct {
	id, parent, service, operation string
}

// edgeKey is a (source, target) pair of services.
type edgeKey struct{ source, target string }

// TestJaegerExport runs meshobs with the jaeger exporter against a real
// Jaeger and checks, through Jaeger's own HTTP API, that every trace,
// service, parent link, metric and access log we produced arrived intact.
func TestJaegerExport(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("starts a real Jaeger")
	}
	// Start builds the binary or fails the test (never skips) when it
	// cannot: under CI the e2e test runs or fails.
	j := jaegertest.Start(t, jaegertest.Options{})
	runID := fmt.Sprintf("run-%d", time.Now().UnixNano())

	n := startNode(t, fmt.Sprintf(`shutdown_timeout: 10s
exporters:
  batch_delay: 200ms
  metric_interval: 1s
  jaeger:
    enabled: true
    endpoint: %s
    signals: [traces, metrics, logs] # this Jaeger has metrics and logs pipelines
`, j.OTLPGRPCEndpoint), "OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=e2e,meshobs.e2e.run="+runID)
	n.call(map[string]any{"type": "init", "node_id": "n1", "node_ids": []string{"n1"}})

	// --- Spans: two traces joined across services through trace_id, plus
	// a span of the default service.
	trace := func(fields map[string]any) (traceID, spanID string) {
		fields["type"] = "trace"
		r := n.call(fields)
		return r["trace_id"].(string), r["span_id"].(string)
	}
	checkout, root := trace(map[string]any{"service": "frontend", "operation": "GET /checkout", "duration_ms": 120,
		"attributes": map[string]any{"http.route": "/checkout", "http.request.method": "GET", "user.premium": true}})
	// Same service, child of the root: Jaeger counts it as a frontend ->
	// frontend dependency; meshobs's graph does not (not a call between services).
	trace(map[string]any{"service": "frontend", "operation": "render checkout", "kind": "internal",
		"trace_id": checkout, "parent_span_id": root, "duration_ms": 5})
	// No parent_span_id: becomes a child of the trace's root.
	_, cartSpan := trace(map[string]any{"service": "cart", "operation": "GET /cart", "trace_id": checkout, "duration_ms": 30})
	trace(map[string]any{"service": "redis", "operation": "HGETALL cart:42", "kind": "client",
		"trace_id": checkout, "parent_span_id": cartSpan, "duration_ms": 2, "attributes": map[string]any{"db.system.name": "redis"}})
	_, catalogSpan := trace(map[string]any{"service": "catalog", "operation": "GET /items", "trace_id": checkout,
		"parent_span_id": root, "duration_ms": 60, "status": 503})
	trace(map[string]any{"service": "postgres", "operation": "SELECT items", "trace_id": checkout,
		"parent_span_id": catalogSpan, "duration_ms": 40, "attributes": map[string]any{"db.system.name": "postgresql", "db.rows": 12}})
	home, _ := trace(map[string]any{"service": "frontend", "operation": "GET /home", "duration_ms": 20})
	trace(map[string]any{"service": "catalog", "operation": "GET /items", "trace_id": home, "duration_ms": 8})
	lone, _ := trace(map[string]any{"operation": "housekeeping", "kind": "internal"})
	traceIDs := []string{checkout, home, lone}

	// The graph so far is derived from spans only: it is what Jaeger's
	// /api/dependencies must show between different services.
	traceEdges := edges(t, n.call(map[string]any{"type": "generate"}))
	wantTraceEdges := map[edgeKey]int{
		{"frontend", "cart"}: 1, {"cart", "redis"}: 1, {"frontend", "catalog"}: 2, {"catalog", "postgres"}: 1,
	}
	if !maps.Equal(traceEdges, wantTraceEdges) {
		t.Fatalf("generate after spans = %v, want %v", traceEdges, wantTraceEdges)
	}
	ours := map[string][]span{}
	for _, id := range traceIDs {
		ours[id] = getTrace(t, n, id)
	}

	// --- Records (metrics and access logs).
	wantRecords := map[edgeKey]int{}
	records := 0
	record := func(fields map[string]any, e edgeKey) {
		fields["type"] = "record"
		n.call(fields)
		records++
		if e.source != "" {
			wantRecords[e]++
		}
	}
	for i := range 30 {
		record(map[string]any{"service": "frontend", "target_service": "catalog", "duration_ms": 10 + i, "status": []int{200, 200, 200, 200, 500}[i%5],
			"method": "GET", "path": "/items"}, edgeKey{"frontend", "catalog"})
	}
	for i := range 20 {
		record(map[string]any{"service": "frontend", "target": "cart", "duration_ms": 5 + i, "status": 200, "method": "GET", "path": "/cart"},
			edgeKey{"frontend", "cart"})
	}
	for range 10 { // reported by redis's sidecar: the source is the caller
		record(map[string]any{"service": "redis", "source_service": "cart", "duration_ms": 1, "status": 200, "protocol": "redis"},
			edgeKey{"cart", "redis"})
	}
	for i := range 15 {
		fields := map[string]any{"service": "catalog", "destination_service": "postgres", "duration_ms": 3 + i, "status": 200}
		if i == 0 { // correlated with the checkout trace
			fields["trace_id"], fields["span_id"] = checkout, catalogSpan
		}
		record(fields, edgeKey{"catalog", "postgres"})
	}
	record(map[string]any{"service": "frontend", "duration_ms": 1, "status": 200, "path": "/healthz"}, edgeKey{})
	all := edges(t, n.call(map[string]any{"type": "generate"}))
	for e, c := range wantRecords {
		if all[e] != c+wantTraceEdges[e] {
			t.Errorf("generate: %s -> %s request_count %d, want %d records + %d spans", e.source, e.target, all[e], c, wantTraceEdges[e])
		}
	}

	// stats carries the exporter's counts while it runs.
	stats := n.call(map[string]any{"type": "stats"})
	exports, _ := stats["exports"].([]any)
	accepted := map[string]float64{}
	for _, e := range exports {
		m := e.(map[string]any)
		if m["exporter"] == "jaeger" {
			accepted[m["signal"].(string)] = m["accepted"].(float64)
		}
	}
	if accepted["traces"] != 9 || accepted["logs"] != float64(records) {
		t.Errorf("stats exports %v: want jaeger traces 9 and logs %d accepted", exports, records)
	}

	// --- EOF: meshobs flushes every exporter and reports what it sent.
	stderr := n.close(30 * time.Second)
	t.Logf("meshobs stderr:\n%s", stderr)
	for _, want := range []string{
		fmt.Sprintf("meshobs: export: jaeger traces: %d accepted, %d exported, 0 dropped", 9, 9),
		fmt.Sprintf("meshobs: export: jaeger logs: %d accepted, %d exported, 0 dropped", records, records),
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if !strings.Contains(stderr, "meshobs: export: jaeger metrics:") || strings.Contains(stderr, "jaeger metrics: 0 accepted") {
		t.Errorf("stderr shows no metric export")
	}

	// --- /api/services: every span's service under its own name.
	services := j.WaitForServices(t, "frontend", "cart", "redis", "catalog", "postgres", "meshobs")
	t.Logf("services: %v", services)

	// --- /api/traces/{id}: every trace, with our spans, services and parents.
	for _, id := range traceIDs {
		want := ours[id]
		tr := j.WaitForTrace(t, id, func(tr *jaegertest.Trace) error {
			if len(tr.Spans) < len(want) {
				return fmt.Errorf("%d of %d spans", len(tr.Spans), len(want))
			}
			return nil
		})
		var got []span
		for _, s := range tr.Spans {
			got = append(got, span{s.SpanID, s.ParentSpanID(), s.ServiceName, s.OperationName})
		}
		sortSpans(got)
		sortSpans(want)
		if !slices.Equal(got, want) {
			t.Errorf("trace %s in Jaeger:\n%v\nwant (meshobs get_trace):\n%v", id, got, want)
		}
		for _, p := range tr.Processes {
			if tag(p.Tags, "deployment.environment.name") != "e2e" || tag(p.Tags, "meshobs.e2e.run") != runID {
				t.Errorf("process %s tags %v lack OTEL_RESOURCE_ATTRIBUTES", p.ServiceName, p.Tags)
			}
		}
		if id != checkout {
			continue
		}
		// Operation names, kinds, attributes and status survive the trip.
		checks := []struct {
			op, key string
			want    any
		}{
			{"GET /checkout", "http.route", "/checkout"},
			{"GET /checkout", "user.premium", true},
			{"GET /checkout", "span.kind", "server"},
			{"render checkout", "span.kind", "internal"},
			{"HGETALL cart:42", "span.kind", "client"},
			{"HGETALL cart:42", "db.system.name", "redis"},
			{"SELECT items", "db.rows", float64(12)},
			{"GET /items", "http.response.status_code", float64(503)},
			{"GET /items", "otel.status_code", "ERROR"},
			{"GET /items", "error", true},
		}
		for _, c := range checks {
			s, ok := tr.SpanByName(c.op)
			if !ok {
				t.Errorf("no span %q", c.op)
				continue
			}
			if v, _ := s.Tag(c.key); v != c.want {
				t.Errorf("span %q tag %s = %#v, want %#v", c.op, c.key, v, c.want)
			}
		}
		if s, _ := tr.SpanByName("GET /checkout"); s.Duration < 119_000 || s.Duration > 121_000 {
			t.Errorf("GET /checkout duration %dµs, want 120ms", s.Duration)
		}
	}

	// --- /api/dependencies: the cross-service links are exactly the edges
	// meshobs derived from the same spans. Jaeger also counts a parent and
	// child of the same service as a self-link (frontend -> frontend for
	// "render checkout"); meshobs's graph holds calls between services
	// only, so self-links are compared separately.
	var deps []jaegertest.DependencyLink
	jaegertest.Eventually(t, jaegertest.DefaultWait, func(ctx context.Context) error {
		var err error
		deps, err = j.Dependencies(ctx, time.Now().Add(time.Minute), time.Hour)
		if err != nil {
			return err
		}
		if cross, _ := splitDeps(deps); !maps.Equal(cross, traceEdges) {
			return fmt.Errorf("cross-service dependencies %v, want generate's %v", cross, traceEdges)
		}
		return nil
	})
	t.Logf("jaeger dependencies: %+v", deps)
	if _, self := splitDeps(deps); !maps.Equal(self, map[string]int{"frontend": 1}) {
		t.Errorf("self-links %v, want frontend -> frontend once (render checkout)", self)
	}

	// --- Prometheus: meshobs.requests per source/target equals the records.
	jaegertest.Eventually(t, jaegertest.DefaultWait, func(ctx context.Context) error {
		text, err := j.ScrapeMetrics(ctx)
		if err != nil {
			return err
		}
		got := map[edgeKey]int{}
		for _, s := range jaegertest.Samples(text, "meshobs_requests_total") {
			if s.Labels["meshobs_e2e_run"] != runID {
				continue
			}
			got[edgeKey{s.Labels["meshobs_source"], s.Labels["meshobs_target"]}] += int(s.Value)
		}
		want := maps.Clone(wantRecords)
		want[edgeKey{}] = 1 // the record without an edge
		if !maps.Equal(got, want) {
			return fmt.Errorf("meshobs_requests_total per source/target %v, want %v", got, want)
		}
		return nil
	})

	// --- Access logs reached the collector, one per record, each under its
	// reporting service, with trace context where the record had one.
	jaegertest.Eventually(t, jaegertest.DefaultWait, func(context.Context) error {
		perService := map[string]int{}
		for _, r := range j.Logs() {
			if r.EventName == "meshobs.access_log" && r.Resource["meshobs.e2e.run"] == runID {
				perService[r.ServiceName()]++
			}
		}
		want := map[string]int{"frontend": 51, "redis": 10, "catalog": 15}
		if !maps.Equal(perService, want) {
			return fmt.Errorf("access logs per service %v, want %v", perService, want)
		}
		return nil
	})
	lr := j.WaitForLog(t, func(r jaegertest.LogRecord) bool { return r.TraceID == checkout })
	if lr.SpanID != catalogSpan || lr.ServiceName() != "catalog" || lr.Attributes["meshobs.target"] != "postgres" {
		t.Errorf("correlated access log = %s", lr)
	}
}

// edges returns a service_graph reply's edges as counts.
func edges(t *testing.T, reply map[string]any) map[edgeKey]int {
	t.Helper()
	out := map[edgeKey]int{}
	for _, e := range reply["edges"].([]any) {
		m := e.(map[string]any)
		out[edgeKey{m["source"].(string), m["target"].(string)}] = int(m["request_count"].(float64))
	}
	return out
}

// getTrace asks meshobs for a trace's spans.
func getTrace(t *testing.T, n *node, id string) []span {
	t.Helper()
	r := n.call(map[string]any{"type": "get_trace", "trace_id": id})
	var out []span
	for _, s := range r["spans"].([]any) {
		m := s.(map[string]any)
		parent, _ := m["parent_span_id"].(string)
		out = append(out, span{m["span_id"].(string), parent, m["service"].(string), m["operation"].(string)})
	}
	return out
}

func sortSpans(s []span) { sort.Slice(s, func(i, j int) bool { return s[i].id < s[j].id }) }

// splitDeps separates Jaeger's links into cross-service edges and
// self-links (per service).
func splitDeps(deps []jaegertest.DependencyLink) (cross map[edgeKey]int, self map[string]int) {
	cross, self = map[edgeKey]int{}, map[string]int{}
	for _, d := range deps {
		if d.Parent == d.Child {
			self[d.Parent] += int(d.CallCount)
		} else {
			cross[edgeKey{d.Parent, d.Child}] += int(d.CallCount)
		}
	}
	return cross, self
}

func tag(kvs []jaegertest.KeyValue, key string) any {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// TestOTLPFromEnvironment: with `otlp: {enabled: true}` and nothing else,
// the standard variables choose endpoint and protocol (OTLP/HTTP to
// Jaeger's receiver here), and OTEL_SERVICE_NAME names spans that name no
// service.
func TestOTLPFromEnvironment(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("starts a real Jaeger")
	}
	j := jaegertest.Start(t, jaegertest.Options{})
	n := startNode(t, "exporters:\n  otlp:\n    enabled: true\n",
		"OTEL_EXPORTER_OTLP_ENDPOINT="+j.OTLPHTTPURL(), "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_SERVICE_NAME=edge-proxy")
	r := n.call(map[string]any{"type": "trace", "operation": "route /api"})
	id := r["trace_id"].(string)
	n.call(map[string]any{"type": "trace", "service": "api", "operation": "GET /api", "trace_id": id})
	stderr := n.close(30 * time.Second)
	if !strings.Contains(stderr, "meshobs: export: otlp traces: 2 accepted, 2 exported, 0 dropped") {
		t.Errorf("stderr:\n%s", stderr)
	}
	tr := j.WaitForTrace(t, id, func(tr *jaegertest.Trace) error {
		if len(tr.Spans) < 2 {
			return fmt.Errorf("%d spans", len(tr.Spans))
		}
		return nil
	})
	root, _ := tr.SpanByName("route /api")
	child, _ := tr.SpanByName("GET /api")
	if root.ServiceName != "edge-proxy" || child.ServiceName != "api" || child.ParentSpanID() != root.SpanID {
		t.Errorf("spans %+v", tr.Spans)
	}
	j.WaitForDependency(t, "edge-proxy", "api")
}
