package telemetry

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/semconv"
)

// TestSeriesTableRecentCollisions sends spans and calls whose series keys
// share their cheap hash (same length, first, middle and last byte), in
// turns, so that each evicts the other from the recent array: every
// series must still count exactly its own, and past the limit every new
// key counts on the overflow series.
func TestSeriesTableRecentCollisions(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(append(traceMetricViews(), sdkmetric.WithReader(reader))...)
	calls, spans := newTraceMetrics(4) // 3 series and the overflow one
	if err := initTraceMetrics(mp.Meter(semconv.ScopeName), calls, spans); err != nil {
		t.Fatal(err)
	}
	names := []string{"axbyc", "azbwc", "aqbqc", "arbrc", "asbsc"}
	if spanSeries.hash(spanSeries{service: "s", name: names[0]}) != spanSeries.hash(spanSeries{service: "s", name: names[1]}) {
		t.Fatal("the test's names do not collide")
	}
	t0 := time.Unix(1767312000, 0)
	for i := range 30 {
		// Keys in a buffer overwritten after the call: the table keeps copies.
		buf := []byte("s" + names[i%len(names)])
		sp := exporters.Span{Service: unsafe.String(&buf[0], 1), Name: unsafe.String(&buf[1], len(buf)-1), Kind: trace.SpanKindServer, Start: t0, End: t0.Add(time.Millisecond)}
		spans.ObserveSpan(&sp, nil)
		calls.ObserveCall(graph.Call{Source: "s", Target: names[i%len(names)], ServerLatency: time.Millisecond, HasServer: true})
		copy(buf, "#######")
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			var points []string
			for _, dp := range sum.DataPoints {
				label := "overflow"
				for _, k := range []string{string(LabelSpanName), string(LabelServer)} {
					if v, ok := dp.Attributes.Value(attribute.Key(k)); ok {
						label = v.AsString()
					}
				}
				points = append(points, fmt.Sprintf("%s=%d", label, dp.Value))
			}
			sort.Strings(points)
			got[m.Name] = fmt.Sprint(points)
		}
	}
	want := "[aqbqc=6 axbyc=6 azbwc=6 overflow=12]"
	for _, name := range []string{SpanMetricsCallsTotal, ServiceGraphRequestTotal} {
		if got[name] != want {
			t.Errorf("%s: %s, want %s", name, got[name], want)
		}
	}
}
