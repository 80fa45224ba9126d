package telemetry

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
)

// Service-graph and span metrics, named and labelled as the OpenTelemetry
// Collector's servicegraph connector and Grafana Tempo's metrics-generator
// emit them, so that Grafana's service graph and service table read them
// as they stand. The OTel Prometheus exporter keeps these names: the
// counters already end in _total, the edge histograms already name their
// unit, and the span latency histogram has no unit to append.
const (
	// ServiceGraphRequestTotal counts the calls of each edge (labels client,
	// server, connection_type), exactly as the graph counts them.
	ServiceGraphRequestTotal = "traces_service_graph_request_total"
	// ServiceGraphRequestFailedTotal counts the failed calls of each edge;
	// every edge has the series, at 0 until a call fails.
	ServiceGraphRequestFailedTotal = "traces_service_graph_request_failed_total"
	// ServiceGraphRequestServerSeconds is the histogram of the calls'
	// durations as the callee saw them (server and consumer spans, access
	// logs the callee reported), in seconds.
	ServiceGraphRequestServerSeconds = "traces_service_graph_request_server_seconds"
	// ServiceGraphRequestClientSeconds is the histogram of the calls'
	// durations as the caller saw them (client and producer spans, access
	// logs the caller reported), in seconds.
	ServiceGraphRequestClientSeconds = "traces_service_graph_request_client_seconds"
	// SpanMetricsCallsTotal counts every span (labels service, span_name,
	// span_kind, status_code).
	SpanMetricsCallsTotal = "traces_spanmetrics_calls_total"
	// SpanMetricsLatency is the histogram of every span's duration in seconds.
	SpanMetricsLatency = "traces_spanmetrics_latency"
)

// Label keys of the service-graph and span metrics.
const (
	// LabelClient is the calling service of an edge.
	LabelClient = attribute.Key("client")
	// LabelServer is the called service of an edge (maybe a virtual node).
	LabelServer = attribute.Key("server")
	// LabelConnectionType is the edge's graph.ConnectionType ("" between services).
	LabelConnectionType = attribute.Key("connection_type")
	// LabelService is a span's service.
	LabelService = attribute.Key("service")
	// LabelSpanName is a span's name.
	LabelSpanName = attribute.Key("span_name")
	// LabelSpanKind is a span's kind, e.g. SPAN_KIND_SERVER.
	LabelSpanKind = attribute.Key("span_kind")
	// LabelStatusCode is a span's status, e.g. STATUS_CODE_ERROR.
	LabelStatusCode = attribute.Key("status_code")
)

// LatencyBuckets are the explicit bucket boundaries, in seconds, of the
// service-graph and span latency histograms: Prometheus's default buckets
// extended down to 1 ms and up to 60 s.
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60}

// traceMetricViews give the latency histograms their explicit buckets (the
// SDK's default for a histogram is milliseconds-sized).
func traceMetricViews() []sdkmetric.Option {
	agg := sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: LatencyBuckets}}
	var out []sdkmetric.Option
	for _, name := range []string{ServiceGraphRequestServerSeconds, ServiceGraphRequestClientSeconds, SpanMetricsLatency} {
		out = append(out, sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: name}, agg)))
	}
	return out
}

// graphMetrics is the graph's CallObserver: it turns every call the graph
// counts into the service-graph metrics. Its calls are serialised by the
// graph's lock, which also guards its series cache: register it with one
// graph only.
type graphMetrics struct {
	total, failed  metric.Int64Counter
	server, client metric.Float64Histogram
	series         map[graphSeries]*seriesOptions
	maxSeries      int
}

type graphSeries struct {
	client, server string
	typ            graph.ConnectionType
}

var _ graph.CallObserver = (*graphMetrics)(nil)

// spanMetrics is a SpanObserver that turns every span the span store
// ingests into the span metrics. Its calls are serialised by the store's
// lock, which also guards its series cache: register it with one store only.
type spanMetrics struct {
	calls     metric.Int64Counter
	latency   metric.Float64Histogram
	series    map[spanSeries]*seriesOptions
	maxSeries int
}

type spanSeries struct {
	service, name string
	kind          trace.SpanKind
	status        codes.Code
}

var _ exporters.SpanObserver = (*spanMetrics)(nil)

// newTraceMetrics returns the two observers, whose instruments
// initTraceMetrics creates once the meter exists; nothing may be observed
// before that. maxSeries bounds each one's cache of attribute sets.
func newTraceMetrics(maxSeries int) (*graphMetrics, *spanMetrics) {
	return &graphMetrics{series: make(map[graphSeries]*seriesOptions), maxSeries: maxSeries},
		&spanMetrics{series: make(map[spanSeries]*seriesOptions), maxSeries: maxSeries}
}

func initTraceMetrics(meter metric.Meter, g *graphMetrics, s *spanMetrics) error {
	var err error
	if g.total, err = meter.Int64Counter(ServiceGraphRequestTotal, metric.WithUnit("{request}"),
		metric.WithDescription("Calls between two services, as the service graph counts them.")); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if g.failed, err = meter.Int64Counter(ServiceGraphRequestFailedTotal, metric.WithUnit("{request}"),
		metric.WithDescription("Failed calls between two services (5xx or span status Error).")); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if g.server, err = meter.Float64Histogram(ServiceGraphRequestServerSeconds, metric.WithUnit("s"),
		metric.WithDescription("Duration of calls between two services as the callee saw them.")); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if g.client, err = meter.Float64Histogram(ServiceGraphRequestClientSeconds, metric.WithUnit("s"),
		metric.WithDescription("Duration of calls between two services as the caller saw them.")); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if s.calls, err = meter.Int64Counter(SpanMetricsCallsTotal, metric.WithUnit("{span}"),
		metric.WithDescription("Spans per service, span name, kind and status.")); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	// No unit: the Prometheus exporter would append _seconds to the name
	// Tempo gives it; the description says seconds.
	if s.latency, err = meter.Float64Histogram(SpanMetricsLatency,
		metric.WithDescription("Span durations in seconds, per service, span name, kind and status.")); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	return nil
}

// ObserveCall records one counted call on its edge's series.
func (m *graphMetrics) ObserveCall(c graph.Call) {
	ctx := context.Background()
	o := m.options(c.Source, c.Target, c.Type)
	m.total.Add(ctx, 1, o.add...)
	if c.Failed {
		m.failed.Add(ctx, 1, o.add...)
	}
	if c.HasClient {
		m.client.Record(ctx, c.ClientLatency.Seconds(), o.record...)
	}
	if c.HasServer {
		m.server.Record(ctx, c.ServerLatency.Seconds(), o.record...)
	}
}

func (m *graphMetrics) options(client, server string, typ graph.ConnectionType) *seriesOptions {
	k := graphSeries{client, server, typ}
	if o, ok := m.series[k]; ok {
		return o
	}
	o := newSeriesOptions(LabelClient.String(client), LabelServer.String(server), LabelConnectionType.String(string(typ)))
	// The failed series exists from the edge's first call, so that error
	// ratios are 0, not missing, on edges that never failed.
	m.failed.Add(context.Background(), 0, o.add...)
	if len(m.series) < m.maxSeries {
		m.series[graphSeries{strings.Clone(client), strings.Clone(server), typ}] = o
	}
	return o
}

// ObserveSpan records one span on its series.
func (m *spanMetrics) ObserveSpan(sp, _ exporters.Span, _ bool) {
	ctx := context.Background()
	o := m.options(&sp)
	m.calls.Add(ctx, 1, o.add...)
	m.latency.Record(ctx, sp.Duration().Seconds(), o.record...)
}

func (m *spanMetrics) options(sp *exporters.Span) *seriesOptions {
	k := spanSeries{sp.Service, sp.Name, sp.Kind, sp.Status}
	if o, ok := m.series[k]; ok {
		return o
	}
	o := newSeriesOptions(LabelService.String(sp.Service), LabelSpanName.String(sp.Name),
		LabelSpanKind.String(spanKindLabel(sp.Kind)), LabelStatusCode.String(statusCodeLabel(sp.Status)))
	if len(m.series) < m.maxSeries {
		k.service, k.name = strings.Clone(k.service), strings.Clone(k.name)
		m.series[k] = o
	}
	return o
}

func newSeriesOptions(kvs ...attribute.KeyValue) *seriesOptions {
	set := metric.WithAttributeSet(attribute.NewSet(kvs...))
	return &seriesOptions{add: []metric.AddOption{set}, record: []metric.RecordOption{set}}
}

// spanKindLabel is the span_kind value Tempo writes: the OTLP enum name.
func spanKindLabel(k trace.SpanKind) string {
	switch k {
	case trace.SpanKindInternal:
		return "SPAN_KIND_INTERNAL"
	case trace.SpanKindServer:
		return "SPAN_KIND_SERVER"
	case trace.SpanKindClient:
		return "SPAN_KIND_CLIENT"
	case trace.SpanKindProducer:
		return "SPAN_KIND_PRODUCER"
	case trace.SpanKindConsumer:
		return "SPAN_KIND_CONSUMER"
	}
	return "SPAN_KIND_UNSPECIFIED"
}

// statusCodeLabel is the status_code value Tempo writes: the OTLP enum name.
func statusCodeLabel(c codes.Code) string {
	switch c {
	case codes.Ok:
		return "STATUS_CODE_OK"
	case codes.Error:
		return "STATUS_CODE_ERROR"
	}
	return "STATUS_CODE_UNSET"
}

// spanObservers hands every span to each observer in turn.
type spanObservers []exporters.SpanObserver

func (o spanObservers) ObserveSpan(sp, parent exporters.Span, parentHeld bool) {
	for _, x := range o {
		x.ObserveSpan(sp, parent, parentHeld)
	}
}

// reportingSide is which end of its edge reported r: the callee when r
// names only a source, or names another service as the source and its own
// as the target; else the caller.
func reportingSide(r *Request) exporters.Side {
	switch {
	case r.Target == "" && r.Source == "":
		return exporters.SideUnknown
	case r.Target == "":
		return exporters.SideServer
	case r.Target == r.Service && r.Source != "" && r.Source != r.Service:
		return exporters.SideServer
	}
	return exporters.SideClient
}
