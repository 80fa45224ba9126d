package exporters_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/meshobs/meshobs/exporters"
)

// exactQuantile is the nearest-rank q-quantile of sorted: the ⌈q·N⌉-th smallest value.
func exactQuantile(sorted []float64, q float64) float64 {
	k := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(k, 1)-1]
}

// sample is one value with the series (status code) it is recorded in.
type sample struct {
	v      float64
	status int
}

// recordThroughSDK records the samples with a real MeterProvider configured
// as meshobs's pipeline configures it, and returns the collected data points.
func recordThroughSDK(t *testing.T, samples []sample) []metricdata.ExponentialHistogramDataPoint[float64] {
	t.Helper()
	reader := exporters.NewMetricReader()
	mp := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(reader),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Name: "d"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: exporters.ExpHistogramMaxSize, MaxScale: exporters.ExpHistogramMaxScale}},
		)),
	)
	defer mp.Shutdown(context.Background())
	h, err := mp.Meter("test").Float64Histogram("d")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range samples {
		h.Record(ctx, s.v, statusAttr(s.status))
	}
	rm, err := reader.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dps []metricdata.ExponentialHistogramDataPoint[float64]
	exporters.ExponentialHistograms(&rm, "d", nil, func(dp metricdata.ExponentialHistogramDataPoint[float64]) {
		dps = append(dps, dp)
	})
	return dps
}

var statusAttrs = map[int]attribute.Set{}

func statusAttr(status int) metric.MeasurementOption {
	s, ok := statusAttrs[status]
	if !ok {
		s = attribute.NewSet(attribute.Int("http.response.status_code", status))
		statusAttrs[status] = s
	}
	return metric.WithAttributeSet(s)
}

// distributions are the known distributions of the accuracy test, in ms.
func distributions() []struct {
	name    string
	samples []sample
} {
	r := rand.New(rand.NewPCG(4, 2))
	const n = 20_000
	gen := func(f func() sample) []sample {
		out := make([]sample, n)
		for i := range out {
			out[i] = f()
		}
		return out
	}
	return []struct {
		name    string
		samples []sample
	}{
		{"uniform 0.1-100ms", gen(func() sample { return sample{0.1 + r.Float64()*99.9, 200} })},
		{"exponential mean 40ms", gen(func() sample { return sample{r.ExpFloat64() * 40, 200} })},
		{"bimodal 5ms/800ms", gen(func() sample {
			if r.Float64() < 0.9 {
				return sample{5 * math.Exp(0.3*r.NormFloat64()), 200}
			}
			return sample{800 * math.Exp(0.2*r.NormFloat64()), 200}
		})},
		{"log-uniform 50us-5min", gen(func() sample { return sample{0.05 * math.Pow(6e6, r.Float64()), 200} })},
		{"bimodal over 3 series (merged)", gen(func() sample {
			if r.Float64() < 0.9 {
				return sample{5 * math.Exp(0.3*r.NormFloat64()), 200 + r.IntN(2)}
			}
			return sample{800 * math.Exp(0.2*r.NormFloat64()), 503}
		})},
		{"with zeros", gen(func() sample {
			if r.Float64() < 0.3 {
				return sample{0, 200}
			}
			return sample{r.ExpFloat64() * 3, 200}
		})},
	}
}

// TestQuantileAccuracy checks estimates against exact percentiles of known
// distributions recorded through the real SDK, within the stated bound.
func TestQuantileAccuracy(t *testing.T) {
	qs := []float64{0.5, 0.9, 0.95, 0.99, 0.999, 1}
	for _, d := range distributions() {
		t.Run(d.name, func(t *testing.T) {
			var h exporters.ExpHistogram
			for _, dp := range recordThroughSDK(t, d.samples) {
				h.Merge(&dp)
			}
			values := make([]float64, len(d.samples))
			for i, s := range d.samples {
				values[i] = s.v
			}
			slices.Sort(values)
			if h.Count() != uint64(len(values)) {
				t.Fatalf("count %d, want %d", h.Count(), len(values))
			}
			bound := h.RelativeError()
			worst := 0.0
			var errs []string
			for _, q := range qs {
				want := exactQuantile(values, q)
				got := h.Quantile(q)
				var rel float64
				if want != 0 {
					rel = math.Abs(got-want) / want
				} else if got != 0 {
					rel = math.Inf(1)
				}
				worst = max(worst, rel)
				errs = append(errs, fmt.Sprintf("p%v %.2f%%", 100*q, 100*rel))
				if rel > bound {
					t.Errorf("q%v = %.6g, exact %.6g: relative error %.3f%% over the bound %.3f%%", q, got, want, 100*rel, 100*bound)
				}
			}
			t.Logf("scale %d, bound %.2f%%, worst relative error %.2f%% (%s)", h.Scale(), 100*bound, 100*worst, strings.Join(errs, ", "))
			if h.Quantile(1) != values[len(values)-1] {
				t.Errorf("max %v, want exact %v", h.Quantile(1), values[len(values)-1])
			}
		})
	}
}

// TestAddMatchesSDK checks that Add buckets values exactly as the SDK does.
func TestAddMatchesSDK(t *testing.T) {
	for _, d := range distributions() {
		t.Run(d.name, func(t *testing.T) {
			var fromSDK, added exporters.ExpHistogram
			for _, dp := range recordThroughSDK(t, d.samples) {
				fromSDK.Merge(&dp)
			}
			for _, s := range d.samples {
				added.Add(s.v)
			}
			if fromSDK.Count() != added.Count() || fromSDK.Max() != added.Max() || fromSDK.Min() != added.Min() {
				t.Fatalf("count/min/max %d/%v/%v, SDK %d/%v/%v", added.Count(), added.Min(), added.Max(), fromSDK.Count(), fromSDK.Min(), fromSDK.Max())
			}
			// Several series merge at the coarsest of their scales; one series
			// recorded value by value must land on the SDK's own scale.
			if added.Scale() < fromSDK.Scale() {
				t.Errorf("scale %d, SDK %d", added.Scale(), fromSDK.Scale())
			}
			for _, q := range []float64{0.5, 0.9, 0.99} {
				a, b := added.Quantile(q), fromSDK.Quantile(q)
				if math.Abs(a-b) > fromSDK.RelativeError()*b {
					t.Errorf("q%v: Add %v, SDK %v", q, a, b)
				}
			}
		})
	}
}

func dp(scale, offset int32, zero uint64, counts ...uint64) *metricdata.ExponentialHistogramDataPoint[float64] {
	var n uint64 = zero
	for _, c := range counts {
		n += c
	}
	return &metricdata.ExponentialHistogramDataPoint[float64]{
		Count:          n,
		Scale:          scale,
		ZeroCount:      zero,
		PositiveBucket: metricdata.ExponentialBucket{Offset: offset, Counts: counts},
	}
}

func TestExpHistogramMerge(t *testing.T) {
	tests := []struct {
		name      string
		points    []*metricdata.ExponentialHistogramDataPoint[float64]
		wantScale int32
		wantCount uint64
		q         float64
		lo, hi    float64 // the estimate's bucket
	}{
		{
			name:      "same scale adds bucket by bucket",
			points:    []*metricdata.ExponentialHistogramDataPoint[float64]{dp(0, 3, 0, 1, 1), dp(0, 4, 0, 2)},
			wantScale: 0, wantCount: 4, q: 0.5, lo: 16, hi: 32,
		},
		{
			name: "finer point downscaled to the coarser scale",
			// scale 2 buckets 4, 5 are (2, 2^1.25], (2^1.25, 2^1.5]: bucket 1 at scale 0.
			points:    []*metricdata.ExponentialHistogramDataPoint[float64]{dp(2, 4, 0, 1, 2), dp(0, 1, 0, 3)},
			wantScale: 0, wantCount: 6, q: 1.0 / 6, lo: 2, hi: 4,
		},
		{
			name:      "negative indexes (values below 1) downscale by flooring",
			points:    []*metricdata.ExponentialHistogramDataPoint[float64]{dp(1, -3, 0, 5), dp(0, -1, 0, 1)},
			wantScale: 0, wantCount: 6, q: 0.5, lo: 0.25, hi: 0.5,
		},
		{
			name:      "zero bucket first",
			points:    []*metricdata.ExponentialHistogramDataPoint[float64]{dp(3, 0, 2, 1)},
			wantScale: 3, wantCount: 3, q: 0.5, lo: 0, hi: 0,
		},
		{
			name: "ranges too wide for MaxSize downscale further",
			// bucket 0 and bucket 1000 at scale 0 need 1001 buckets: scale -2 holds them in 251.
			points:    []*metricdata.ExponentialHistogramDataPoint[float64]{dp(0, 0, 0, 1), dp(0, 1000, 0, 1)},
			wantScale: -2, wantCount: 2, q: 0.5, lo: 1, hi: 256,
		},
		{
			name:      "empty points change nothing",
			points:    []*metricdata.ExponentialHistogramDataPoint[float64]{dp(20, 0, 0), dp(1, 8, 0, 1)},
			wantScale: 1, wantCount: 1, q: 0.5, lo: 16, hi: math.Sqrt2 * 16,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h exporters.ExpHistogram
			for _, p := range tt.points {
				h.Merge(p)
			}
			if h.Scale() != tt.wantScale || h.Count() != tt.wantCount {
				t.Fatalf("scale %d count %d, want %d %d", h.Scale(), h.Count(), tt.wantScale, tt.wantCount)
			}
			got := h.Quantile(tt.q)
			if got < tt.lo || got > tt.hi {
				t.Errorf("q%v = %v, want in [%v, %v]", tt.q, got, tt.lo, tt.hi)
			}
		})
	}
}

func TestExpHistogramQuantileEdges(t *testing.T) {
	var empty exporters.ExpHistogram
	if got := empty.Quantile(0.5); got != 0 {
		t.Errorf("empty: %v", got)
	}
	var one exporters.ExpHistogram
	one.Add(42.5)
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if got := one.Quantile(q); got != 42.5 {
			t.Errorf("single value: q%v = %v, want 42.5 (clamped to min and max)", q, got)
		}
	}
	var h exporters.ExpHistogram
	for _, v := range []float64{-1, math.NaN(), math.Inf(1), 0, 0, 3, 5} {
		h.Add(v)
	}
	if h.Count() != 4 || h.Min() != 0 || h.Max() != 5 {
		t.Errorf("count/min/max %d/%v/%v, want 4/0/5 (invalid values ignored)", h.Count(), h.Min(), h.Max())
	}
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("median of 0,0,3,5 = %v, want 0", got)
	}
	c := h.Clone()
	c.Add(1000)
	if h.Count() != 4 || c.Count() != 5 {
		t.Errorf("Clone shares state: %d %d", h.Count(), c.Count())
	}
	var m exporters.ExpHistogram
	m.MergeHistogram(&h)
	m.MergeHistogram(nil)
	if m.Count() != 4 || m.Quantile(1) != 5 {
		t.Errorf("MergeHistogram: count %d max %v", m.Count(), m.Quantile(1))
	}
}
