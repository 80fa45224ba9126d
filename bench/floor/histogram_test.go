package main

import "testing"

func TestHistogramPercentile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []float64
		p      float64
		want   float64
	}{
		{"empty", nil, 50, 0},
		{"capped at max", []float64{7.25}, 50, 7.25},
		{"bucket upper bound", []float64{3, 7.25, 12.5}, 50, 10},
		{"zero bucket", []float64{0, 0, 1}, 50, 0},
		{"overflow bucket is max", []float64{1, 20000}, 99, 20000},
		{"p100 is max", []float64{1, 2, 60}, 100, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			for _, v := range tc.values {
				h.observe(v)
			}
			if got := h.percentile(tc.p); got != tc.want {
				t.Fatalf("p%v of %v = %v, want %v", tc.p, tc.values, got, tc.want)
			}
		})
	}
}

func TestTraceRetention(t *testing.T) {
	n := newNode(fixedClock(), countingIDs())
	for i := range traceRetention + 1 {
		id := [16]byte{}
		id[0], id[1], id[15] = byte(i>>8), byte(i), 1
		n.holdTrace(string(id[:]), &traceRec{})
	}
	if len(n.traces) != traceRetention {
		t.Fatalf("holding %d traces, want %d", len(n.traces), traceRetention)
	}
	first := string(append(make([]byte, 15), 1)) // i == 0
	if _, ok := n.traces[first]; ok {
		t.Fatal("oldest trace not dropped")
	}
}
