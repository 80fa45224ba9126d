package exporters_test

import (
	"context"
	"fmt"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/semconv"
)

// The three stores in an application's own providers, each registered the
// way an exporter is (WithSyncer, a simple log processor, WithReader), and a
// graph fed by the log store.
func Example() {
	ctx := context.Background()
	g := graph.New()
	spans := exporters.NewSpanStore(exporters.WithSpanObserver(graph.NewSpanBuilder(g)))
	logs := exporters.NewLogStore(exporters.WithAccessLogObserver(g))
	metrics := exporters.NewMetricReader()

	res := resource.NewSchemaless(otelsemconv.ServiceNameKey.String("checkout"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(spans))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(logs)))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(metrics))

	_, span := tp.Tracer("example").Start(ctx, "GET /cart", trace.WithSpanKind(trace.SpanKindServer))
	span.End()

	var rec otellog.Record // an access log as a sidecar would report it
	rec.SetEventName(semconv.AccessLogEventName)
	rec.AddAttributes(
		semconv.Source.String("checkout"),
		semconv.Target.String("payments"),
		otelsemconv.HTTPResponseStatusCodeKey.Int(503))
	lp.Logger("example").Emit(ctx, rec)

	requests, _ := mp.Meter("example").Int64Counter("requests")
	requests.Add(ctx, 3)

	_ = tp.Shutdown(ctx)
	_ = lp.Shutdown(ctx)
	_ = mp.Shutdown(ctx) // the reader keeps a last collection

	fmt.Println("spans held:", spans.Len())
	for _, p := range g.Pairs(exporters.LogFilter{}) {
		fmt.Printf("access logs %s -> %s: %d, %d failed\n", p.Source, p.Target, p.Count, p.ErrorCount)
	}
	rm, _ := metrics.Snapshot(ctx)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Printf("metric %s: %d\n", m.Name, m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
		}
	}
	for _, e := range g.Edges() {
		fmt.Printf("graph %s -> %s: %d calls, %d failed\n", e.Source, e.Target, e.Calls, e.Errors)
	}
	// Output:
	// spans held: 1
	// access logs checkout -> payments: 1, 1 failed
	// metric requests: 3
	// graph user -> checkout: 1 calls, 0 failed
	// graph checkout -> payments: 1 calls, 1 failed
}
