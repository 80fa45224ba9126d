package telemetry_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/semconv"
	"github.com/meshobs/meshobs/telemetry"
)

// TestPipelineConcurrentSafe records requests and spans from many
// goroutines for services created on the fly, while others read every
// store, the graph and the metrics; the totals must come out exact.
func TestPipelineConcurrentSafe(t *testing.T) {
	const writers, perWriter = 8, 400
	p, err := telemetry.New(telemetry.WithRetention(writers*perWriter, writers*perWriter))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	for range 3 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					p.Graph().Pairs(exporters.LogFilter{})
					p.Logs().Recent(exporters.LogFilter{}, 5)
					p.Graph().Tallies("", time.Now())
					p.Graph().Edges()
					p.Graph().Nodes()
					p.Spans().Len()
					if _, err := p.Metrics().Snapshot(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := fmt.Sprintf("svc%d", w%4)
			for i := range perWriter {
				if i%2 == 0 {
					r := telemetry.Request{Service: svc, Target: "db", DurationMs: float64(i), Status: 200}
					if _, err := p.Record(ctx, &r); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				root, err := p.StartSpan(ctx, &telemetry.SpanRequest{Operation: "in", Service: svc})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := p.StartSpan(ctx, &telemetry.SpanRequest{Operation: "out", Service: "cache",
					TraceID: root.TraceID(), ParentSpanID: root.SpanID()}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rwg.Wait()

	records := int64(writers * perWriter / 2)
	perService := records / 4
	for s := range 4 {
		if got := p.Graph().Logged(fmt.Sprintf("svc%d", s)); got != perService {
			t.Fatalf("svc%d: %d requests, want %d", s, got, perService)
		}
	}
	if got := p.Spans().Len(); got != int(records*2) {
		t.Fatalf("%d spans, want %d", got, records*2)
	}
	for _, e := range p.Graph().Edges() {
		if e.Calls != perService {
			t.Fatalf("edge %+v, want %d calls", e, perService)
		}
	}
	if n := len(p.Graph().Edges()); n != 8 { // svcN -> db and svcN -> cache
		t.Fatalf("%d edges", n)
	}
	rm, err := p.Metrics().Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var count int64
	var hist uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == semconv.RequestsName {
					for _, dp := range d.DataPoints {
						count += dp.Value
					}
				}
			case metricdata.ExponentialHistogram[float64]:
				for _, dp := range d.DataPoints {
					hist += dp.Count
				}
			}
		}
	}
	if count != records || hist != uint64(records) {
		t.Fatalf("counter %d, histogram count %d, want %d", count, hist, records)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
