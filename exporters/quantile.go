package exporters

import (
	"math"
	"slices"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Limits of an ExpHistogram: the same as meshobs's request-duration view, so
// that merging never loses resolution a single data point had unless the
// merged values span a wider range than one point could hold.
const (
	// ExpHistogramMaxSize is the most positive buckets an ExpHistogram keeps.
	ExpHistogramMaxSize = 320
	// ExpHistogramMaxScale is the finest scale an ExpHistogram starts at.
	ExpHistogramMaxScale = 20
	expHistogramMinScale = -10
)

// ExpHistogram is a base-2 exponential histogram of non-negative values
// (durations) that merges the SDK's exponential histogram data points,
// whatever their scales, and estimates quantiles from them.
//
// Bucket i at scale s counts values in (base^i, base^(i+1)] with
// base = 2^(2^-s), as in OpenTelemetry. Data points of different scales are
// merged at the smaller scale, downscaling further while the merged range
// needs more than ExpHistogramMaxSize buckets.
//
// The zero value is an empty histogram ready to use. It is not safe for
// concurrent use.
type ExpHistogram struct {
	scale    int32
	offset   int32 // bucket index of counts[0]
	counts   []uint64
	zero     uint64
	count    uint64 // zero + sum(counts)
	min      float64
	max      float64
	sum      float64
	noMinMax bool // some merged point lacked its min or max
}

// start sets the scale of an empty histogram to the finest.
func (h *ExpHistogram) start() {
	if h.count == 0 && len(h.counts) == 0 {
		h.scale = ExpHistogramMaxScale
	}
}

// Count returns the number of values in the histogram.
func (h *ExpHistogram) Count() uint64 { return h.count }

// Max returns the largest value seen, 0 when empty.
func (h *ExpHistogram) Max() float64 { return h.max }

// Min returns the smallest value seen, 0 when empty.
func (h *ExpHistogram) Min() float64 { return h.min }

// Sum returns the sum of the values.
func (h *ExpHistogram) Sum() float64 { return h.sum }

// Scale returns the histogram's current scale.
func (h *ExpHistogram) Scale() int32 {
	if h.count == 0 {
		return ExpHistogramMaxScale
	}
	return h.scale
}

// RelativeError returns the bound on the relative error of Quantile at the
// current scale: base - 1, with base = 2^(2^-scale). An estimate always lies
// in the bucket that holds the true value, and a bucket's ends differ by that
// factor. At scale 4 (values spanning 2^20, e.g. 0.1 ms to 100 s, in 320
// buckets) it is 4.43%; at scale 3, 9.05%; at scale 5, 2.19%.
func (h *ExpHistogram) RelativeError() float64 {
	return math.Exp2(math.Ldexp(1, -int(h.Scale()))) - 1
}

// Clone returns a deep copy of h.
func (h *ExpHistogram) Clone() *ExpHistogram {
	c := *h
	c.counts = slices.Clone(h.counts)
	return &c
}

// Add records one value. Negative, NaN and infinite values are ignored.
func (h *ExpHistogram) Add(v float64) {
	if !(v >= 0) || math.IsInf(v, 0) {
		return
	}
	h.start()
	h.observe(1, v, v, v, true)
	if v == 0 {
		h.zero++
		return
	}
	bin := binOf(v, h.scale)
	if i := int64(bin) - int64(h.offset); len(h.counts) > 0 && i >= 0 && i < int64(len(h.counts)) {
		h.counts[i]++
		return
	}
	h.mergeBuckets(h.scale, bin, []uint64{1})
}

// Merge adds the data point dp. Its negative buckets are ignored: durations
// are never negative.
func (h *ExpHistogram) Merge(dp *metricdata.ExponentialHistogramDataPoint[float64]) {
	var n uint64
	for _, c := range dp.PositiveBucket.Counts {
		n += c
	}
	n += dp.ZeroCount
	if n == 0 {
		return
	}
	h.start()
	lo, okMin := dp.Min.Value()
	hi, okMax := dp.Max.Value()
	h.observe(n, dp.Sum, lo, hi, okMin && okMax)
	h.zero += dp.ZeroCount
	h.mergeBuckets(dp.Scale, dp.PositiveBucket.Offset, dp.PositiveBucket.Counts)
}

// MergeHistogram adds every value of o to h.
func (h *ExpHistogram) MergeHistogram(o *ExpHistogram) {
	if o == nil || o.count == 0 {
		return
	}
	h.start()
	h.observe(o.count, o.sum, o.min, o.max, !o.noMinMax)
	h.zero += o.zero
	h.mergeBuckets(o.scale, o.offset, o.counts)
}

func (h *ExpHistogram) observe(n uint64, sum, lo, hi float64, minMax bool) {
	if !minMax {
		h.noMinMax = true
	}
	if h.count == 0 {
		h.min, h.max = lo, hi
	} else {
		h.min, h.max = min(h.min, lo), max(h.max, hi)
	}
	h.count += n
	h.sum += sum
}

// mergeBuckets adds counts (bucket offset.. at scale) to h, choosing the
// finest common scale at which the union fits in ExpHistogramMaxSize buckets.
func (h *ExpHistogram) mergeBuckets(scale, offset int32, counts []uint64) {
	first, last := nonZeroRange(counts)
	if first > last {
		return
	}
	t := min(h.scale, scale)
	lo := (int64(offset) + int64(first)) >> (scale - t)
	hi := (int64(offset) + int64(last)) >> (scale - t)
	hf, hl := nonZeroRange(h.counts)
	if hf <= hl {
		lo = min(lo, (int64(h.offset)+int64(hf))>>(h.scale-t))
		hi = max(hi, (int64(h.offset)+int64(hl))>>(h.scale-t))
	}
	for hi-lo+1 > ExpHistogramMaxSize && t > expHistogramMinScale {
		t--
		lo >>= 1
		hi >>= 1
	}
	merged := make([]uint64, hi-lo+1)
	add := func(scale, offset int32, counts []uint64) {
		for i, c := range counts {
			if c != 0 {
				merged[(int64(offset)+int64(i))>>(scale-t)-lo] += c
			}
		}
	}
	add(h.scale, h.offset, h.counts)
	add(scale, offset, counts)
	h.scale, h.offset, h.counts = t, int32(lo), merged
	// The count was already raised by observe; counts only moved buckets.
}

func nonZeroRange(counts []uint64) (first, last int) {
	first, last = 0, len(counts)-1
	for first <= last && counts[first] == 0 {
		first++
	}
	for last >= first && counts[last] == 0 {
		last--
	}
	return first, last
}

// Quantile estimates the q-quantile (0 <= q <= 1) of the values: the
// ⌈q·N⌉-th smallest of the N values (nearest rank). It finds the bucket
// holding that value and places the estimate inside it by log-linear
// interpolation, assuming the bucket's values are spread evenly in log
// space, then clamps it to [Min, Max]. Its relative error is below
// RelativeError; the first and the last rank give Min and Max exactly, and
// an empty histogram gives 0.
func (h *ExpHistogram) Quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	if q <= 0 {
		return h.clamp(h.min)
	}
	if q >= 1 {
		return h.max
	}
	rank := math.Ceil(q * float64(h.count)) // 1-based rank of the wanted value
	rank = max(rank, 1)
	if !h.noMinMax {
		// The smallest and the largest value are known exactly.
		if rank == 1 {
			return h.min
		}
		if rank >= float64(h.count) {
			return h.max
		}
	}
	cum := float64(h.zero)
	if rank <= cum {
		return h.clamp(0)
	}
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		n := float64(c)
		if rank <= cum+n {
			// The k-th of n values spread evenly in log space sits (k-½)/n of
			// the way through the bucket.
			f := (rank - cum - 0.5) / n
			idx := float64(int64(h.offset) + int64(i))
			return h.clamp(math.Exp2(math.Ldexp(idx+f, -int(h.scale))))
		}
		cum += n
	}
	return h.max
}

func (h *ExpHistogram) clamp(v float64) float64 {
	if h.noMinMax {
		return v
	}
	return min(max(v, h.min), h.max)
}

// binOf returns the index of the bucket holding v > 0 at scale, exactly as
// the OTel SDK's exponential histogram computes it (so that a value lands
// in the same bucket whether it comes from a data point or from Add).
func binOf(v float64, scale int32) int32 {
	frac, exp := math.Frexp(v)
	if scale <= 0 {
		correction := int32(1)
		if frac == .5 {
			correction = 2
		}
		return (int32(exp) - correction) >> (-scale)
	}
	return int32(exp)<<scale + int32(math.Log(frac)*math.Ldexp(math.Log2E, int(scale))) - 1
}
