package telemetry

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

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

// The counters are observable: each series counts its own calls (an atomic
// add on the hot path, where a synchronous SDK counter costs as much as a
// histogram record) and a callback reports the totals at every collection.
// So the service-graph counts are the graph's own, taken at the moment it
// counts a call; only the latency histograms are synchronous instruments.

// counted is one series of the service-graph or span metrics: its
// attribute set as the options the SDK calls take, and its counts.
type counted struct {
	record        []metric.RecordOption
	observe       []metric.ObserveOption
	calls, failed atomic.Int64
}

func newCounted(kvs ...attribute.KeyValue) *counted {
	set := attribute.NewSet(kvs...)
	return &counted{
		record:  []metric.RecordOption{metric.WithAttributeSet(set)},
		observe: []metric.ObserveOption{metric.WithAttributeSet(set)},
	}
}

// overflowAttribute marks the series that stands for every series past the
// limit, as the SDK marks its own overflow series.
var overflowAttribute = attribute.Bool("otel.metric.overflow", true)

// seriesTable is a bounded set of series keyed by K. lookup and insert are
// called by one observer whose calls its caller serialises (the graph's or
// the span store's lock), so the index needs no lock of its own; the list
// the collection callback reads is guarded by mu. Past max series, every new
// key counts on one overflow series.
//
// In front of the index, recent holds the series last found, by a cheap
// hash of their key (hash): a hit costs a comparison of keys, no map
// lookup. Its keys are the index's own (cloned) keys.
type seriesTable[K tableKey] struct {
	index    map[K]*series[K]
	overflow *counted
	max      int
	recent   [256]*series[K]

	mu   sync.Mutex
	list []*counted
}

// tableKey is the key of a seriesTable.
type tableKey interface {
	comparable
	hash() uint // cheap, for the recent array
}

// series is an entry of a seriesTable: its key, owned, and its counts.
type series[K tableKey] struct {
	key K
	c   *counted
}

func newSeriesTable[K tableKey](max int) *seriesTable[K] {
	return &seriesTable[K]{index: make(map[K]*series[K]), max: max}
}

func (t *seriesTable[K]) lookup(k K) (*counted, bool) {
	slot := &t.recent[k.hash()%uint(len(t.recent))]
	if s := *slot; s != nil && s.key == k {
		return s.c, true
	}
	s, ok := t.index[k]
	if !ok {
		return nil, false
	}
	*slot = s
	return s.c, true
}

// insert adds the series of k (its key strings already cloned) with the
// attributes kvs, or returns the overflow series when the table is full.
func (t *seriesTable[K]) insert(k K, kvs ...attribute.KeyValue) *counted {
	if len(t.index) >= t.max {
		if t.overflow == nil {
			t.overflow = newCounted(overflowAttribute)
			t.append(t.overflow)
		}
		return t.overflow
	}
	s := &series[K]{key: k, c: newCounted(kvs...)}
	t.index[k] = s
	t.recent[k.hash()%uint(len(t.recent))] = s
	t.append(s.c)
	return s.c
}

func (t *seriesTable[K]) append(c *counted) {
	t.mu.Lock()
	t.list = append(t.list, c)
	t.mu.Unlock()
}

// each calls f for every series, in creation order.
func (t *seriesTable[K]) each(f func(*counted)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.list {
		f(c)
	}
}

// graphMetrics is the graph's CallObserver: it turns every call the graph
// counts into the service-graph metrics. Register it with one graph only:
// the graph's lock serialises its calls.
type graphMetrics struct {
	total, failed  metric.Int64ObservableCounter
	server, client metric.Float64Histogram
	series         *seriesTable[graphSeries]
}

type graphSeries struct {
	client, server string
	typ            graph.ConnectionType
}

func (k graphSeries) hash() uint {
	return quickHash(k.client) + 7*quickHash(k.server) + uint(len(k.typ))
}

var _ graph.CallObserver = (*graphMetrics)(nil)

// spanMetrics is a SpanObserver that turns every span the span store
// ingests into the span metrics. Register it with one store only: the
// store's lock serialises its calls.
type spanMetrics struct {
	calls   metric.Int64ObservableCounter
	latency metric.Float64Histogram
	series  *seriesTable[spanSeries]
}

type spanSeries struct {
	service, name string
	kind          trace.SpanKind
	status        codes.Code
}

func (k spanSeries) hash() uint {
	return quickHash(k.service) + 7*quickHash(k.name) + 11*uint(k.kind) + 13*uint(k.status)
}

// quickHash hashes s by its length and three of its bytes: enough to
// spread the few hundred keys a seriesTable's recent array holds.
func quickHash(s string) uint {
	if s == "" {
		return 0
	}
	return uint(len(s)) + 3*uint(s[0]) + 5*uint(s[len(s)/2]) + 7*uint(s[len(s)-1])
}

var _ exporters.SpanObserver = (*spanMetrics)(nil)

// newTraceMetrics returns the two observers, whose instruments
// initTraceMetrics creates once the meter exists; nothing may be observed
// before that. maxSeries is the SDK's cardinality limit: as the SDK does,
// each keeps maxSeries-1 series and folds the rest into the overflow series.
func newTraceMetrics(maxSeries int) (*graphMetrics, *spanMetrics) {
	n := max(maxSeries-1, 1)
	return &graphMetrics{series: newSeriesTable[graphSeries](n)},
		&spanMetrics{series: newSeriesTable[spanSeries](n)}
}

func initTraceMetrics(meter metric.Meter, g *graphMetrics, s *spanMetrics) error {
	var err error
	if g.total, err = meter.Int64ObservableCounter(ServiceGraphRequestTotal, metric.WithUnit("{request}"),
		metric.WithDescription("Calls between two services, as the service graph counts them.")); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if g.failed, err = meter.Int64ObservableCounter(ServiceGraphRequestFailedTotal, metric.WithUnit("{request}"),
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
	if s.calls, err = meter.Int64ObservableCounter(SpanMetricsCallsTotal, metric.WithUnit("{span}"),
		metric.WithDescription("Spans per service, span name, kind and status.")); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	// No unit: the Prometheus exporter would append _seconds to the name
	// Tempo gives it; the description says seconds.
	if s.latency, err = meter.Float64Histogram(SpanMetricsLatency,
		metric.WithDescription("Span durations in seconds, per service, span name, kind and status.")); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if _, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		// Every edge reports its failed series too, at 0 until a call fails,
		// so that error ratios are 0, not missing.
		g.series.each(func(c *counted) {
			o.ObserveInt64(g.total, c.calls.Load(), c.observe...)
			o.ObserveInt64(g.failed, c.failed.Load(), c.observe...)
		})
		s.series.each(func(c *counted) { o.ObserveInt64(s.calls, c.calls.Load(), c.observe...) })
		return nil
	}, g.total, g.failed, s.calls); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	return nil
}

// ObserveCall counts one call on its edge's series and records its latencies.
func (m *graphMetrics) ObserveCall(c graph.Call) {
	k := graphSeries{c.Source, c.Target, c.Type}
	s, ok := m.series.lookup(k)
	if !ok {
		k.client, k.server = strings.Clone(k.client), strings.Clone(k.server)
		s = m.series.insert(k, LabelClient.String(k.client), LabelServer.String(k.server),
			LabelConnectionType.String(string(k.typ)))
	}
	s.calls.Add(1)
	if c.Failed {
		s.failed.Add(1)
	}
	if c.HasClient {
		m.client.Record(context.Background(), c.ClientLatency.Seconds(), s.record...)
	}
	if c.HasServer {
		m.server.Record(context.Background(), c.ServerLatency.Seconds(), s.record...)
	}
}

// ObserveSpan counts one span on its series and records its duration.
func (m *spanMetrics) ObserveSpan(sp, _ *exporters.Span) {
	k := spanSeries{sp.Service, sp.Name, sp.Kind, sp.Status}
	s, ok := m.series.lookup(k)
	if !ok {
		k.service, k.name = strings.Clone(k.service), strings.Clone(k.name)
		s = m.series.insert(k, LabelService.String(k.service), LabelSpanName.String(k.name),
			LabelSpanKind.String(spanKindLabel(k.kind)), LabelStatusCode.String(statusCodeLabel(k.status)))
	}
	s.calls.Add(1)
	m.latency.Record(context.Background(), sp.Duration().Seconds(), s.record...)
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

func (o spanObservers) ObserveSpan(sp, parent *exporters.Span) {
	for _, x := range o {
		x.ObserveSpan(sp, parent)
	}
}

// reportingSide is which end of its edge reported r: the callee when r
// names only a source, or names another service as the source and its own
// as the target; else the caller.
func reportingSide(r *Request) exporters.Side {
	switch {
	case r.Side != exporters.SideUnknown && r.Source != "" && r.Target != "":
		return r.Side
	case r.Target == "" && r.Source == "":
		return exporters.SideUnknown
	case r.Target == "":
		return exporters.SideServer
	case r.Target == r.Service && r.Source != "" && r.Source != r.Service:
		return exporters.SideServer
	}
	return exporters.SideClient
}
