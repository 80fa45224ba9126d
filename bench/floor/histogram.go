package main

import "math"

// bounds are the OpenTelemetry SDK's default explicit histogram boundaries (ms):
// percentiles come out as coarse as meshobs's own, from bounded memory.
var bounds = [...]float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}

// histogram counts observations per bucket, (bounds[i-1], bounds[i]], plus an
// overflow bucket, and keeps the exact maximum.
type histogram struct {
	buckets [len(bounds) + 1]int
	count   int
	max     float64
}

func (h *histogram) observe(v float64) {
	i := 0
	for i < len(bounds) && v > bounds[i] {
		i++
	}
	h.buckets[i]++
	h.count++
	h.max = math.Max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.buckets {
		h.buckets[i] += c
	}
	h.count += o.count
	h.max = math.Max(h.max, o.max)
}

// percentile returns the upper bound of the bucket holding the nearest-rank p-th
// percentile, capped at the maximum seen; 0 when empty.
func (h *histogram) percentile(p float64) float64 {
	if h.count == 0 {
		return 0
	}
	rank := max(int(math.Ceil(p/100*float64(h.count))), 1)
	seen := 0
	for i, c := range h.buckets {
		seen += c
		if seen >= rank {
			if i < len(bounds) {
				return math.Min(bounds[i], h.max)
			}
			break
		}
	}
	return h.max
}
