package telemetry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/semconv"
)

// BenchmarkSDKHistogramRecord is one Record of the OTel SDK's explicit
// bucket histogram with a precomputed attribute set, as the span, graph and
// request metrics make it, by the size of the set (the span metrics' series
// have 4 attributes, the graph's 3, the request metrics' 2). Since SDK
// v1.45.0 every measurement's set is normalised for MAP values
// (attrnorm.SetDedup, open-telemetry/opentelemetry-go#8471), each attribute
// read through reflection, so a Record costs more with every attribute;
// the opt-out (#8479, #8709) is not released.
func BenchmarkSDKHistogramRecord(b *testing.B) {
	kvs := []attribute.KeyValue{LabelService.String("checkout"), LabelSpanName.String("GET /cart"),
		LabelSpanKind.String("SPAN_KIND_SERVER"), LabelStatusCode.String("STATUS_CODE_UNSET")}
	for n := range len(kvs) + 1 {
		b.Run(fmt.Sprintf("attributes=%d", n), func(b *testing.B) {
			mp := sdkmetric.NewMeterProvider(append(traceMetricViews(),
				sdkmetric.WithReader(sdkmetric.NewManualReader()), sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))...)
			h, err := mp.Meter(semconv.ScopeName).Float64Histogram(SpanMetricsLatency)
			if err != nil {
				b.Fatal(err)
			}
			opts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kvs[:n]...))}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				h.Record(ctx, 0.0123, opts...)
			}
		})
	}
}

// BenchmarkTraceMetrics is what the service-graph and span metrics add:
// per call the graph counts (one per record with an edge, one per span
// pair) and per span the span store ingests.
func BenchmarkTraceMetrics(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(append(traceMetricViews(), sdkmetric.WithReader(sdkmetric.NewManualReader()))...)
	g, s := newTraceMetrics(DefaultMaxSeries)
	if err := initTraceMetrics(mp.Meter(semconv.ScopeName), g, s); err != nil {
		b.Fatal(err)
	}
	b.Run("ObserveCall", func(b *testing.B) {
		c := graph.Call{Source: "payments", Target: "ledger", ClientLatency: 14 * time.Millisecond, HasClient: true}
		b.ReportAllocs()
		for b.Loop() {
			g.ObserveCall(c)
		}
	})
	b.Run("ObserveSpan", func(b *testing.B) {
		t0 := time.Now()
		sp := exporters.Span{Service: "accounts", Name: "cache.get", Kind: trace.SpanKindServer, Start: t0, End: t0.Add(19 * time.Millisecond)}
		b.ReportAllocs()
		for b.Loop() {
			s.ObserveSpan(&sp, nil)
		}
	})
}

// recordingObserver keeps a copy of every span a SpanStore hands its
// observers, with its parent when the store held it, the parent's
// attributes left out as the store may leave them.
type recordingObserver struct{ spans, parents []exporters.Span }

func (r *recordingObserver) ObserveSpan(sp, parent *exporters.Span) {
	var p exporters.Span
	if parent != nil {
		p = *parent
		p.Attributes = nil
	}
	r.spans = append(r.spans, *sp)
	r.parents = append(r.parents, p)
}

// BenchmarkTraceObservers is what the span store's observers cost per span
// of the OTLP mesh batches (BenchmarkConsumeTraces), without the store:
// Graph is the service graph (its two builders, the request tally and the
// service-graph metrics), SpanMetrics the span metrics, and
// Graph+SpanMetrics both, as a Pipeline wires them. The spans and parents
// are recorded once from a store, then replayed; every pass over them
// gives their traces new ids.
func BenchmarkTraceObservers(b *testing.B) {
	const distinct = 48
	td := meshBatch(b)
	rec := &recordingObserver{}
	store := exporters.NewSpanStore(exporters.WithSpanCapacity(16384), exporters.WithSpanObserver(rec))
	for i := range distinct {
		rekey(td, uint64(i+1))
		for _, rs := range td.ResourceSpans().All() {
			res := toResource(rs.Resource(), rs.SchemaUrl())
			for _, ss := range rs.ScopeSpans().All() {
				scope := toScope(ss.Scope(), ss.SchemaUrl())
				for _, s := range ss.Spans().All() {
					store.OnEnd(newReceivedSpan(b, s, res, scope))
				}
			}
		}
	}
	observers := func(b *testing.B) (router spanRouter, spans *spanMetrics) {
		mp := sdkmetric.NewMeterProvider(append(traceMetricViews(),
			sdkmetric.WithReader(sdkmetric.NewManualReader()),
			sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter),
			sdkmetric.WithCardinalityLimit(DefaultMaxSeries))...)
		calls, spans := newTraceMetrics(DefaultMaxSeries)
		if err := initTraceMetrics(mp.Meter(semconv.ScopeName), calls, spans); err != nil {
			b.Fatal(err)
		}
		g := graph.New(graph.WithMaxEdges(DefaultMaxEdges), graph.WithCallObserver(calls))
		return spanRouter{
			graph:    g,
			stdio:    graph.NewSpanBuilder(g, StdioSpanGraph...),
			received: graph.NewSpanBuilder(g, ReceivedSpanGraph...),
			now:      time.Now,
		}, spans
	}
	for _, bc := range []struct {
		name  string
		graph bool
		spans bool
	}{
		{"Graph", true, false},
		{"SpanMetrics", false, true},
		{"Graph+SpanMetrics", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			router, spans := observers(b)
			var obs spanObservers
			if bc.graph {
				obs = append(obs, router)
			}
			if bc.spans {
				obs = append(obs, spans)
			}
			b.ReportAllocs()
			defer perSpan(b, batchSpans)()
			next := 0
			for pass := byte(1); b.Loop(); {
				for i := next; i < next+batchSpans; i++ {
					sp := &rec.spans[i]
					var parent *exporters.Span
					if p := &rec.parents[i]; p.SpanID.IsValid() {
						parent = p
					}
					sp.TraceID[15] = pass
					if parent != nil {
						parent.TraceID[15] = pass
					}
					obs.ObserveSpan(sp, parent)
				}
				if next += batchSpans; next == len(rec.spans) {
					next = 0
					pass++
				}
			}
		})
	}
}
