package exporters_test

import (
	"context"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
)

type observed struct {
	span, parent exporters.Span
	held         bool
}

type recorder struct{ got []observed }

func (r *recorder) ObserveSpan(s, p *exporters.Span) {
	o := observed{span: *s, held: p != nil}
	if p != nil {
		o.parent = *p
	}
	r.got = append(r.got, o)
}

func tracerFor(store *exporters.SpanStore, service string) trace.Tracer {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(store),
		sdktrace.WithResource(resource.NewSchemaless(otelsemconv.ServiceNameKey.String(service))))
	return tp.Tracer("test")
}

func TestSpanStoreTraceOrderRootAndParents(t *testing.T) {
	rec := &recorder{}
	store := exporters.NewSpanStore(exporters.WithSpanObserver(rec))
	web, db := tracerFor(store, "web"), tracerFor(store, "db")
	t0 := time.Unix(1_700_000_000, 0)

	ctx, root := web.Start(context.Background(), "GET /", trace.WithTimestamp(t0))
	_, child := db.Start(ctx, "SELECT", trace.WithTimestamp(t0.Add(time.Millisecond)))
	child.End(trace.WithTimestamp(t0.Add(3 * time.Millisecond))) // ends, and is stored, first
	root.End(trace.WithTimestamp(t0.Add(5 * time.Millisecond)))

	tid := root.SpanContext().TraceID()
	spans, ok := store.Trace(tid)
	if !ok || len(spans) != 2 {
		t.Fatalf("Trace: %v %d spans", ok, len(spans))
	}
	if spans[0].Name != "GET /" || spans[1].Name != "SELECT" {
		t.Fatalf("not ordered by start: %s, %s", spans[0].Name, spans[1].Name)
	}
	if spans[1].Parent != spans[0].SpanID || spans[1].Service != "db" || spans[0].Service != "web" {
		t.Fatalf("parent/service wrong: %+v", spans[1])
	}
	if id, svc, ok := store.Root(tid); !ok || id != root.SpanContext().SpanID() || svc != "web" {
		t.Fatalf("Root = %v %q %v", id, svc, ok)
	}
	// The child ended before its parent: the observer saw it without a held parent.
	if len(rec.got) != 2 || rec.got[0].held || rec.got[1].held {
		t.Fatalf("observer: %+v", rec.got)
	}
	if _, ok := store.Trace(trace.TraceID{1}); ok {
		t.Fatal("unknown trace reported as held")
	}
}

func TestSpanStoreObserverSeesHeldParent(t *testing.T) {
	rec := &recorder{}
	store := exporters.NewSpanStore(exporters.WithSpanObserver(rec))
	web, db := tracerFor(store, "web"), tracerFor(store, "db")
	ctx, root := web.Start(context.Background(), "GET /")
	root.End()
	_, child := db.Start(ctx, "SELECT")
	child.End()
	if len(rec.got) != 2 || !rec.got[1].held || rec.got[1].parent.Service != "web" {
		t.Fatalf("observer: %+v", rec.got)
	}
}

func TestSpanStoreEvictionForgetsIndexes(t *testing.T) {
	store := exporters.NewSpanStore(exporters.WithSpanCapacity(3))
	tr := tracerFor(store, "svc")
	var ids []trace.SpanContext
	for range 20 { // several ring turnovers
		_, s := tr.Start(context.Background(), "op")
		s.End()
		ids = append(ids, s.SpanContext())
	}
	for i, sc := range ids {
		_, held := store.Trace(sc.TraceID())
		_, spanHeld := store.Span(sc.TraceID(), sc.SpanID())
		_, _, rootHeld := store.Root(sc.TraceID())
		want := i >= 17
		if held != want || spanHeld != want || rootHeld != want {
			t.Fatalf("span %d: trace %v span %v root %v, want %v", i, held, spanHeld, rootHeld, want)
		}
	}
}

func TestSpanStoreGettersReturnCopies(t *testing.T) {
	store := exporters.NewSpanStore()
	tr := tracerFor(store, "svc")
	_, s := tr.Start(context.Background(), "op", trace.WithAttributes(otelsemconv.HTTPRequestMethodKey.String("GET")))
	s.End()
	sc := s.SpanContext()
	got, _ := store.Span(sc.TraceID(), sc.SpanID())
	got.Attributes[0] = otelsemconv.HTTPRequestMethodKey.String("MUTATED")
	again, _ := store.Trace(sc.TraceID())
	if again[0].Attributes[0].Value.AsString() != "GET" {
		t.Fatal("a getter handed out the store's own attribute slice")
	}
}
