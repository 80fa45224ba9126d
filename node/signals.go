package node

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/semconv"
)

// Golden signals: counts and rates come from the LogStore's exact
// aggregates; latency percentiles from the request-duration histogram the
// SDK aggregated, read back through the pipeline's metric reader.

type serviceSignalsJSON struct {
	Service      string           `json:"service"`
	RequestCount int64            `json:"request_count"`
	ErrorCount   int64            `json:"error_count"`
	ErrorRate    float64          `json:"error_rate"`
	RatePerS     float64          `json:"rate_per_s"`
	Latency      *latencyJSON     `json:"latency_ms"`
	StatusCodes  map[string]int64 `json:"status_codes"`
}

func (n *Node) handleStats(ctx context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	service, err := checkName("service", body.Service.get(), false)
	if err != nil {
		return nil, err
	}
	lat, err := durationsBy(ctx, n, func(a attribute.Set) (string, bool) {
		v, ok := a.Value(semconv.Service)
		return v.AsString(), ok && (service == "" || v.AsString() == service)
	})
	if err != nil {
		return nil, err
	}
	counts := n.p.Logs.Services(service, n.p.Now())
	out := make([]serviceSignalsJSON, len(counts))
	for i, c := range counts {
		s := serviceSignalsJSON{
			Service:      c.Service,
			RequestCount: c.Requests,
			ErrorCount:   c.Errors,
			RatePerS:     c.RatePerSecond,
			Latency:      latency(lat[c.Service], true),
			StatusCodes:  make(map[string]int64, len(c.StatusCodes)),
		}
		if c.Requests > 0 {
			s.ErrorRate = float64(c.Errors) / float64(c.Requests)
		}
		for code, k := range c.StatusCodes {
			s.StatusCodes[strconv.Itoa(code)] = k
		}
		out[i] = s
	}
	var exports []outbound.Stat
	if n.exports != nil {
		exports = n.exports()
	}
	b = appendHeader(b, "golden_signals", body.MsgID)
	return appendObject(b, struct {
		Services []serviceSignalsJSON `json:"services"`
		Exports  []outbound.Stat      `json:"exports,omitempty"` // only with outbound exporters configured
	}{out, exports})
}

// durationsBy merges the request-duration histogram points the SDK has
// aggregated so far by key; points for which key reports false are skipped.
func durationsBy[K comparable](ctx context.Context, n *Node, key func(attribute.Set) (K, bool)) (map[K]*exporters.ExpHistogram, *Error) {
	rm, err := n.p.Metrics.Snapshot(ctx)
	if err != nil {
		return nil, &Error{Code: CodeCrash, Text: "collecting metrics: " + err.Error()}
	}
	out := make(map[K]*exporters.ExpHistogram)
	exporters.ExponentialHistograms(&rm, semconv.RequestDurationName, nil, func(dp metricdata.ExponentialHistogramDataPoint[float64]) {
		k, ok := key(dp.Attributes)
		if !ok {
			return
		}
		h := out[k]
		if h == nil {
			h = new(exporters.ExpHistogram)
			out[k] = h
		}
		h.Merge(&dp)
	})
	return out, nil
}

// latency summarises h for a reply; p90 only when withP90. An empty or nil
// histogram gives zeros.
func latency(h *exporters.ExpHistogram, withP90 bool) *latencyJSON {
	if h == nil {
		h = new(exporters.ExpHistogram)
	}
	l := &latencyJSON{
		P50: roundMs(h.Quantile(0.50)),
		P95: roundMs(h.Quantile(0.95)),
		P99: roundMs(h.Quantile(0.99)),
		Max: roundMs(h.Max()),
	}
	if withP90 {
		p90 := roundMs(h.Quantile(0.90))
		l.P90 = &p90
	}
	return l
}

// roundMs keeps six significant digits: estimates are good to a few
// percent, and the exact max of inputs such as 812.4 stays as given.
func roundMs(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// pairDurations merges the request-duration histograms of each (source,
// target) pair, over the series whose status matches f.
func pairDurations(ctx context.Context, n *Node, f exporters.LogFilter) (map[[2]string]*exporters.ExpHistogram, *Error) {
	return durationsBy(ctx, n, func(a attribute.Set) ([2]string, bool) {
		src, ok1 := a.Value(semconv.Source)
		dst, ok2 := a.Value(semconv.Target)
		if !ok1 || !ok2 {
			return [2]string{}, false
		}
		k := [2]string{src.AsString(), dst.AsString()}
		if (f.Source != "" && f.Source != k[0]) || (f.Target != "" && f.Target != k[1]) {
			return k, false
		}
		v, _ := a.Value(semconv.StatusCode)
		status := int(v.AsInt64())
		return k, (f.Status == 0 || f.Status == status) && (f.StatusClass == 0 || f.StatusClass == status/100)
	})
}

// edgeDurations merges, per graph edge, the request-duration histograms of
// its records with the durations of its cross-service spans, the same calls
// the edge's request_count counts.
func edgeDurations(ctx context.Context, n *Node) (map[[2]string]*exporters.ExpHistogram, *Error) {
	lat, err := pairDurations(ctx, n, exporters.LogFilter{})
	if err != nil {
		return nil, err
	}
	for _, e := range n.p.Graph.Edges() {
		// A call's own duration is its callee's (server) span when there is
		// one; Jaeger-rule calls between other kinds of spans have the caller's.
		h := e.ServerLatency.Histogram()
		if h == nil {
			h = e.ClientLatency.Histogram()
		}
		if h == nil {
			continue
		}
		k := [2]string{e.Source, e.Target}
		if m := lat[k]; m != nil {
			m.MergeHistogram(h)
		} else {
			lat[k] = h
		}
	}
	return lat, nil
}
