package telemetry

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// toResourceMetrics converts received OTLP metrics into the SDK's metric
// data, which the outbound metric exporters take, one ResourceMetrics per
// OTLP resource. Exemplars are left out.
func toResourceMetrics(md pmetric.Metrics) []metricdata.ResourceMetrics {
	rms := md.ResourceMetrics()
	out := make([]metricdata.ResourceMetrics, rms.Len())
	for i := range rms.Len() {
		rm := rms.At(i)
		out[i].Resource = toResource(rm.Resource(), rm.SchemaUrl())
		sms := rm.ScopeMetrics()
		out[i].ScopeMetrics = make([]metricdata.ScopeMetrics, sms.Len())
		for j := range sms.Len() {
			sm := sms.At(j)
			dst := &out[i].ScopeMetrics[j]
			dst.Scope = toScope(sm.Scope(), sm.SchemaUrl())
			ms := sm.Metrics()
			dst.Metrics = make([]metricdata.Metrics, 0, ms.Len())
			for k := range ms.Len() {
				m := ms.At(k)
				if data := toAggregation(m); data != nil {
					dst.Metrics = append(dst.Metrics, metricdata.Metrics{
						Name: m.Name(), Description: m.Description(), Unit: m.Unit(), Data: data})
				}
			}
		}
	}
	return out
}

func toAggregation(m pmetric.Metric) metricdata.Aggregation {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		if intPoints(dps) {
			return metricdata.Gauge[int64]{DataPoints: numberPoints(dps, pmetric.NumberDataPoint.IntValue)}
		}
		return metricdata.Gauge[float64]{DataPoints: numberPoints(dps, asDouble)}
	case pmetric.MetricTypeSum:
		s := m.Sum()
		t := toTemporality(s.AggregationTemporality())
		if intPoints(s.DataPoints()) {
			return metricdata.Sum[int64]{DataPoints: numberPoints(s.DataPoints(), pmetric.NumberDataPoint.IntValue),
				Temporality: t, IsMonotonic: s.IsMonotonic()}
		}
		return metricdata.Sum[float64]{DataPoints: numberPoints(s.DataPoints(), asDouble),
			Temporality: t, IsMonotonic: s.IsMonotonic()}
	case pmetric.MetricTypeHistogram:
		h := m.Histogram()
		dps := h.DataPoints()
		out := metricdata.Histogram[float64]{Temporality: toTemporality(h.AggregationTemporality()),
			DataPoints: make([]metricdata.HistogramDataPoint[float64], dps.Len())}
		for i := range dps.Len() {
			dp := dps.At(i)
			p := &out.DataPoints[i]
			p.Attributes, p.StartTime, p.Time = attrSet(dp.Attributes()), dp.StartTimestamp().AsTime(), dp.Timestamp().AsTime()
			p.Count, p.Sum = dp.Count(), dp.Sum()
			p.Bounds, p.BucketCounts = dp.ExplicitBounds().AsRaw(), dp.BucketCounts().AsRaw()
			if dp.HasMin() {
				p.Min = metricdata.NewExtrema(dp.Min())
			}
			if dp.HasMax() {
				p.Max = metricdata.NewExtrema(dp.Max())
			}
		}
		return out
	case pmetric.MetricTypeExponentialHistogram:
		h := m.ExponentialHistogram()
		dps := h.DataPoints()
		out := metricdata.ExponentialHistogram[float64]{Temporality: toTemporality(h.AggregationTemporality()),
			DataPoints: make([]metricdata.ExponentialHistogramDataPoint[float64], dps.Len())}
		for i := range dps.Len() {
			dp := dps.At(i)
			p := &out.DataPoints[i]
			p.Attributes, p.StartTime, p.Time = attrSet(dp.Attributes()), dp.StartTimestamp().AsTime(), dp.Timestamp().AsTime()
			p.Count, p.Sum, p.Scale, p.ZeroCount, p.ZeroThreshold = dp.Count(), dp.Sum(), dp.Scale(), dp.ZeroCount(), dp.ZeroThreshold()
			p.PositiveBucket = metricdata.ExponentialBucket{Offset: dp.Positive().Offset(), Counts: dp.Positive().BucketCounts().AsRaw()}
			p.NegativeBucket = metricdata.ExponentialBucket{Offset: dp.Negative().Offset(), Counts: dp.Negative().BucketCounts().AsRaw()}
			if dp.HasMin() {
				p.Min = metricdata.NewExtrema(dp.Min())
			}
			if dp.HasMax() {
				p.Max = metricdata.NewExtrema(dp.Max())
			}
		}
		return out
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		out := metricdata.Summary{DataPoints: make([]metricdata.SummaryDataPoint, dps.Len())}
		for i := range dps.Len() {
			dp := dps.At(i)
			p := &out.DataPoints[i]
			p.Attributes, p.StartTime, p.Time = attrSet(dp.Attributes()), dp.StartTimestamp().AsTime(), dp.Timestamp().AsTime()
			p.Count, p.Sum = dp.Count(), dp.Sum()
			qs := dp.QuantileValues()
			p.QuantileValues = make([]metricdata.QuantileValue, qs.Len())
			for j := range qs.Len() {
				p.QuantileValues[j] = metricdata.QuantileValue{Quantile: qs.At(j).Quantile(), Value: qs.At(j).Value()}
			}
		}
		return out
	}
	return nil
}

func intPoints(dps pmetric.NumberDataPointSlice) bool {
	return dps.Len() > 0 && dps.At(0).ValueType() == pmetric.NumberDataPointValueTypeInt
}

func asDouble(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

func numberPoints[N int64 | float64](dps pmetric.NumberDataPointSlice, value func(pmetric.NumberDataPoint) N) []metricdata.DataPoint[N] {
	out := make([]metricdata.DataPoint[N], dps.Len())
	for i := range dps.Len() {
		dp := dps.At(i)
		v := value(dp)
		if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
			v = N(dp.DoubleValue()) // a double point in an int series
		}
		out[i] = metricdata.DataPoint[N]{Attributes: attrSet(dp.Attributes()),
			StartTime: dp.StartTimestamp().AsTime(), Time: dp.Timestamp().AsTime(), Value: v}
	}
	return out
}

func toTemporality(t pmetric.AggregationTemporality) metricdata.Temporality {
	if t == pmetric.AggregationTemporalityDelta {
		return metricdata.DeltaTemporality
	}
	return metricdata.CumulativeTemporality
}

func attrSet(m pcommon.Map) attribute.Set { return attribute.NewSet(toAttributes(m)...) }
