package graph_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
)

// A frontend and a backend instrumented with otelhttp, over loopback: the
// frontend calls the backend twice (once failing), and the backend queries
// an uninstrumented database. One SpanStore serves both services'
// TracerProviders; its SpanBuilder turns their spans into the service graph.
func ExampleSpanBuilder() {
	// Embedding: the graph, its builder, and a span store feeding it.
	g := graph.New()
	builder := graph.NewSpanBuilder(g) // connector-like defaults, plus Jaeger's rule
	spans := exporters.NewSpanStore(exporters.WithSpanObserver(builder))
	provider := func(service string) *sdktrace.TracerProvider {
		return sdktrace.NewTracerProvider(
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
			sdktrace.WithSpanProcessor(spans), // synchronous: a span is in the graph when End returns
		)
	}
	backendTP, frontendTP := provider("backend"), provider("frontend")

	propagators := otelhttp.WithPropagators(propagation.TraceContext{})
	backend := httptest.NewServer(otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, db := backendTP.Tracer("store").Start(r.Context(), "SELECT items",
			trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system", "postgresql"), attribute.String("db.name", "inventory")))
		db.End()
		if r.URL.Path == "/fail" {
			http.Error(w, "out of stock", http.StatusInternalServerError)
		}
	}), "backend", otelhttp.WithTracerProvider(backendTP), propagators))

	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(frontendTP), propagators)}
	frontend := httptest.NewServer(otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, path := range []string{"/items", "/fail"} {
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, backend.URL+path, nil)
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}), "frontend", otelhttp.WithTracerProvider(frontendTP), propagators))

	resp, err := http.Get(frontend.URL + "/checkout") // an uninstrumented user
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	// Close waits for the handlers, and so for their server spans to end.
	frontend.Close()
	backend.Close()
	_ = frontendTP.Shutdown(context.Background())
	_ = backendTP.Shutdown(context.Background())
	builder.Flush() // settle client spans still waiting for a server side

	for _, e := range g.Edges() {
		fmt.Printf("%s -> %s: %d calls, %d failed, client latency seen %d times, server latency %d times\n",
			e.Source, e.Target, e.Calls, e.Errors, e.ClientLatency.Count, e.ServerLatency.Count)
	}
	// Output:
	// backend -> inventory: 2 calls, 0 failed, client latency seen 2 times, server latency 0 times
	// frontend -> backend: 2 calls, 1 failed, client latency seen 2 times, server latency 2 times
	// user -> frontend: 1 calls, 0 failed, client latency seen 0 times, server latency 1 times
}
