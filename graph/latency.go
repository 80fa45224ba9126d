package graph

import (
	"time"

	"github.com/meshobs/meshobs/exporters"
)

// Latency summarises call durations: exact count, sum, min and max, and
// quantiles from a base-2 exponential histogram of milliseconds — the kind
// the SDK aggregates record durations into, so span-derived and
// record-derived latencies of one edge merge (see Histogram).
// The zero value is an empty summary. Copies share the histogram: use
// Clone for an independent one (Graph.Edges returns clones).
type Latency struct {
	// Count is the number of durations recorded.
	Count int64
	// Sum, Min and Max are exact over every recorded duration.
	Sum, Min, Max time.Duration

	hist *exporters.ExpHistogram
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
	if l.hist == nil {
		l.hist = new(exporters.ExpHistogram)
	}
	l.hist.Add(float64(d) / float64(time.Millisecond))
}

// Quantile estimates the q-quantile (0 <= q <= 1) of the recorded
// durations; it is 0 for an empty summary and always within [Min, Max].
// Its relative error is at most Histogram().RelativeError().
func (l *Latency) Quantile(q float64) time.Duration {
	if l.Count == 0 {
		return 0
	}
	d := time.Duration(l.hist.Quantile(q) * float64(time.Millisecond))
	return min(max(d, l.Min), l.Max)
}

// Mean returns the average recorded duration, 0 for an empty summary.
func (l *Latency) Mean() time.Duration {
	if l.Count == 0 {
		return 0
	}
	return l.Sum / time.Duration(l.Count)
}

// Histogram returns a copy of the durations' histogram, in milliseconds;
// nil for an empty summary.
func (l *Latency) Histogram() *exporters.ExpHistogram {
	if l.hist == nil {
		return nil
	}
	return l.hist.Clone()
}

// Clone returns a summary that shares nothing with l.
func (l Latency) Clone() Latency {
	l.hist = l.Histogram()
	return l
}
