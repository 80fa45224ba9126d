package telemetry

import (
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/semconv"
)

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
