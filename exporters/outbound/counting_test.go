package outbound

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func metricAttrs(source, target string) metric.AddOption {
	return metric.WithAttributes(attribute.String("meshobs.source", source), attribute.String("meshobs.target", target))
}

// blockingSpanExporter fails every export, after waiting for release.
type blockingSpanExporter struct{ release chan struct{} }

func (e blockingSpanExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	select {
	case <-e.release:
	case <-ctx.Done():
	}
	return errors.New("endpoint unreachable")
}

func (blockingSpanExporter) Shutdown(context.Context) error { return nil }

// TestDropsCounted: a stuck exporter holds one batch; the queue fills, the
// rest is dropped without blocking, and Stats and Report say so.
func TestDropsCounted(t *testing.T) {
	s := &Set{}
	exp := blockingSpanExporter{release: make(chan struct{})}
	s.addSpanExporter("otlp", batching{queueSize: 10, batchSize: 5, delay: time.Hour}, time.Minute, exp)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.SpanProcessors()[0]))
	start := time.Now()
	for range 1000 {
		_, span := tp.Tracer("test").Start(context.Background(), "op")
		span.End()
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("1000 spans took %s with a stuck exporter: OnEnd blocks", d)
	}
	close(exp.release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()[0]
	if st.Accepted != 1000 || st.Exported != 0 || st.Dropped != 1000 || st.Failed < 5 || st.Failed > 15 {
		t.Errorf("stats %+v: want 1000 accepted, 0 exported, 1000 dropped, 5..15 failed", st)
	}
	var b strings.Builder
	s.Report(&b)
	if want := "meshobs: export: otlp traces: 1000 accepted, 0 exported, 1000 dropped ("; !strings.HasPrefix(b.String(), want) {
		t.Errorf("report %q, want prefix %q", b.String(), want)
	}
}

func TestErrorHandlerLimits(t *testing.T) {
	var b strings.Builder
	h := NewErrorHandler(&b, 2)
	for range 5 {
		h.Handle(errors.New("export failed"))
	}
	if n := strings.Count(b.String(), "export failed"); n != 2 {
		t.Errorf("%d errors shown, want 2:\n%s", n, b.String())
	}
	if h.Suppressed() != 3 {
		t.Errorf("Suppressed() = %d, want 3", h.Suppressed())
	}
}

func TestWithDefaultsCopies(t *testing.T) {
	c := Config{}
	d := c.withDefaults()
	if c.Jaeger.Protocol != "" || d.Jaeger.Protocol != ProtocolGRPC || d.Jaeger.Endpoint != "localhost:4317" ||
		!reflect.DeepEqual(d.Jaeger.Signals, []string{SignalTraces}) || d.Prometheus.Listen != DefaultPrometheusListen {
		t.Errorf("withDefaults: caller's %+v, copy %+v", c, d)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("zero Config invalid: %v", err)
	}
	if c.Enabled() {
		t.Errorf("zero Config enables an exporter")
	}
	if h := (Config{Jaeger: Jaeger{Protocol: ProtocolHTTPProtobuf}}).withDefaults().Jaeger.Endpoint; h != "localhost:4318" {
		t.Errorf("jaeger http/protobuf default endpoint %q, want localhost:4318", h)
	}
}

func TestSignals(t *testing.T) {
	s, err := New(context.Background(), Config{Jaeger: Jaeger{Enabled: true, Endpoint: "127.0.0.1:4317", Signals: []string{SignalLogs, SignalTraces}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.shutdownAll(context.Background())
	if len(s.SpanProcessors()) != 1 || len(s.LogProcessors()) != 1 || len(s.MetricReaders()) != 0 {
		t.Errorf("traces and logs: %d span processors, %d log processors, %d readers",
			len(s.SpanProcessors()), len(s.LogProcessors()), len(s.MetricReaders()))
	}
	if st := s.Stats(); len(st) != 2 || st[0].Exporter != "jaeger" || st[0].Signal != SignalTraces || st[1].Signal != SignalLogs {
		t.Errorf("Stats() = %+v", st)
	}
}

// TestJaegerTracesByDefault: a stock Jaeger accepts only traces, so the
// shorthand sends only those unless told otherwise.
func TestJaegerTracesByDefault(t *testing.T) {
	s, err := New(context.Background(), Config{Jaeger: Jaeger{Enabled: true}}, WithGetenv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.shutdownAll(context.Background())
	if len(s.SpanProcessors()) != 1 || len(s.LogProcessors()) != 0 || len(s.MetricReaders()) != 0 {
		t.Errorf("jaeger defaults: %d span processors, %d log processors, %d readers, want traces only",
			len(s.SpanProcessors()), len(s.LogProcessors()), len(s.MetricReaders()))
	}
}
