package exporters_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/semconv"
)

// subject adapts one in-memory exporter to the conformance suite: emit sends
// signals through a real SDK provider wired to the exporter, count reads back
// how many the exporter holds, and shutdown shuts the provider (and so the
// exporter) down.
type subject struct {
	emit     func(t *testing.T, i int)
	count    func(t *testing.T) int
	shutdown func(t *testing.T)
}

type subjectFactory func(t *testing.T, capacity int) subject

var subjects = map[string]subjectFactory{
	"SpanStore/processor": func(t *testing.T, capacity int) subject {
		store := exporters.NewSpanStore(exporters.WithSpanCapacity(capacity))
		return spanSubject(store, sdktrace.WithSpanProcessor(store))
	},
	"SpanStore/syncer": func(t *testing.T, capacity int) subject {
		store := exporters.NewSpanStore(exporters.WithSpanCapacity(capacity))
		return spanSubject(store, sdktrace.WithSyncer(store))
	},
	"LogStore/processor": func(t *testing.T, capacity int) subject {
		store := exporters.NewLogStore(exporters.WithLogCapacity(capacity))
		return logSubject(store, store)
	},
	"LogStore/exporter": func(t *testing.T, capacity int) subject {
		store := exporters.NewLogStore(exporters.WithLogCapacity(capacity))
		return logSubject(store, sdklog.NewSimpleProcessor(store))
	},
	"MetricReader": func(t *testing.T, capacity int) subject {
		reader := exporters.NewMetricReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		counter, _ := mp.Meter("test").Int64Counter("c")
		return subject{
			emit: func(t *testing.T, i int) {
				counter.Add(context.Background(), 1, metric.WithAttributes(attribute.Int("series", i%capacity)))
			},
			count: func(t *testing.T) int {
				rm, err := reader.Snapshot(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				var total int64
				for _, sm := range rm.ScopeMetrics {
					for _, m := range sm.Metrics {
						for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
							total += dp.Value
						}
					}
				}
				return int(total)
			},
			shutdown: func(t *testing.T) {
				// A second Shutdown of a MeterProvider reports ErrReaderShutdown by design.
				if err := mp.Shutdown(context.Background()); err != nil && !errors.Is(err, sdkmetric.ErrReaderShutdown) {
					t.Fatal(err)
				}
			},
		}
	},
}

func spanSubject(store *exporters.SpanStore, opt sdktrace.TracerProviderOption) subject {
	tp := sdktrace.NewTracerProvider(opt, sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName.String("svc"))))
	tracer := tp.Tracer("test")
	return subject{
		emit: func(t *testing.T, i int) {
			_, span := tracer.Start(context.Background(), fmt.Sprintf("op-%d", i))
			span.End()
		},
		count:    func(t *testing.T) int { return store.Len() },
		shutdown: func(t *testing.T) { _ = tp.Shutdown(context.Background()) },
	}
}

func logSubject(store *exporters.LogStore, p sdklog.Processor) subject {
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p),
		sdklog.WithResource(resource.NewSchemaless(semconv.ServiceName.String("svc"))))
	logger := lp.Logger("test")
	return subject{
		emit: func(t *testing.T, i int) {
			var r otellog.Record
			r.SetEventName(semconv.AccessLogEventName)
			r.AddAttributes(semconv.StatusCode.Int(200), semconv.DurationMs.Float64(float64(i)))
			logger.Emit(context.Background(), r)
		},
		count:    func(t *testing.T) int { return store.Len() },
		shutdown: func(t *testing.T) { _ = lp.Shutdown(context.Background()) },
	}
}

// TestConformance runs every in-memory exporter through the same contract.
func TestConformance(t *testing.T) {
	for name, factory := range subjects {
		t.Run(name, func(t *testing.T) {
			t.Run("CapturesWhatTheSDKEmits", func(t *testing.T) {
				s := factory(t, 100)
				for i := range 10 {
					s.emit(t, i)
				}
				if got := s.count(t); got != 10 {
					t.Fatalf("holds %d, want 10", got)
				}
			})
			t.Run("KeepsDataAfterShutdown", func(t *testing.T) {
				s := factory(t, 100)
				for i := range 3 {
					s.emit(t, i)
				}
				s.shutdown(t)
				s.shutdown(t) // idempotent
				if got := s.count(t); got != 3 {
					t.Fatalf("holds %d after Shutdown, want 3", got)
				}
			})
			t.Run("BoundedRetention", func(t *testing.T) {
				if name == "MetricReader" {
					// Aggregates, not entries: 5 series however many points.
					s := factory(t, 5)
					for i := range 50 {
						s.emit(t, i)
					}
					if got := s.count(t); got != 50 {
						t.Fatalf("sum %d, want 50", got)
					}
					return
				}
				s := factory(t, 5)
				for i := range 50 {
					s.emit(t, i)
				}
				if got := s.count(t); got != 5 {
					t.Fatalf("holds %d with capacity 5", got)
				}
			})
			t.Run("EmptyBeforeAnything", func(t *testing.T) {
				s := factory(t, 100)
				if got := s.count(t); got != 0 {
					t.Fatalf("holds %d, want 0", got)
				}
			})
		})
	}
}
