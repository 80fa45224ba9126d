package exporters

import (
	"context"
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

// Snapshot collects and returns everything the SDK has aggregated so far.
// The returned data is the caller's.
func (r *MetricReader) Snapshot(ctx context.Context) (metricdata.ResourceMetrics, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last != nil {
		return *r.last, nil
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
