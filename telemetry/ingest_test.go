package telemetry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/telemetry"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// addSpan appends a span of service to td.
func addSpan(td ptrace.Traces, service string, tid [16]byte, id, parent [8]byte, kind ptrace.SpanKind, ms int, attrs map[string]any) {
	rs := td.ResourceSpans().AppendEmpty()
	if service != "" {
		rs.Resource().Attributes().PutStr("service.name", service)
	}
	rs.Resource().Attributes().PutStr("k8s.pod.name", service+"-0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("app-instrumentation")
	s := ss.Spans().AppendEmpty()
	s.SetName(service + " op")
	s.SetTraceID(pcommon.TraceID(tid))
	s.SetSpanID(pcommon.SpanID(id))
	s.SetParentSpanID(pcommon.SpanID(parent))
	s.SetKind(kind)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(ms) * time.Millisecond)))
	_ = s.Attributes().FromRaw(attrs)
}

// replier returns a function encoding a query's reply, failing t on its error.
func replier(t *testing.T) func(telemetry.Reply, error) string {
	return func(r telemetry.Reply, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return string(telemetry.AppendReply(nil, r))
	}
}

func TestConsumeTracesBuildsTheGraphAndSignals(t *testing.T) {
	p := newPipeline(t, telemetry.WithClock(func() time.Time { return t0 }))
	ctx, reply := context.Background(), replier(t)
	tid := [16]byte{1, 2, 3}
	td := ptrace.NewTraces()
	addSpan(td, "frontend", tid, [8]byte{1}, [8]byte{}, ptrace.SpanKindServer, 30, map[string]any{"http.response.status_code": 200})
	addSpan(td, "frontend", tid, [8]byte{2}, [8]byte{1}, ptrace.SpanKindClient, 20, nil)
	addSpan(td, "customer", tid, [8]byte{3}, [8]byte{2}, ptrace.SpanKindServer, 15, map[string]any{"http.response.status_code": 503})
	addSpan(td, "customer", tid, [8]byte{4}, [8]byte{3}, ptrace.SpanKindClient, 5, map[string]any{"db.system": "mysql", "nested": map[string]any{"a": 1}})
	addSpan(td, "", tid, [8]byte{5}, [8]byte{3}, ptrace.SpanKindServer, 5, nil)               // no service: refused
	addSpan(td, "customer", [16]byte{}, [8]byte{6}, [8]byte{}, ptrace.SpanKindServer, 5, nil) // no trace id: refused

	out, err := p.ConsumeTraces(ctx, td)
	if err != nil {
		t.Fatal(err)
	}
	if out.Rejected != 2 || !strings.Contains(out.Message, "service.name") {
		t.Fatalf("outcome %+v, want 2 rejected naming service.name first", out)
	}
	q := p.Query()
	g := reply(q.Graph(ctx, telemetry.GraphRequest{}))
	want := `{"type":"service_graph","nodes":["frontend","customer","mysql"],"edges":[{"source":"frontend","target":"customer","request_count":1},{"source":"customer","target":"mysql","request_count":1}]}`
	if g != want {
		t.Fatalf("graph\n got %s\nwant %s", g, want)
	}
	stats := reply(q.Stats(ctx, telemetry.StatsRequest{}))
	for _, w := range []string{`{"service":"frontend","request_count":1,"error_count":0`, `{"service":"customer","request_count":1,"error_count":1`, `"status_codes":{"503":1}`} {
		if !strings.Contains(stats, w) {
			t.Fatalf("stats %s lacks %s", stats, w)
		}
	}
	tr, err := q.Trace(ctx, trace.TraceID(tid))
	if err != nil || len(tr.Spans) != 4 {
		t.Fatalf("trace: %v, %+v", err, tr)
	}
	body := reply(tr, nil)
	if !strings.Contains(body, `"nested":{"a":1}`) || !strings.Contains(body, `"parent_span_id":"0200000000000000"`) {
		t.Fatalf("trace lost attributes or parents: %s", body)
	}
	if _, err := p.Query().Metrics(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConsumeLogsRecordsAccessLogs(t *testing.T) {
	p := newPipeline(t, telemetry.WithClock(func() time.Time { return t0 }))
	ctx, reply := context.Background(), replier(t)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "web")
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	r := recs.AppendEmpty()
	r.SetEventName("meshobs.access_log")
	r.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	_ = r.Attributes().FromRaw(map[string]any{"meshobs.source": "web", "meshobs.target": "api",
		"http.response.status_code": 502, "meshobs.duration_ms": 12.5})
	app := recs.AppendEmpty()
	app.Body().SetStr("an application log line, not an access log")

	if out, err := p.ConsumeLogs(ctx, ld); err != nil || out.Rejected != 0 {
		t.Fatalf("%+v %v", out, err)
	}
	got := reply(p.Query().AccessLogs(ctx, telemetry.LogRequest{Detail: true}))
	want := `{"type":"access_logs","logs":[{"source_service":"web","target_service":"api","count":1,"error_count":1,"latency_ms":{"p50":12.5,"p95":12.5,"p99":12.5,"max":12.5}}]}`
	if got != want {
		t.Fatalf("query\n got %s\nwant %s", got, want)
	}
	if logs, _ := p.Query().Retained(); logs != 1 {
		t.Fatalf("%d access logs retained, want 1", logs)
	}
}

func TestConsumeMetricsForwardsAndCountsNoRequests(t *testing.T) {
	var forwarded []metricdata.ResourceMetrics
	p := newPipeline(t, telemetry.WithMetricForwarder(func(_ context.Context, rm *metricdata.ResourceMetrics) error {
		forwarded = append(forwarded, *rm)
		return nil
	}))
	ctx, reply := context.Background(), replier(t)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "web")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := h.DataPoints().AppendEmpty()
	dp.SetCount(3)
	dp.SetSum(0.3)
	dp.ExplicitBounds().FromRaw([]float64{0.1, 1})
	dp.BucketCounts().FromRaw([]uint64{1, 2, 0})
	if _, err := p.ConsumeMetrics(ctx, md); err != nil {
		t.Fatal(err)
	}
	if len(forwarded) != 1 {
		t.Fatalf("forwarded %d resource metrics", len(forwarded))
	}
	got := forwarded[0].ScopeMetrics[0].Metrics[0].Data.(metricdata.Histogram[float64]).DataPoints[0]
	if got.Count != 3 || got.BucketCounts[1] != 2 {
		t.Fatalf("forwarded %+v", got)
	}
	if s := reply(p.Query().Stats(ctx, telemetry.StatsRequest{})); s != `{"type":"golden_signals","services":[]}` {
		t.Fatalf("metrics became requests: %s", s)
	}
}
