package exporters

import (
	"context"
	"slices"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

var _ sdkmetric.Reader = (*MetricReader)(nil)

// MetricReader is an in-memory metric reader: register it with
// sdkmetric.WithReader and read the SDK's aggregated data on demand.
// It uses cumulative temporality, so every collection sees totals since start.
//
// Unlike a bare ManualReader it stays readable after Shutdown: Shutdown takes
// a last collection, and Snapshot returns it from then on.
type MetricReader struct {
	*sdkmetric.ManualReader

	mu   sync.Mutex
	last *metricdata.ResourceMetrics // set by Shutdown
}

// NewMetricReader returns a MetricReader; opts are passed to the underlying ManualReader.
func NewMetricReader(opts ...sdkmetric.ManualReaderOption) *MetricReader {
	return &MetricReader{ManualReader: sdkmetric.NewManualReader(opts...)}
}

// Snapshot collects and returns everything the SDK has aggregated so far;
// after Shutdown, a deep copy of the last collection. Either way the
// returned data is the caller's to change.
func (r *MetricReader) Snapshot(ctx context.Context) (metricdata.ResourceMetrics, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last != nil {
		return cloneResourceMetrics(r.last), nil
	}
	var rm metricdata.ResourceMetrics
	err := r.Collect(ctx, &rm)
	return rm, err
}

// Shutdown keeps a last collection for Snapshot, then shuts the reader down.
func (r *MetricReader) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		var rm metricdata.ResourceMetrics
		if err := r.Collect(ctx, &rm); err == nil {
			r.last = &rm
		}
	}
	return r.ManualReader.Shutdown(ctx)
}

// ExponentialHistograms calls f for every data point of the exponential
// histogram instrument name whose attributes satisfy match (nil matches all).
func ExponentialHistograms(rm *metricdata.ResourceMetrics, name string, match func(attribute.Set) bool, f func(metricdata.ExponentialHistogramDataPoint[float64])) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			h, ok := m.Data.(metricdata.ExponentialHistogram[float64])
			if !ok {
				continue
			}
			for _, dp := range h.DataPoints {
				if match == nil || match(dp.Attributes) {
					f(dp)
				}
			}
		}
	}
}

// cloneResourceMetrics deep-copies rm's slices (attribute sets, resources
// and scopes are immutable and shared).
func cloneResourceMetrics(rm *metricdata.ResourceMetrics) metricdata.ResourceMetrics {
	out := metricdata.ResourceMetrics{Resource: rm.Resource, ScopeMetrics: slices.Clone(rm.ScopeMetrics)}
	for i := range out.ScopeMetrics {
		sm := &out.ScopeMetrics[i]
		sm.Metrics = slices.Clone(sm.Metrics)
		for j := range sm.Metrics {
			sm.Metrics[j].Data = cloneAggregation(sm.Metrics[j].Data)
		}
	}
	return out
}

func cloneAggregation(a metricdata.Aggregation) metricdata.Aggregation {
	switch d := a.(type) {
	case metricdata.Sum[int64]:
		d.DataPoints = cloneNumberPoints(d.DataPoints)
		return d
	case metricdata.Sum[float64]:
		d.DataPoints = cloneNumberPoints(d.DataPoints)
		return d
	case metricdata.Gauge[int64]:
		d.DataPoints = cloneNumberPoints(d.DataPoints)
		return d
	case metricdata.Gauge[float64]:
		d.DataPoints = cloneNumberPoints(d.DataPoints)
		return d
	case metricdata.Histogram[int64]:
		d.DataPoints = cloneHistogramPoints(d.DataPoints)
		return d
	case metricdata.Histogram[float64]:
		d.DataPoints = cloneHistogramPoints(d.DataPoints)
		return d
	case metricdata.ExponentialHistogram[int64]:
		d.DataPoints = cloneExpPoints(d.DataPoints)
		return d
	case metricdata.ExponentialHistogram[float64]:
		d.DataPoints = cloneExpPoints(d.DataPoints)
		return d
	case metricdata.Summary:
		d.DataPoints = slices.Clone(d.DataPoints)
		for i := range d.DataPoints {
			d.DataPoints[i].QuantileValues = slices.Clone(d.DataPoints[i].QuantileValues)
		}
		return d
	}
	return a
}

func cloneNumberPoints[N int64 | float64](dps []metricdata.DataPoint[N]) []metricdata.DataPoint[N] {
	out := slices.Clone(dps)
	for i := range out {
		out[i].Exemplars = slices.Clone(out[i].Exemplars)
	}
	return out
}

func cloneHistogramPoints[N int64 | float64](dps []metricdata.HistogramDataPoint[N]) []metricdata.HistogramDataPoint[N] {
	out := slices.Clone(dps)
	for i := range out {
		out[i].Bounds = slices.Clone(out[i].Bounds)
		out[i].BucketCounts = slices.Clone(out[i].BucketCounts)
		out[i].Exemplars = slices.Clone(out[i].Exemplars)
	}
	return out
}

func cloneExpPoints[N int64 | float64](dps []metricdata.ExponentialHistogramDataPoint[N]) []metricdata.ExponentialHistogramDataPoint[N] {
	out := slices.Clone(dps)
	for i := range out {
		out[i].PositiveBucket.Counts = slices.Clone(out[i].PositiveBucket.Counts)
		out[i].NegativeBucket.Counts = slices.Clone(out[i].NegativeBucket.Counts)
		out[i].Exemplars = slices.Clone(out[i].Exemplars)
	}
	return out
}
