package scaleout_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// edge is a service-graph series: client, server and connection type.
type edge struct{ client, server, typ string }

// mesh is what the generator sent: every span, in traces, and the calls
// the servicegraph connector's rules make of them.
type mesh struct {
	traces [][]tracetest.SpanStub
	spans  int
	calls  map[edge]int
	failed map[edge]int
}

// genMesh makes n traces over six services, from a fixed seed: a root
// server span in frontend calling cart and, in most traces, checkout,
// which calls payment (which fails now and then) and inventory (which
// queries the database "stock"), and publishes to shipping through a
// queue; cart sometimes calls inventory too. Every call is a client span
// and its server child (a producer span and its consumer child on the
// queue), except the database call, a client span alone.
func genMesh(n int) *mesh {
	rng := rand.New(rand.NewPCG(3, 161))
	scope := instrumentation.Scope{Name: "meshobs.e2e/scaleout-generator"}
	res := map[string]*resource.Resource{}
	for _, s := range []string{"frontend", "cart", "checkout", "payment", "inventory", "shipping"} {
		res[s] = resource.NewSchemaless(attribute.String("service.name", s))
	}
	m := &mesh{calls: map[edge]int{}, failed: map[edge]int{}}
	t0 := time.Now().Add(-time.Minute)
	for i := range n {
		var tid trace.TraceID
		for j := range tid {
			tid[j] = byte(rng.UintN(256))
		}
		var spans []tracetest.SpanStub
		start := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		// span appends a span, child of spans[parent] (-1: a root), and
		// returns its index.
		span := func(parent int, service, name string, kind trace.SpanKind, d time.Duration, attrs ...attribute.KeyValue) int {
			var sid trace.SpanID
			for j := range sid {
				sid[j] = byte(rng.UintN(256))
			}
			sid[0] |= 1 // never all zero
			s := tracetest.SpanStub{
				Name:                 name,
				SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
				SpanKind:             kind,
				StartTime:            start,
				EndTime:              start.Add(d),
				Attributes:           attrs,
				Resource:             res[service],
				InstrumentationScope: scope,
			}
			if parent >= 0 {
				s.Parent = spans[parent].SpanContext
			}
			spans = append(spans, s)
			return len(spans) - 1
		}
		ms := func(median float64) time.Duration {
			return time.Duration(median * (0.3 + 1.7*rng.Float64()) * float64(time.Millisecond))
		}
		// call makes a client (or producer) span in from, child of parent,
		// and its server (or consumer) child in to; it counts the call and
		// returns the server span's index.
		call := func(parent int, from, to, name string, median float64, failPct int, messaging bool) int {
			ck, sk, typ := trace.SpanKindClient, trace.SpanKindServer, ""
			if messaging {
				ck, sk, typ = trace.SpanKindProducer, trace.SpanKindConsumer, "messaging_system"
			}
			d := ms(median)
			srv := span(span(parent, from, name, ck, d+ms(1)), to, name, sk, d)
			e := edge{from, to, typ}
			m.calls[e]++
			if rng.IntN(100) < failPct {
				spans[srv].Status = sdktrace.Status{Code: codes.Error, Description: "HTTP 503"}
				m.failed[e]++
			}
			return srv
		}
		root := span(-1, "frontend", "GET /", trace.SpanKindServer, ms(200))
		cart := call(root, "frontend", "cart", "GET /cart", 20, 1, false)
		if rng.IntN(100) < 30 {
			call(cart, "cart", "inventory", "GET /stock", 8, 0, false)
		}
		if rng.IntN(100) < 60 {
			checkout := call(root, "frontend", "checkout", "POST /checkout", 120, 2, false)
			call(checkout, "checkout", "payment", "POST /charge", 60, 10, false)
			inventory := call(checkout, "checkout", "inventory", "POST /reserve", 15, 0, false)
			span(inventory, "inventory", "UPDATE stock", trace.SpanKindClient, ms(3),
				attribute.String("db.system", "postgresql"), attribute.String("db.name", "stock"))
			m.calls[edge{"inventory", "stock", "database"}]++
			if rng.IntN(100) < 50 {
				call(checkout, "checkout", "shipping", "orders publish", 2, 0, true)
			}
		}
		m.spans += len(spans)
		m.traces = append(m.traces, spans)
	}
	return m
}

// send exports the mesh's traces to an OTLP/gRPC endpoint, batch traces at
// a time, each trace whole within one request.
func (m *mesh) send(ctx context.Context, endpoint string, batch int) error {
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		return err
	}
	for i := 0; i < len(m.traces); i += batch {
		var stubs tracetest.SpanStubs
		for _, tr := range m.traces[i:min(i+batch, len(m.traces))] {
			stubs = append(stubs, tr...)
		}
		if err := exp.ExportSpans(ctx, stubs.Snapshots()); err != nil {
			return fmt.Errorf("export to %s: %w", endpoint, err)
		}
	}
	return exp.Shutdown(ctx)
}
