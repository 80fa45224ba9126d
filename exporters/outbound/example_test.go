package outbound_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/telemetry"
)

// otlpCollector stands in for an OpenTelemetry Collector's OTLP/HTTP
// receiver: it accepts every export.
func otlpCollector() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
}

// The exporters of a config's `exporters:` section in an application's own
// TracerProvider: bounded, counted, and reported on.
func ExampleNew() {
	collector := otlpCollector()
	defer collector.Close()
	ctx := context.Background()

	out, err := outbound.New(ctx, outbound.Config{OTLP: outbound.OTLP{
		Enabled:  true,
		Endpoint: collector.URL, // http://: plaintext
		Protocol: outbound.ProtocolHTTPProtobuf,
		Signals:  []string{outbound.SignalTraces},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))),
	}
	for _, p := range out.SpanProcessors() {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	tp := sdktrace.NewTracerProvider(opts...)

	_, span := tp.Tracer("example").Start(ctx, "GET /cart")
	span.End()

	_ = tp.Shutdown(ctx) // flushes the queue
	_ = out.Shutdown(ctx)
	out.Report(os.Stdout)
	// Output:
	// meshobs: export: otlp traces: 1 accepted, 1 exported, 0 dropped
}

// meshobs's whole pipeline as a stage of an application: requests in, the
// service graph and access-log counts out of its in-memory stores, and the
// same telemetry exported over OTLP.
func Example_pipeline() {
	collector := otlpCollector()
	defer collector.Close()
	ctx := context.Background()

	out, err := outbound.New(ctx, outbound.Config{OTLP: outbound.OTLP{
		Enabled: true, Endpoint: collector.URL, Protocol: outbound.ProtocolHTTPProtobuf,
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	opts := []telemetry.Option{telemetry.WithDefaultService("checkout")}
	for _, p := range out.SpanProcessors() {
		opts = append(opts, telemetry.WithSpanProcessor(p))
	}
	for _, p := range out.LogProcessors() {
		opts = append(opts, telemetry.WithLogProcessor(p))
	}
	for _, r := range out.MetricReaders() {
		opts = append(opts, telemetry.WithMetricReader(r))
	}
	p, err := telemetry.New(opts...)
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, status := range []int{200, 200, 503} {
		_, _ = p.Record(ctx, &telemetry.Request{Service: "checkout", Target: "payments", DurationMs: 12, Status: status})
	}

	logs, _ := p.Query().AccessLogs(ctx, telemetry.LogRequest{Detail: true})
	for _, pl := range logs.Pairs {
		fmt.Printf("access logs %s -> %s: %d, %d failed\n", pl.Source, pl.Target, pl.Count, pl.ErrorCount)
	}
	g, _ := p.Query().Graph(ctx, telemetry.GraphRequest{Detail: true})
	for _, e := range g.Edges {
		fmt.Printf("graph %s -> %s: %d calls, %d failed\n", e.Source, e.Target, e.RequestCount, e.ErrorCount)
	}
	_ = p.Shutdown(ctx) // flushes every exporter
	_ = out.Shutdown(ctx)
	for _, st := range out.Stats() {
		if st.Signal == outbound.SignalLogs {
			fmt.Printf("exported %s %s: %d of %d\n", st.Exporter, st.Signal, st.Exported, st.Accepted)
		}
	}
	// Output:
	// access logs checkout -> payments: 3, 1 failed
	// graph checkout -> payments: 3 calls, 1 failed
	// exported otlp logs: 3 of 3
}
