package graph

import (
	"math"
	"time"
)

// latencyBuckets is the number of log-scale buckets of a Latency: bucket 0
// holds durations under 1µs, bucket i >= 1 holds [2^((i-1)/4), 2^(i/4)) µs,
// and the last one everything longer (about 19 hours and up).
const latencyBuckets = 1 + 4*36

// Latency is a fixed-size summary of call durations (about 1.2 KiB): exact
// count, sum, min and max, and quantiles from log-scale buckets whose width
// is 19% of their value, so an estimate is within about 10% of the truth.
// The zero value is an empty summary; it is a value type and copies cleanly.
type Latency struct {
	// Count is the number of durations recorded.
	Count int64
	// Sum, Min and Max are exact over every recorded duration.
	Sum, Min, Max time.Duration

	buckets [latencyBuckets]uint64
}

// Record adds one duration; negative durations count as zero.
func (l *Latency) Record(d time.Duration) {
	d = max(d, 0)
	if l.Count == 0 || d < l.Min {
		l.Min = d
	}
	if d > l.Max {
		l.Max = d
	}
	l.Count++
	l.Sum += d
	l.buckets[latencyBucket(d)]++
}

func latencyBucket(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	return min(1+int(math.Floor(math.Log2(us)*4)), latencyBuckets-1)
}

// Quantile estimates the q-quantile (0 <= q <= 1) of the recorded
// durations; it is 0 for an empty summary and always within [Min, Max].
func (l *Latency) Quantile(q float64) time.Duration {
	if l.Count == 0 {
		return 0
	}
	if q <= 0 {
		return l.Min
	}
	if q >= 1 {
		return l.Max
	}
	rank := uint64(math.Ceil(q * float64(l.Count)))
	var seen uint64
	for i, n := range l.buckets {
		seen += n
		if seen < rank {
			continue
		}
		switch i {
		case 0:
			return l.Min
		case latencyBuckets - 1: // open-ended
			return l.Max
		}
		// The geometric middle of the bucket halves the worst-case relative error.
		mid := time.Duration(math.Exp2((float64(i)-0.5)/4) * float64(time.Microsecond))
		return min(max(mid, l.Min), l.Max)
	}
	return l.Max
}

// Mean returns the average recorded duration, 0 for an empty summary.
func (l *Latency) Mean() time.Duration {
	if l.Count == 0 {
		return 0
	}
	return l.Sum / time.Duration(l.Count)
}
