package telemetry_test

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"github.com/meshobs/meshobs/semconv"
	"github.com/meshobs/meshobs/telemetry"
)

// requestSeries returns, per attribute set, the requests counter's value
// and the duration histogram's count in rm.
func requestSeries(t *testing.T, rm metricdata.ResourceMetrics) (counter, hist map[attribute.Distinct]int64, counterTemporality metricdata.Temporality) {
	t.Helper()
	counter, hist = map[attribute.Distinct]int64{}, map[attribute.Distinct]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != semconv.RequestsName && m.Name != semconv.RequestDurationName {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic {
					t.Fatalf("sum %q not monotonic", m.Name)
				}
				counterTemporality = d.Temporality
				for _, dp := range d.DataPoints {
					counter[dp.Attributes.Equivalent()] += dp.Value
				}
			case metricdata.ExponentialHistogram[float64]: // the duration histogram
				for _, dp := range d.DataPoints {
					hist[dp.Attributes.Equivalent()] += int64(dp.Count)
				}
			}
		}
	}
	return counter, hist, counterTemporality
}

// TestRequestsCounterMatchesHistogram checks the requests counter (an
// observable counter over per-series tallies) against the duration
// histogram (a synchronous instrument) fed by the same records: the same
// series with the same counts, past the series limit too (both fold the
// same series into the SDK's overflow series). Under delta temporality the
// counter reports, as an observable counter does, every series seen so far
// (an idle one with 0), and folds series past the limit by their first
// appearance since start, where the histogram folds them per interval.
func TestRequestsCounterMatchesHistogram(t *testing.T) {
	const maxSeries = 4
	delta := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(
		func(sdkmetric.InstrumentKind) metricdata.Temporality { return metricdata.DeltaTemporality }))
	p := newPipeline(t, telemetry.WithLimits(0, 0, maxSeries), telemetry.WithMetricReader(delta))
	ctx := context.Background()
	record := func(series, times int) {
		for range times {
			r := telemetry.Request{Service: fmt.Sprintf("svc-%d", series), Target: "db", DurationMs: 2, Status: 200}
			if _, err := p.Record(ctx, &r); err != nil {
				t.Fatal(err)
			}
		}
	}
	overflowSet := attribute.NewSet(attribute.Bool("otel.metric.overflow", true))
	overflow := overflowSet.Equivalent()
	check := func(name string, rm metricdata.ResourceMetrics, want metricdata.Temporality, wantOverflow, total int64) map[attribute.Distinct]int64 {
		t.Helper()
		counter, hist, temporality := requestSeries(t, rm)
		if temporality != want {
			t.Fatalf("%s: counter temporality %v, want %v", name, temporality, want)
		}
		var histTotal int64
		for _, v := range hist {
			histTotal += v
		}
		if histTotal != total {
			t.Fatalf("%s: histogram counts %d requests, want %d", name, histTotal, total)
		}
		if name != "delta 2" && fmt.Sprint(counter) != fmt.Sprint(hist) {
			t.Fatalf("%s: counter series %v\nhistogram series %v", name, counter, hist)
		}
		var sum int64
		for _, v := range counter {
			sum += v
		}
		if sum != total || counter[overflow] != wantOverflow || len(counter) > maxSeries {
			t.Fatalf("%s: %d series, total %d (want %d), overflow %d (want %d)", name, len(counter), sum, total, counter[overflow], wantOverflow)
		}
		return counter
	}

	for s := range 7 { // series 0..2 get their own; 3..6 overflow
		record(s, s+1)
	}
	var rm metricdata.ResourceMetrics
	if err := delta.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	check("delta 1", rm, metricdata.DeltaTemporality, 4+5+6+7, 28)
	cum, err := p.Metrics().Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("cumulative 1", cum, metricdata.CumulativeTemporality, 4+5+6+7, 28)

	record(1, 3)
	record(9, 2) // a new series past the limit
	if err := delta.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	counter := check("delta 2", rm, metricdata.DeltaTemporality, 2, 5)
	svc1 := attribute.NewSet(semconv.Service.String("svc-1"), semconv.Source.String("svc-1"),
		semconv.Target.String("db"), otelsemconv.HTTPResponseStatusCodeKey.Int(200))
	if len(counter) != maxSeries || counter[svc1.Equivalent()] != 3 {
		t.Fatalf("delta 2: counter %v, want svc-1 at 3, the other two series at 0 and the overflow at 2", counter)
	}
	if cum, err = p.Metrics().Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	check("cumulative 2", cum, metricdata.CumulativeTemporality, 4+5+6+7+2, 33)
}

// TestRequestsCounterManySeriesPerService records, interleaved, more
// series per service than its cache of recent series holds, so that
// they evict each other: every series must still count exactly its own
// requests, in the counter and in the histogram.
func TestRequestsCounterManySeriesPerService(t *testing.T) {
	p := newPipeline(t)
	ctx := context.Background()
	want := map[attribute.Distinct]int64{}
	statuses := []int{200, 201, 204, 301, 404, 429, 500, 503}
	for round := range 5 {
		for s := range 3 {
			for tg := range 6 {
				for i, status := range statuses {
					if round > (s+tg+i)%5 {
						continue // series get 1 to 5 requests
					}
					r := telemetry.Request{Service: fmt.Sprintf("svc-%d", s), Target: fmt.Sprintf("dep-%d", tg), DurationMs: 1, Status: status}
					if _, err := p.Record(ctx, &r); err != nil {
						t.Fatal(err)
					}
					set := attribute.NewSet(semconv.Service.String(r.Service), semconv.Source.String(r.Service),
						semconv.Target.String(r.Target), otelsemconv.HTTPResponseStatusCodeKey.Int(status))
					want[set.Equivalent()]++
				}
			}
		}
	}
	rm, err := p.Metrics().Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counter, hist, _ := requestSeries(t, rm)
	if len(want) != 3*6*len(statuses) || fmt.Sprint(counter) != fmt.Sprint(want) || fmt.Sprint(hist) != fmt.Sprint(want) {
		t.Fatalf("%d series\ncounter   %v\nhistogram %v\nwant      %v", len(want), counter, hist, want)
	}
}
