package exporters_test

import (
	"context"
	"fmt"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"sync"
	"testing"

	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/semconv"
)

const (
	writers   = 8
	perWriter = 500
	readers   = 4
)

// readWhile calls read in readers goroutines until stop is closed.
func readWhile(wg *sync.WaitGroup, stop <-chan struct{}, read func()) {
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					read()
				}
			}
		}()
	}
}

// TestLogStoreConcurrentSafe emits access logs from many goroutines through
// two LoggerProviders, one calling the store synchronously and one through
// the SDK's batch processor, while other goroutines read.
func TestLogStoreConcurrentSafe(t *testing.T) {
	g := graph.New()
	store := exporters.NewLogStore(exporters.WithLogCapacity(writers*perWriter*2), exporters.WithAccessLogObserver(g))
	res := resource.NewSchemaless(otelsemconv.ServiceNameKey.String("api"))
	syncLP := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(store))
	// The queue has room for every record: a full queue would drop some.
	batchLP := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(store, sdklog.WithExportMaxBatchSize(64),
			sdklog.WithMaxQueueSize(writers*perWriter))))

	stop := make(chan struct{})
	var rwg sync.WaitGroup
	readWhile(&rwg, stop, func() {
		g.Pairs(exporters.LogFilter{})
		g.Pairs(exporters.LogFilter{StatusClass: 5})
		store.Recent(exporters.LogFilter{Source: "api"}, 10)
		g.Tallies("", fixedNow)
		g.Logged("api")
		store.Len()
	})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				lp := syncLP
				if i%2 == 1 {
					lp = batchLP
				}
				var r otellog.Record
				r.SetEventName(semconv.AccessLogEventName)
				r.SetTimestamp(fixedNow)
				r.SetObservedTimestamp(fixedNow)
				status := 200
				if i%5 == 0 {
					status = 503
				}
				r.AddAttributes(
					semconv.Source.String("api"),
					semconv.Target.String(fmt.Sprintf("db%d", w%2)),
					otelsemconv.HTTPResponseStatusCodeKey.Int(status),
					semconv.DurationMs.Float64(1))
				lp.Logger("t").Emit(context.Background(), r)
			}
		}()
	}
	wg.Wait()
	ctx := context.Background()
	if err := batchLP.Shutdown(ctx); err != nil { // exports what the batch holds
		t.Fatal(err)
	}
	close(stop)
	rwg.Wait()

	total := int64(writers * perWriter)
	if got := g.Logged("api"); got != total {
		t.Fatalf("Logged = %d, want %d", got, total)
	}
	if got := store.Len(); got != int(total) {
		t.Fatalf("Len = %d, want %d", got, total)
	}
	pairs := g.Pairs(exporters.LogFilter{})
	if len(pairs) != 2 {
		t.Fatalf("pairs %+v", pairs)
	}
	for _, p := range pairs {
		if p.Count != total/2 || p.ErrorCount != total/2/5 {
			t.Fatalf("pair %+v, want count %d errors %d", p, total/2, total/10)
		}
	}
	if err := syncLP.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSpanStoreConcurrentSafe ends spans from many goroutines through two
// TracerProviders, one calling the store synchronously and one through the
// SDK's batch span processor, while other goroutines read.
func TestSpanStoreConcurrentSafe(t *testing.T) {
	store := exporters.NewSpanStore(exporters.WithSpanCapacity(writers * perWriter * 2))
	syncTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(store))
	// Blocking: a full queue would drop spans.
	batchTP := sdktrace.NewTracerProvider(sdktrace.WithBatcher(store, sdktrace.WithMaxExportBatchSize(64), sdktrace.WithBlocking()))

	ids := make(chan trace.TraceID, writers*perWriter)
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	readWhile(&rwg, stop, func() {
		select {
		case id := <-ids:
			store.Trace(id)
			store.Root(id)
			ids <- id
		default:
		}
		store.Len()
	})
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				tp := syncTP
				if i%2 == 1 {
					tp = batchTP
				}
				ctx, root := tp.Tracer("t").Start(context.Background(), "root")
				_, child := tp.Tracer("t").Start(ctx, "child")
				child.End()
				root.End()
				select {
				case ids <- root.SpanContext().TraceID():
				default:
				}
			}
		}()
	}
	wg.Wait()
	ctx := context.Background()
	if err := batchTP.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	rwg.Wait()

	if got, want := store.Len(), writers*perWriter*2; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
	n := 0
	for len(ids) > 0 {
		id := <-ids
		spans, ok := store.Trace(id)
		if !ok || len(spans) != 2 {
			t.Fatalf("trace %s: %d spans", id, len(spans))
		}
		if _, _, ok := store.Root(id); !ok {
			t.Fatalf("trace %s: no root", id)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no trace checked")
	}
	if err := syncTP.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
