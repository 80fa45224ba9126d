package telemetry_test

import (
	"context"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/semconv"
	"github.com/meshobs/meshobs/telemetry"
)

// BenchmarkPipeline is what one record / trace costs through the pipeline:
// every SDK call plus what meshobs adds (lookups, stores, graph).
func BenchmarkPipeline(b *testing.B) {
	p, err := telemetry.New()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	ctx := context.Background()
	b.Run("Record", func(b *testing.B) {
		r := telemetry.Request{Service: "payments", Target: "ledger", DurationMs: 14.5, Status: 200, Method: "GET", Path: "/api/v1/items"}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Record(ctx, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("StartSpan", func(b *testing.B) {
		r := telemetry.SpanRequest{Operation: "cache.get", Service: "accounts", Duration: 19 * time.Millisecond}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.StartSpan(ctx, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSDK is the cost of the bare SDK calls Record and StartSpan make,
// into sinks that do nothing, beside the same calls into meshobs' stores:
// the floor under what meshobs adds, and what its stores add.
func BenchmarkSDK(b *testing.B) {
	ctx := context.Background()
	set := attribute.NewSet(semconv.Service.String("payments"), semconv.Source.String("payments"),
		semconv.Target.String("ledger"), otelsemconv.HTTPResponseStatusCodeKey.Int(200))
	opt := metric.WithAttributeSet(set)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()),
		sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: "h"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}})))
	meter := mp.Meter("bench")
	counter, _ := meter.Int64Counter("c")
	hist, _ := meter.Float64Histogram("h")
	b.Run("CounterAdd", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			counter.Add(ctx, 1, opt)
		}
	})
	b.Run("HistogramRecord", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hist.Record(ctx, 14.5, opt)
		}
	})
	// Each sink pair shows the bare SDK call (into a processor that does
	// nothing) and the same call into meshobs' store: the difference is what
	// the store adds.
	for _, sink := range []struct {
		name string
		proc sdklog.Processor
	}{{"noop", noopLogProcessor{}}, {"LogStore", exporters.NewLogStore()}} {
		b.Run("LogEmit/"+sink.name, func(b *testing.B) {
			lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sink.proc), sdklog.WithAllowKeyDuplication())
			logger := lp.Logger("bench")
			b.ReportAllocs()
			for b.Loop() {
				var r otellog.Record
				r.SetEventName(semconv.AccessLogEventName)
				r.AddAttributes(semconv.Source.String("payments"), semconv.Target.String("ledger"),
					otelsemconv.HTTPResponseStatusCodeKey.Int(200), semconv.DurationMs.Float64(14.5), otelsemconv.HTTPRequestMethodKey.String("GET"),
					otelsemconv.URLPathKey.String("/api/v1/items"))
				logger.Emit(ctx, r)
			}
		})
	}
	for _, sink := range []struct {
		name string
		opt  sdktrace.TracerProviderOption
	}{
		{"noop", sdktrace.WithSpanProcessor(noopSpanProcessor{})},
		{"SpanStore", sdktrace.WithSpanProcessor(exporters.NewSpanStore())},
		{"tracetest.InMemory", sdktrace.WithSyncer(tracetest.NewInMemoryExporter())},
	} {
		b.Run("SpanStartEnd/"+sink.name, func(b *testing.B) {
			tracer := sdktrace.NewTracerProvider(sink.opt).Tracer("bench")
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				_, s := tracer.Start(ctx, "cache.get", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(now))
				s.End(trace.WithTimestamp(now))
			}
		})
	}
}

type noopLogProcessor struct{}

func (noopLogProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (noopLogProcessor) OnEmit(context.Context, *sdklog.Record) error           { return nil }
func (noopLogProcessor) Shutdown(context.Context) error                         { return nil }
func (noopLogProcessor) ForceFlush(context.Context) error                       { return nil }

type noopSpanProcessor struct{}

func (noopSpanProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (noopSpanProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (noopSpanProcessor) Shutdown(context.Context) error                  { return nil }
func (noopSpanProcessor) ForceFlush(context.Context) error                { return nil }
