package telemetry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/semconv"
	"github.com/meshobs/meshobs/telemetry"
)

func newPipeline(t *testing.T, opts ...telemetry.Option) *telemetry.Pipeline {
	t.Helper()
	p, err := telemetry.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

func TestRecordGoesThroughAllThreeSignals(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	p := newPipeline(t, telemetry.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	for i, r := range []telemetry.Request{
		{Service: "api", Target: "db", DurationMs: 3, Status: 200},
		{Service: "api", Target: "db", DurationMs: 5, Status: 200},
		{Service: "api", DurationMs: 1, Status: 503},
	} {
		n, err := p.Record(ctx, &r)
		if err != nil || n != int64(i+1) {
			t.Fatalf("record %d: count %d err %v", i, n, err)
		}
	}

	rm, err := p.Metrics().Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[attribute.Distinct]int64{}
	var histCount uint64
	var sawCounter bool
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if strings.HasPrefix(m.Name, "traces_") {
				continue // the service-graph metrics: tracemetrics_test.go
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name != semconv.RequestsName {
					t.Fatalf("counter name %q", m.Name)
				}
				sawCounter = true
				for _, dp := range d.DataPoints {
					counts[dp.Attributes.Equivalent()] += dp.Value
				}
			case metricdata.ExponentialHistogram[float64]:
				for _, dp := range d.DataPoints {
					histCount += dp.Count
				}
			default:
				t.Fatalf("unexpected metric %s of %T", m.Name, m.Data)
			}
		}
	}
	edge := attribute.NewSet(semconv.Service.String("api"), semconv.Source.String("api"),
		semconv.Target.String("db"), otelsemconv.HTTPResponseStatusCodeKey.Int(200))
	if !sawCounter || counts[edge.Equivalent()] != 2 || histCount != 3 {
		t.Fatalf("counter %v (edge series %d), histogram count %d", sawCounter, counts[edge.Equivalent()], histCount)
	}

	logs := p.Logs().Recent(exporters.LogFilter{}, 10)
	if len(logs) != 3 || logs[0].Service != "api" || logs[0].Target != "db" || !logs[0].Observed.Equal(now) {
		t.Fatalf("access logs %+v", logs)
	}
	if nodes := p.Graph().Nodes(); len(nodes) != 2 || nodes[0] != "api" || nodes[1] != "db" {
		t.Fatalf("graph nodes %v", nodes)
	}
}

func TestSpanJoinsAndEdges(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	p := newPipeline(t, telemetry.WithClock(func() time.Time { return t0 }), telemetry.WithDefaultService("edge"))
	ctx := context.Background()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")

	root, err := p.StartSpan(ctx, &telemetry.SpanRequest{Operation: "GET /", Service: "web", TraceID: tid, Duration: 10 * time.Millisecond})
	if err != nil || root.TraceID() != tid {
		t.Fatalf("root carries %v, err %v", root.TraceID(), err)
	}
	child, _ := p.StartSpan(ctx, &telemetry.SpanRequest{Operation: "SELECT", Service: "db", TraceID: tid, Status: 503, Kind: trace.SpanKindClient})
	grandchild, _ := p.StartSpan(ctx, &telemetry.SpanRequest{Operation: "fsync", Service: "db", TraceID: tid, ParentSpanID: child.SpanID()})
	lone, _ := p.StartSpan(ctx, &telemetry.SpanRequest{Operation: "tick"})

	spans, ok := p.Spans().Trace(tid)
	if !ok || len(spans) != 3 {
		t.Fatalf("trace holds %d spans", len(spans))
	}
	byID := map[trace.SpanID]int{}
	for i, s := range spans {
		byID[s.SpanID] = i
	}
	c := spans[byID[child.SpanID()]]
	if c.Parent != root.SpanID() || c.Status != codes.Error || c.Kind != trace.SpanKindClient || c.Service != "db" {
		t.Fatalf("child %+v", c)
	}
	if g := spans[byID[grandchild.SpanID()]]; g.Parent != child.SpanID() {
		t.Fatalf("grandchild parent %v", g.Parent)
	}
	r := spans[byID[root.SpanID()]]
	if r.Parent.IsValid() || !r.End.Equal(t0) || r.Start != t0.Add(-10*time.Millisecond) {
		t.Fatalf("root %+v", r)
	}
	if lone.TraceID() == tid {
		t.Fatal("a span without trace_id joined another trace")
	}
	if ls, _ := p.Spans().Trace(lone.TraceID()); ls[0].Service != "edge" {
		t.Fatalf("default service %q", ls[0].Service)
	}
	edges := p.Graph().Edges()
	if len(edges) != 1 || edges[0].Source != "web" || edges[0].Target != "db" || edges[0].Calls != 1 || edges[0].Errors != 1 {
		t.Fatalf("edges %+v", edges)
	}
}

func TestShutdownRejectsLaterRequests(t *testing.T) {
	p := newPipeline(t)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Record(context.Background(), &telemetry.Request{Service: "late", Status: 200}); err == nil {
		t.Fatal("Record after Shutdown succeeded")
	}
}

func TestLimitsFoldFloodsIntoOverflow(t *testing.T) {
	p := newPipeline(t, telemetry.WithLimits(3, 2, 5))
	ctx := context.Background()
	for i := range 50 {
		name := string(rune('a'+i%26)) + string(rune('a'+i/26))
		if _, err := p.Record(ctx, &telemetry.Request{Service: name, Target: name + "-db", DurationMs: 1, Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	nodes := p.Graph().Nodes()
	if len(nodes) != 4 || nodes[3] != telemetry.OverflowService {
		t.Fatalf("nodes %v: want 3 names and the overflow", nodes)
	}
	var calls int64
	edges := p.Graph().Edges()
	for _, e := range edges {
		calls += e.Calls
	}
	if len(edges) > 3 || calls != 50 {
		t.Fatalf("%d edges with %d calls: want at most 2 edges + overflow, 50 calls", len(edges), calls)
	}
	pairs := p.Graph().Pairs(exporters.LogFilter{})
	var total int64
	for _, pc := range pairs {
		total += pc.Count
	}
	if len(pairs) > 3 || total != 50 {
		t.Fatalf("pairs %+v", pairs)
	}
	if got := p.Graph().Logged(telemetry.OverflowService); got != 48 {
		t.Fatalf("overflow service counted %d requests, want 48", got)
	}
}
