package telemetry_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/telemetry"
)

// traceWorkload feeds p records and spans that make every connection type
// and both latency sides: records reported by the caller and by the callee,
// a client/server span pair that failed, a database call, a root span.
func traceWorkload(t *testing.T, p *telemetry.Pipeline) {
	t.Helper()
	ctx := context.Background()
	for _, r := range []telemetry.Request{
		{Service: "web", Target: "api", DurationMs: 12.5, Status: 200},               // client side
		{Service: "web", Target: "api", DurationMs: 700, Status: 503},                // client side
		{Service: "api", Source: "web", DurationMs: 3, Status: 200},                  // server side
		{Service: "api", Source: "web", Target: "api", DurationMs: 0.5, Status: 200}, // server side: api is the callee
		{Service: "api", Source: "api", DurationMs: 40, Status: 200},                 // server side self-call
		{Service: "mesh", Source: "web", Target: "api", DurationMs: 30, Status: 200}, // a third service: client side
		{Service: "batch", DurationMs: 1, Status: 200},                               // no edge
	} {
		if _, err := p.Record(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	start := func(r telemetry.SpanRequest) trace.SpanContext {
		t.Helper()
		sc, err := p.StartSpan(ctx, &r)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	root := start(telemetry.SpanRequest{Operation: "GET /checkout", Service: "web", Duration: 80 * time.Millisecond})
	client := start(telemetry.SpanRequest{Operation: "POST /pay", Service: "web", Kind: trace.SpanKindClient,
		TraceID: root.TraceID(), ParentSpanID: root.SpanID(), Duration: 60 * time.Millisecond})
	server := start(telemetry.SpanRequest{Operation: "POST /pay", Service: "payments", Status: 502,
		TraceID: root.TraceID(), ParentSpanID: client.SpanID(), Duration: 55 * time.Millisecond})
	start(telemetry.SpanRequest{Operation: "INSERT", Service: "payments", Kind: trace.SpanKindClient,
		TraceID: root.TraceID(), ParentSpanID: server.SpanID(), Duration: 2 * time.Millisecond,
		Attributes: []attribute.KeyValue{attribute.String("db.system", "postgresql")}})
}

// connectorRules are the servicegraph connector's span rules.
var connectorRules = telemetry.WithSpanGraph(graph.WithClientServer(true), graph.WithVirtualNodes(true), graph.WithUserNode(true))

type edgeKey struct{ client, server, typ string }

func edgeOf(s attribute.Set) edgeKey {
	c, _ := s.Value(telemetry.LabelClient)
	sv, _ := s.Value(telemetry.LabelServer)
	ct, _ := s.Value(telemetry.LabelConnectionType)
	return edgeKey{c.AsString(), sv.AsString(), ct.AsString()}
}

type spanKey struct{ service, name, kind, status string }

func spanOf(s attribute.Set) spanKey {
	v := func(k attribute.Key) string { x, _ := s.Value(k); return x.AsString() }
	return spanKey{v(telemetry.LabelService), v(telemetry.LabelSpanName), v(telemetry.LabelSpanKind), v(telemetry.LabelStatusCode)}
}

type histSummary struct {
	count  uint64
	sum    float64
	bounds []float64
	counts []uint64
}

func TestServiceGraphAndSpanMetrics(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	p := newPipeline(t, telemetry.WithClock(func() time.Time { return now }), connectorRules)
	traceWorkload(t, p)
	p.SpanGraph().Flush()

	rm, err := p.Metrics().Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]map[edgeKey]int64{}
	hists := map[string]map[edgeKey]histSummary{}
	spanCalls := map[spanKey]int64{}
	spanLatency := map[spanKey]histSummary{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
					t.Fatalf("%s: %+v", m.Name, d)
				}
				for _, dp := range d.DataPoints {
					if m.Name == telemetry.SpanMetricsCallsTotal {
						spanCalls[spanOf(dp.Attributes)] += dp.Value
						continue
					}
					if sums[m.Name] == nil {
						sums[m.Name] = map[edgeKey]int64{}
					}
					sums[m.Name][edgeOf(dp.Attributes)] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					h := histSummary{dp.Count, dp.Sum, dp.Bounds, dp.BucketCounts}
					if m.Name == telemetry.SpanMetricsLatency {
						spanLatency[spanOf(dp.Attributes)] = h
						continue
					}
					if hists[m.Name] == nil {
						hists[m.Name] = map[edgeKey]histSummary{}
					}
					hists[m.Name][edgeOf(dp.Attributes)] = h
				}
			}
		}
	}

	// Counts: exactly the graph's edges.
	wantTotal := map[edgeKey]int64{
		{"web", "api", ""}:                     5,
		{"api", "api", ""}:                     1,
		{"user", "web", "virtual_node"}:        1,
		{"web", "payments", ""}:                1,
		{"payments", "postgresql", "database"}: 1,
	}
	wantFailed := map[edgeKey]int64{
		{"web", "api", ""}:                     1,
		{"api", "api", ""}:                     0,
		{"user", "web", "virtual_node"}:        0,
		{"web", "payments", ""}:                1,
		{"payments", "postgresql", "database"}: 0,
	}
	if got := sums[telemetry.ServiceGraphRequestTotal]; !reflect.DeepEqual(got, wantTotal) {
		t.Errorf("%s = %v, want %v", telemetry.ServiceGraphRequestTotal, got, wantTotal)
	}
	if got := sums[telemetry.ServiceGraphRequestFailedTotal]; !reflect.DeepEqual(got, wantFailed) {
		t.Errorf("%s = %v, want %v", telemetry.ServiceGraphRequestFailedTotal, got, wantFailed)
	}
	graphCounts := map[[2]string]int64{}
	for _, e := range p.Graph().Edges() {
		graphCounts[[2]string{e.Source, e.Target}] = e.Calls
	}
	metricCounts := map[[2]string]int64{}
	for k, v := range sums[telemetry.ServiceGraphRequestTotal] {
		metricCounts[[2]string{k.client, k.server}] += v
	}
	if !reflect.DeepEqual(metricCounts, graphCounts) {
		t.Errorf("metric counts %v, graph %v", metricCounts, graphCounts)
	}

	// Latency: each side in seconds, in the explicit buckets.
	type side struct {
		count uint64
		sum   float64
	}
	wantClient := map[edgeKey]side{
		{"web", "api", ""}:                     {3, 0.0125 + 0.7 + 0.03},
		{"web", "payments", ""}:                {1, 0.060},
		{"payments", "postgresql", "database"}: {1, 0.002},
	}
	wantServer := map[edgeKey]side{
		{"web", "api", ""}:              {2, 0.003 + 0.0005},
		{"api", "api", ""}:              {1, 0.040},
		{"user", "web", "virtual_node"}: {1, 0.080},
		{"web", "payments", ""}:         {1, 0.055},
	}
	for name, want := range map[string]map[edgeKey]side{
		telemetry.ServiceGraphRequestClientSeconds: wantClient,
		telemetry.ServiceGraphRequestServerSeconds: wantServer,
	} {
		got := hists[name]
		if len(got) != len(want) {
			t.Errorf("%s: %d series %v, want %v", name, len(got), got, want)
		}
		for k, w := range want {
			h := got[k]
			if h.count != w.count || math.Abs(h.sum-w.sum) > 1e-9 || !slices.Equal(h.bounds, telemetry.LatencyBuckets) {
				t.Errorf("%s%v = %+v, want count %d sum %g", name, k, h, w.count, w.sum)
			}
		}
	}
	// 12.5 ms, 30 ms and 700 ms fall in (0.01, 0.025], (0.025, 0.05] and (0.5, 1].
	if h := hists[telemetry.ServiceGraphRequestClientSeconds][edgeKey{"web", "api", ""}]; h.counts[4] != 1 || h.counts[5] != 1 || h.counts[9] != 1 {
		t.Errorf("web->api client buckets %v over %v", h.counts, h.bounds)
	}

	// Span metrics: every span, by service, name, kind and status.
	wantSpans := map[spanKey]int64{
		{"web", "GET /checkout", "SPAN_KIND_SERVER", "STATUS_CODE_UNSET"}:  1,
		{"web", "POST /pay", "SPAN_KIND_CLIENT", "STATUS_CODE_UNSET"}:      1,
		{"payments", "POST /pay", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR"}: 1,
		{"payments", "INSERT", "SPAN_KIND_CLIENT", "STATUS_CODE_UNSET"}:    1,
	}
	if !reflect.DeepEqual(spanCalls, wantSpans) {
		t.Errorf("%s = %v, want %v", telemetry.SpanMetricsCallsTotal, spanCalls, wantSpans)
	}
	if h := spanLatency[spanKey{"payments", "POST /pay", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR"}]; h.count != 1 || math.Abs(h.sum-0.055) > 1e-9 || !slices.Equal(h.bounds, telemetry.LatencyBuckets) {
		t.Errorf("%s of the failed server span: %+v", telemetry.SpanMetricsLatency, h)
	}
}

// TestTraceMetricsPrometheusNames checks what the OTel Prometheus exporter
// makes of the instruments: the very names Grafana reads, classic buckets.
func TestTraceMetricsPrometheusNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, telemetry.WithMetricReader(exp), connectorRules)
	traceWorkload(t, p)
	p.SpanGraph().Flush()

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	for name, typ := range map[string]dto.MetricType{
		"traces_service_graph_request_total":          dto.MetricType_COUNTER,
		"traces_service_graph_request_failed_total":   dto.MetricType_COUNTER,
		"traces_service_graph_request_server_seconds": dto.MetricType_HISTOGRAM,
		"traces_service_graph_request_client_seconds": dto.MetricType_HISTOGRAM,
		"traces_spanmetrics_calls_total":              dto.MetricType_COUNTER,
		"traces_spanmetrics_latency":                  dto.MetricType_HISTOGRAM,
	} {
		f := byName[name]
		if f == nil {
			var names []string
			for n := range byName {
				names = append(names, n)
			}
			t.Fatalf("no family %s among %v", name, names)
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			want := []string{"client", "server"}
			if strings.HasPrefix(name, "traces_spanmetrics") {
				want = []string{"service", "span_name", "span_kind", "status_code"}
			}
			for _, k := range want {
				if labels[k] == "" {
					t.Errorf("%s series %v lacks %s", name, labels, k)
				}
			}
			if typ != dto.MetricType_HISTOGRAM {
				continue
			}
			var bounds []float64
			for _, b := range m.GetHistogram().GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
			if !slices.Equal(bounds, telemetry.LatencyBuckets) {
				t.Errorf("%s buckets %v, want %v", name, bounds, telemetry.LatencyBuckets)
			}
		}
	}
	// connection_type and the enum-style values come through as Grafana expects.
	var sawDatabase, sawError bool
	for _, m := range byName["traces_service_graph_request_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			sawDatabase = sawDatabase || l.GetName() == "connection_type" && l.GetValue() == "database"
		}
	}
	for _, m := range byName["traces_spanmetrics_calls_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			sawError = sawError || l.GetName() == "status_code" && l.GetValue() == "STATUS_CODE_ERROR"
		}
	}
	if !sawDatabase || !sawError {
		t.Errorf("connection_type=\"database\" seen %v, status_code=\"STATUS_CODE_ERROR\" seen %v", sawDatabase, sawError)
	}
}

// requestTotals sums traces_service_graph_request_total per attribute set,
// rendered as client->server (or "overflow").
func requestTotals(t *testing.T, p *telemetry.Pipeline) map[string]int64 {
	t.Helper()
	rm, err := p.Metrics().Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != telemetry.ServiceGraphRequestTotal {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				k := edgeOf(dp.Attributes)
				name := k.client + "->" + k.server
				if v, ok := dp.Attributes.Value("otel.metric.overflow"); ok && v.AsBool() {
					name = "overflow"
				}
				out[name] += dp.Value
			}
		}
	}
	return out
}

func TestServiceGraphMetricsPastTheSeriesLimit(t *testing.T) {
	p := newPipeline(t, telemetry.WithLimits(0, 0, 2))
	for _, target := range []string{"a", "b", "c", "d", "c", "a"} {
		if _, err := p.Record(context.Background(), &telemetry.Request{Service: "web", Target: target, DurationMs: 1, Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	// As the SDK does with a limit of 2, the first edge keeps its series and
	// the others count on the overflow series: the totals still add up to
	// the graph's.
	want := map[string]int64{"web->a": 2, "overflow": 4}
	if got := requestTotals(t, p); !reflect.DeepEqual(got, want) {
		t.Fatalf("request totals %v, want %v", got, want)
	}
}

// TestTraceMetricsConcurrentSafe records calls and spans from several
// goroutines while others collect; the totals end equal to the graph's.
func TestTraceMetricsConcurrentSafe(t *testing.T) {
	p := newPipeline(t)
	const writers, perWriter = 4, 300
	ctx := context.Background()
	done := make(chan struct{})
	var collectors sync.WaitGroup
	for range 2 {
		collectors.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
					if _, err := p.Metrics().Snapshot(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				target := fmt.Sprintf("svc%d", (w+i)%5)
				if _, err := p.Record(ctx, &telemetry.Request{Service: "web", Target: target, DurationMs: float64(i), Status: 200 + 300*(i%7/6)}); err != nil {
					t.Error(err)
					return
				}
				if _, err := p.StartSpan(ctx, &telemetry.SpanRequest{Operation: fmt.Sprintf("op%d", i%3), Service: target}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	collectors.Wait()

	got := requestTotals(t, p)
	want := map[string]int64{}
	for _, e := range p.Graph().Edges() {
		want[e.Source+"->"+e.Target] = e.Calls
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("request totals %v, graph %v", got, want)
	}
}
