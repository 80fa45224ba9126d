// Package exporterstest is a conformance suite for in-memory OpenTelemetry
// stores, in the spirit of testing/slogtest: any span store, access-log
// store or metric reader can be run through it, and every store of
// package exporters is.
//
// Each suite drives the store through a real SDK provider and checks what
// meshobs relies on: everything the SDK emits is captured and counted,
// retention is bounded, the store copies on ingest what the SDK may reuse,
// its getters return copies, it keeps its data after Shutdown, and it is
// safe for concurrent use (run the suites with -race).
package exporterstest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/semconv"
)

// Writers and PerWriter size the concurrency checks.
const (
	Writers   = 4
	PerWriter = 200
)

var res = resource.NewSchemaless(otelsemconv.ServiceNameKey.String("svc"))

// SpanStore adapts a span store to the suite. S is the store's own type of
// a held span.
type SpanStore[S any] struct {
	// New returns a fresh store retaining at most capacity spans, as a span
	// processor, and its getter: the spans it holds of one trace, exactly
	// as the store returns them (no copy made by the adapter).
	New func(t *testing.T, capacity int) (sdktrace.SpanProcessor, func(trace.TraceID) []S)
	// Name and Attributes read a held span.
	Name       func(S) string
	Attributes func(S) []attribute.KeyValue
}

// RunSpanStore runs the span-store suite.
func RunSpanStore[S any](t *testing.T, s SpanStore[S]) {
	emit := func(tp *sdktrace.TracerProvider, i int) trace.TraceID {
		_, span := tp.Tracer("exporterstest").Start(context.Background(), fmt.Sprintf("op-%d", i),
			trace.WithAttributes(attribute.Int("i", i), attribute.StringSlice("tags", []string{"a", "b"})))
		span.End()
		return span.SpanContext().TraceID()
	}
	newTP := func(t *testing.T, capacity int) (*sdktrace.TracerProvider, func(trace.TraceID) []S) {
		p, get := s.New(t, capacity)
		return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p), sdktrace.WithResource(res)), get
	}
	t.Run("CapturesWhatTheSDKEmits", func(t *testing.T) {
		tp, get := newTP(t, 100)
		for i := range 10 {
			id := emit(tp, i)
			got := get(id)
			if len(got) != 1 || s.Name(got[0]) != fmt.Sprintf("op-%d", i) {
				t.Fatalf("span %d: holds %d spans of its trace", i, len(got))
			}
		}
	})
	t.Run("BoundedRetentionKeepsTheNewest", func(t *testing.T) {
		tp, get := newTP(t, 5)
		var ids []trace.TraceID
		for i := range 50 {
			ids = append(ids, emit(tp, i))
		}
		for i, id := range ids {
			if held := len(get(id)) == 1; held != (i >= 45) {
				t.Fatalf("span %d held: %v; want only the newest 5", i, held)
			}
		}
	})
	t.Run("GettersReturnCopies", func(t *testing.T) {
		tp, get := newTP(t, 100)
		id := emit(tp, 7)
		attrs := s.Attributes(get(id)[0])
		for i := range attrs {
			attrs[i] = attribute.String("mutated", "by the caller")
		}
		for _, kv := range s.Attributes(get(id)[0]) {
			if kv.Key == "mutated" {
				t.Fatal("a caller's change to a returned span reached the store")
			}
		}
	})
	t.Run("KeepsDataAfterShutdown", func(t *testing.T) {
		tp, get := newTP(t, 100)
		id := emit(tp, 1)
		_ = tp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
		if len(get(id)) != 1 {
			t.Fatal("spans gone after Shutdown")
		}
	})
	t.Run("ConcurrentSafe", func(t *testing.T) {
		tp, get := newTP(t, Writers*PerWriter)
		ids := make(chan trace.TraceID, Writers*PerWriter)
		var wg sync.WaitGroup
		for w := range Writers {
			wg.Go(func() {
				for i := range PerWriter {
					id := emit(tp, w*PerWriter+i)
					ids <- id
					get(id) // reads while others write
				}
			})
		}
		wg.Wait()
		close(ids)
		n := 0
		for id := range ids {
			n += len(get(id))
		}
		if n != Writers*PerWriter {
			t.Fatalf("holds %d spans, want %d", n, Writers*PerWriter)
		}
	})
}

// LogStore adapts an access-log store to the suite: it takes records with
// the event name semconv.AccessLogEventName. E is the store's own type of a
// held entry.
type LogStore[E any] struct {
	// New returns a fresh store retaining at most capacity entries, as a
	// log processor, and its getter: every entry held, oldest first,
	// exactly as the store returns them.
	New func(t *testing.T, capacity int) (sdklog.Processor, func() []E)
	// Path reads the url.path of a held entry; SetPath changes it in the
	// caller's copy.
	Path    func(E) string
	SetPath func(*E, string)
}

// RunLogStore runs the access-log-store suite.
func RunLogStore[E any](t *testing.T, s LogStore[E]) {
	newLP := func(t *testing.T, capacity int) (otellog.Logger, *sdklog.LoggerProvider, func() []E) {
		p, get := s.New(t, capacity)
		lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p), sdklog.WithResource(res))
		return lp.Logger("exporterstest"), lp, get
	}
	emit := func(l otellog.Logger, i int) {
		var r otellog.Record
		r.SetEventName(semconv.AccessLogEventName)
		r.AddAttributes(semconv.Source.String("svc"), semconv.Target.String("db"),
			otelsemconv.HTTPResponseStatusCodeKey.Int(200), semconv.DurationMs.Float64(float64(i)),
			otelsemconv.URLPathKey.String(fmt.Sprintf("/item/%d", i)))
		l.Emit(context.Background(), r)
	}
	t.Run("CapturesAccessLogsOnly", func(t *testing.T) {
		l, _, get := newLP(t, 100)
		for i := range 10 {
			emit(l, i)
		}
		var other otellog.Record
		other.SetBody(attribute.StringValue("an application log, not an access log"))
		l.Emit(context.Background(), other)
		if got := get(); len(got) != 10 || s.Path(got[9]) != "/item/9" {
			t.Fatalf("holds %d entries, want the 10 access logs", len(got))
		}
	})
	t.Run("CopiesOnIngest", func(t *testing.T) {
		// The SDK reuses a record's storage once OnEmit returns: later
		// records must not show through the entries held.
		l, _, get := newLP(t, 100)
		for i := range 20 {
			emit(l, i)
		}
		for i, e := range get() {
			if want := fmt.Sprintf("/item/%d", i); s.Path(e) != want {
				t.Fatalf("entry %d has path %q, want %q", i, s.Path(e), want)
			}
		}
	})
	t.Run("BoundedRetentionKeepsTheNewest", func(t *testing.T) {
		l, _, get := newLP(t, 5)
		for i := range 50 {
			emit(l, i)
		}
		got := get()
		if len(got) != 5 || s.Path(got[0]) != "/item/45" {
			t.Fatalf("holds %d entries, the oldest %q; want the newest 5", len(got), s.Path(got[0]))
		}
	})
	t.Run("GettersReturnCopies", func(t *testing.T) {
		l, _, get := newLP(t, 100)
		emit(l, 1)
		got := get()
		s.SetPath(&got[0], "/mutated")
		if p := s.Path(get()[0]); p != "/item/1" {
			t.Fatalf("a caller's change reached the store: %q", p)
		}
	})
	t.Run("KeepsDataAfterShutdown", func(t *testing.T) {
		l, lp, get := newLP(t, 100)
		emit(l, 1)
		_ = lp.Shutdown(context.Background())
		_ = lp.Shutdown(context.Background())
		if len(get()) != 1 {
			t.Fatal("entries gone after Shutdown")
		}
	})
	t.Run("ConcurrentSafe", func(t *testing.T) {
		l, _, get := newLP(t, Writers*PerWriter)
		var wg sync.WaitGroup
		for range Writers {
			wg.Go(func() {
				for i := range PerWriter {
					emit(l, i)
					if i%20 == 0 {
						get()
					}
				}
			})
		}
		wg.Wait()
		if n := len(get()); n != Writers*PerWriter {
			t.Fatalf("holds %d entries, want %d", n, Writers*PerWriter)
		}
	})
}

// MetricReader adapts an in-memory metric reader to the suite.
type MetricReader struct {
	// New returns a fresh reader and its getter: everything aggregated so
	// far, exactly as the reader returns it (also after Shutdown).
	New func(t *testing.T) (sdkmetric.Reader, func(context.Context) (metricdata.ResourceMetrics, error))
}

// RunMetricReader runs the metric-reader suite.
func RunMetricReader(t *testing.T, s MetricReader) {
	setup := func(t *testing.T) (metric.Int64Counter, *sdkmetric.MeterProvider, func() int64, func() metricdata.ResourceMetrics) {
		r, get := s.New(t)
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r), sdkmetric.WithResource(res))
		c, err := mp.Meter("exporterstest").Int64Counter("requests")
		if err != nil {
			t.Fatal(err)
		}
		snap := func() metricdata.ResourceMetrics {
			rm, err := get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return rm
		}
		total := func() int64 {
			var n int64
			rm := snap()
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
						n += dp.Value
					}
				}
			}
			return n
		}
		return c, mp, total, snap
	}
	add := func(c metric.Int64Counter, i int) {
		c.Add(context.Background(), 1, metric.WithAttributes(attribute.Int("series", i%5)))
	}
	t.Run("CountsWhatTheSDKAggregates", func(t *testing.T) {
		c, _, total, _ := setup(t)
		if n := total(); n != 0 {
			t.Fatalf("sum %d before anything", n)
		}
		for i := range 50 {
			add(c, i)
		}
		if n := total(); n != 50 {
			t.Fatalf("sum %d, want 50", n)
		}
	})
	mutate := func(rm metricdata.ResourceMetrics) {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				dps := m.Data.(metricdata.Sum[int64]).DataPoints
				for i := range dps {
					dps[i].Value = -1000
				}
			}
		}
	}
	t.Run("GettersReturnCopies", func(t *testing.T) {
		c, _, total, snap := setup(t)
		add(c, 1)
		mutate(snap())
		if n := total(); n != 1 {
			t.Fatalf("a caller's change reached the reader: sum %d", n)
		}
	})
	t.Run("KeepsDataAfterShutdownAndCopiesIt", func(t *testing.T) {
		c, mp, total, snap := setup(t)
		for i := range 3 {
			add(c, i)
		}
		_ = mp.Shutdown(context.Background())
		if n := total(); n != 3 {
			t.Fatalf("sum %d after Shutdown, want 3", n)
		}
		mutate(snap())
		if n := total(); n != 3 {
			t.Fatalf("after Shutdown a caller's change reached the reader: sum %d", n)
		}
	})
	t.Run("ConcurrentSafe", func(t *testing.T) {
		c, _, total, _ := setup(t)
		var wg sync.WaitGroup
		for range Writers {
			wg.Go(func() {
				for i := range PerWriter {
					add(c, i)
					if i%50 == 0 {
						total()
					}
				}
			})
		}
		wg.Wait()
		if n := total(); n != Writers*PerWriter {
			t.Fatalf("sum %d, want %d", n, Writers*PerWriter)
		}
	})
}
