package telemetry

import (
	"context"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/semconv"
)

// Query is the read side of a Pipeline: every front door (the stdio node,
// the HTTP API, `meshobs graph`) answers through it, and encodes what it
// returns with the same encoder (Reply), so two doors cannot disagree.
// Counts come from the service graph the stores feed, latency percentiles
// from the request-duration histogram the SDK aggregated, spans and raw
// access logs from the in-memory exporters. It is safe for concurrent use.
type Query struct {
	p *Pipeline
}

// Query returns the pipeline's read side.
func (p *Pipeline) Query() *Query { return &Query{p: p} }

// GraphRequest asks for the service dependency graph (generate).
type GraphRequest struct {
	// Detail adds each edge's error count and latency.
	Detail bool
	// Format adds the graph rendered as "dot" or "mermaid"; empty: none.
	Format string
}

// LogRequest asks for access logs (query): per-pair counts, or raw entries.
type LogRequest struct {
	// Filter selects the entries counted or listed.
	Filter exporters.LogFilter
	// Detail adds each pair's error count and latency.
	Detail bool
	// Raw lists the newest retained entries instead of per-pair counts.
	Raw bool
	// Limit is the most raw entries listed (0 lists none).
	Limit int
}

// DefaultRawLimit is the number of raw entries listed when a request names none.
const DefaultRawLimit = 100

// StatsRequest asks for golden signals (stats).
type StatsRequest struct {
	// Service names one service; empty: every service.
	Service string
}

// ParseStatusClass turns "2xx".."5xx" (and "1xx") into 2..5 (1).
func ParseStatusClass(field, c string) (int, *Error) {
	if len(c) != 3 || c[0] < '1' || c[0] > '5' || (c[1] != 'x' && c[1] != 'X') || (c[2] != 'x' && c[2] != 'X') {
		return 0, Malformed(`%s must be one of "1xx", "2xx", "3xx", "4xx", "5xx", not %q`, field, c)
	}
	return int(c[0] - '0'), nil
}

// renderers are the graph formats a GraphRequest may ask for.
var renderers = map[string]func([]string, []graph.RenderEdge) string{
	"dot":     graph.DOT,
	"mermaid": graph.Mermaid,
}

// CheckFormat reports whether format is a graph format GraphRequest takes.
func CheckFormat(field, format string) *Error {
	if _, ok := renderers[format]; !ok && format != "" {
		return Malformed(`%s must be "dot" or "mermaid", not %q`, field, format)
	}
	return nil
}

// Graph answers generate.
func (q *Query) Graph(ctx context.Context, r GraphRequest) (*ServiceGraph, error) {
	if err := CheckFormat("format", r.Format); err != nil {
		return nil, err
	}
	p := q.p
	p.spanGraph.expire() // settle spans whose pairing TTL has passed
	edges := p.graph.Edges()
	out := &ServiceGraph{Nodes: p.graph.Nodes(), Edges: make([]GraphEdge, len(edges)), detail: r.Detail}
	var lat map[[2]string]*exporters.ExpHistogram
	if r.Detail || r.Format != "" {
		var err error
		if lat, err = q.edgeDurations(ctx, edges); err != nil {
			return nil, err
		}
	}
	for i, e := range edges {
		ge := GraphEdge{Source: e.Source, Target: e.Target, RequestCount: e.Calls, ErrorCount: e.Errors}
		if lat != nil {
			ge.Latency = latencyOf(lat[[2]string{e.Source, e.Target}], false)
		}
		out.Edges[i] = ge
	}
	if render := renderers[r.Format]; render != nil {
		re := make([]graph.RenderEdge, len(edges))
		for i, e := range edges {
			re[i] = graph.RenderEdge{Edge: e, P95Ms: out.Edges[i].Latency.P95}
		}
		text := render(out.Nodes, re)
		out.Text = &text
	}
	return out, nil
}

// AccessLogs answers query.
func (q *Query) AccessLogs(ctx context.Context, r LogRequest) (*AccessLogs, error) {
	f := r.Filter
	if r.Raw {
		entries := q.p.logs.Recent(f, r.Limit)
		out := &AccessLogs{Entries: make([]RawAccessLog, len(entries)), raw: true}
		for i := range entries {
			out.Entries[i] = rawAccessLog(&entries[i])
		}
		return out, nil
	}
	var lat map[[2]string]*exporters.ExpHistogram
	if r.Detail {
		var err error
		if lat, err = q.pairDurations(ctx, &f); err != nil {
			return nil, err
		}
	}
	pairs := q.p.graph.Pairs(f)
	out := &AccessLogs{Pairs: make([]PairLog, len(pairs)), detail: r.Detail}
	for i, pr := range pairs {
		out.Pairs[i] = PairLog{Source: pr.Source, Target: pr.Target, Count: pr.Count, ErrorCount: pr.ErrorCount}
		if r.Detail {
			out.Pairs[i].Latency = latencyOf(lat[[2]string{pr.Source, pr.Target}], false)
		}
	}
	return out, nil
}

// Stats answers stats.
func (q *Query) Stats(ctx context.Context, r StatsRequest) (*GoldenSignals, error) {
	p := q.p
	lat, err := q.durationsBy(ctx, func(a attribute.Set) (string, bool) {
		v, ok := a.Value(semconv.Service)
		return v.AsString(), ok && (r.Service == "" || v.AsString() == r.Service)
	})
	if err != nil {
		return nil, err
	}
	tallies := p.graph.Tallies(r.Service, p.cfg.clock()())
	out := &GoldenSignals{Services: make([]ServiceSignals, len(tallies))}
	for i, t := range tallies {
		s := ServiceSignals{
			Service:      t.Service,
			RequestCount: t.Requests,
			ErrorCount:   t.Errors,
			RatePerS:     t.RatePerSecond,
			Latency:      latencyOf(lat[t.Service], true),
			StatusCodes:  t.StatusCodes,
		}
		if t.Requests > 0 {
			s.ErrorRate = float64(t.Errors) / float64(t.Requests)
		}
		out.Services[i] = s
	}
	if p.cfg.exportStats != nil {
		out.Exports = p.cfg.exportStats()
	}
	if p.cfg.receiverStats != nil {
		out.Receivers = p.cfg.receiverStats()
	}
	return out, nil
}

// Trace answers get_trace: the spans held of one trace, by start time.
// A trace the node does not hold is an *Error with CodeKeyDoesNotExist.
func (q *Query) Trace(_ context.Context, id trace.TraceID) (*Trace, error) {
	if !id.IsValid() {
		return nil, Malformed("trace_id must be 32 lower-case hex digits, not all zero")
	}
	spans, ok := q.p.spans.Trace(id)
	if !ok {
		return nil, &Error{Code: CodeKeyDoesNotExist, Text: "trace " + id.String() + " is not held by this node"}
	}
	out := &Trace{TraceID: id, Spans: make([]TraceSpan, len(spans))}
	for i := range spans {
		out.Spans[i] = traceSpan(&spans[i])
	}
	return out, nil
}

// Metrics returns everything the SDK's meter provider has aggregated so
// far, as the pipeline's in-memory reader collects it (a copy).
func (q *Query) Metrics(ctx context.Context) (metricdata.ResourceMetrics, error) {
	return q.p.metrics.Snapshot(ctx)
}

// Retained returns how many access-log entries and spans the stores hold
// now (at most their retention).
func (q *Query) Retained() (accessLogs, spans int) { return q.p.logs.Len(), q.p.spans.Len() }

// Requests returns how many access-log entries service has reported: the
// request_count of a record reply.
func (q *Query) Requests(service string) int64 { return q.p.graph.Logged(service) }

// durationsBy merges the request-duration histogram points the SDK has
// aggregated so far by key; points for which key reports false are skipped.
func (q *Query) durationsBy(ctx context.Context, key func(attribute.Set) (string, bool)) (map[string]*exporters.ExpHistogram, error) {
	out := make(map[string]*exporters.ExpHistogram)
	err := q.eachDuration(ctx, func(dp *metricdata.ExponentialHistogramDataPoint[float64]) {
		if k, ok := key(dp.Attributes); ok {
			mergeInto(out, k, dp)
		}
	})
	return out, err
}

func (q *Query) eachDuration(ctx context.Context, f func(*metricdata.ExponentialHistogramDataPoint[float64])) error {
	rm, err := q.p.metrics.Snapshot(ctx)
	if err != nil {
		return &Error{Code: CodeCrash, Text: "collecting metrics: " + err.Error()}
	}
	exporters.ExponentialHistograms(&rm, semconv.RequestDurationName, nil, func(dp metricdata.ExponentialHistogramDataPoint[float64]) {
		f(&dp)
	})
	return nil
}

func mergeInto[K comparable](m map[K]*exporters.ExpHistogram, k K, dp *metricdata.ExponentialHistogramDataPoint[float64]) {
	h := m[k]
	if h == nil {
		h = new(exporters.ExpHistogram)
		m[k] = h
	}
	h.Merge(dp)
}

// pairDurations merges the request-duration histograms of each (source,
// target) pair, over the series f selects.
func (q *Query) pairDurations(ctx context.Context, f *exporters.LogFilter) (map[[2]string]*exporters.ExpHistogram, error) {
	out := make(map[[2]string]*exporters.ExpHistogram)
	err := q.eachDuration(ctx, func(dp *metricdata.ExponentialHistogramDataPoint[float64]) {
		src, ok1 := dp.Attributes.Value(semconv.Source)
		dst, ok2 := dp.Attributes.Value(semconv.Target)
		if !ok1 || !ok2 || !f.MatchPair(src.AsString(), dst.AsString()) {
			return
		}
		if v, _ := dp.Attributes.Value(otelsemconv.HTTPResponseStatusCodeKey); !f.MatchStatus(int(v.AsInt64())) {
			return
		}
		mergeInto(out, [2]string{src.AsString(), dst.AsString()}, dp)
	})
	return out, err
}

// edgeDurations merges, per graph edge, the request-duration histograms of
// its records with the durations of its cross-service spans: the same calls
// the edge's request_count counts.
func (q *Query) edgeDurations(ctx context.Context, edges []graph.Edge) (map[[2]string]*exporters.ExpHistogram, error) {
	lat, err := q.pairDurations(ctx, &exporters.LogFilter{})
	if err != nil {
		return nil, err
	}
	for _, e := range edges {
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

// Latency is a latency summary in milliseconds.
type Latency struct {
	// P50, P90, P95 and P99 are quantile estimates (P90 only in golden signals).
	P50, P90, P95, P99 float64
	// Max is the exact maximum.
	Max float64

	withP90 bool
}

// latencyOf summarises h; an empty or nil histogram gives zeros.
func latencyOf(h *exporters.ExpHistogram, withP90 bool) *Latency {
	if h == nil {
		h = new(exporters.ExpHistogram)
	}
	l := &Latency{
		P50:     roundMs(h.Quantile(0.50)),
		P95:     roundMs(h.Quantile(0.95)),
		P99:     roundMs(h.Quantile(0.99)),
		Max:     roundMs(h.Max()),
		withP90: withP90,
	}
	if withP90 {
		l.P90 = roundMs(h.Quantile(0.90))
	}
	return l
}

func (l *Latency) appendJSON(b []byte) []byte {
	b = append(b, `{"p50":`...)
	b = appendFloat(b, l.P50)
	if l.withP90 {
		b = append(b, `,"p90":`...)
		b = appendFloat(b, l.P90)
	}
	b = append(b, `,"p95":`...)
	b = appendFloat(b, l.P95)
	b = append(b, `,"p99":`...)
	b = appendFloat(b, l.P99)
	b = append(b, `,"max":`...)
	b = appendFloat(b, l.Max)
	return append(b, '}')
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

// ServiceGraph is the service_graph reply.
type ServiceGraph struct {
	// Nodes are the services in first-seen order.
	Nodes []string
	// Edges are the (source, target) pairs in first-seen order.
	Edges []GraphEdge
	// Text is the rendered graph when a format was asked for.
	Text *string

	detail bool
}

// GraphEdge is one edge of a ServiceGraph.
type GraphEdge struct {
	// Source and Target are the calling and the called service.
	Source, Target string
	// RequestCount is the number of calls seen (records and cross-service spans).
	RequestCount int64
	// ErrorCount is how many of them failed (written with detail).
	ErrorCount int64
	// Latency summarises their durations (with detail or a format).
	Latency *Latency
}

// Type is "service_graph".
func (g *ServiceGraph) Type() string { return "service_graph" }

// AppendFields appends nodes, edges and, when asked for, text.
func (g *ServiceGraph) AppendFields(b []byte) []byte {
	b = append(b, `,"nodes":`...)
	b = appendStrings(b, g.Nodes)
	b = append(b, `,"edges":[`...)
	for i := range g.Edges {
		e := &g.Edges[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"source":`...)
		b = AppendString(b, e.Source)
		b = append(b, `,"target":`...)
		b = AppendString(b, e.Target)
		b = append(b, `,"request_count":`...)
		b = appendInt(b, e.RequestCount)
		if g.detail {
			b = append(b, `,"error_count":`...)
			b = appendInt(b, e.ErrorCount)
			b = append(b, `,"latency_ms":`...)
			b = e.Latency.appendJSON(b)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if g.Text != nil {
		b = append(b, `,"text":`...)
		b = AppendString(b, *g.Text)
	}
	return b
}

// AccessLogs is the access_logs reply: per-pair counts, or raw entries.
type AccessLogs struct {
	// Pairs are the per-(source, target) counts, in first-seen order.
	Pairs []PairLog
	// Entries are the raw entries, oldest first, when raw ones were asked for.
	Entries []RawAccessLog

	raw, detail bool
}

// PairLog is the count of access-log entries on one (source, target) pair.
type PairLog struct {
	// Source and Target are the pair's ends.
	Source, Target string
	// Count is the number of matching entries.
	Count int64
	// ErrorCount is how many of them are 5xx (written with detail).
	ErrorCount int64
	// Latency summarises their durations (written with detail).
	Latency *Latency
}

// RawAccessLog is one access-log entry of a raw listing.
type RawAccessLog struct {
	// Timestamp is when the request happened.
	Timestamp time.Time
	// Service is the reporting service; Source and Target the edge (may be empty).
	Service, Source, Target string
	// Method and Path describe the request when the reporter gave them.
	Method, Path string
	// Status is the HTTP status.
	Status int
	// DurationMs is the request's duration.
	DurationMs float64
	// TraceID correlates the entry with a trace; zero when not given.
	TraceID trace.TraceID
}

func rawAccessLog(a *exporters.AccessLog) RawAccessLog {
	return RawAccessLog{
		Timestamp: a.Timestamp, Service: a.Service, Source: a.Source, Target: a.Target,
		Method: a.Method, Path: a.Path, Status: a.Status, DurationMs: a.DurationMs, TraceID: a.TraceID,
	}
}

// Type is "access_logs".
func (l *AccessLogs) Type() string { return "access_logs" }

// AppendFields appends logs.
func (l *AccessLogs) AppendFields(b []byte) []byte {
	b = append(b, `,"logs":[`...)
	if l.raw {
		for i := range l.Entries {
			e := &l.Entries[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timestamp":`...)
			b = AppendString(b, e.Timestamp.UTC().Format(time.RFC3339Nano))
			b = append(b, `,"service":`...)
			b = AppendString(b, e.Service)
			b = append(b, `,"source_service":`...)
			b = AppendString(b, e.Source)
			b = append(b, `,"target_service":`...)
			b = AppendString(b, e.Target)
			b = append(b, `,"method":`...)
			b = AppendString(b, e.Method)
			b = append(b, `,"path":`...)
			b = AppendString(b, e.Path)
			b = append(b, `,"status":`...)
			b = appendInt(b, int64(e.Status))
			b = append(b, `,"duration_ms":`...)
			b = appendFloat(b, e.DurationMs)
			b = append(b, `,"trace_id":`...)
			if e.TraceID.IsValid() {
				b = AppendString(b, e.TraceID.String())
			} else {
				b = append(b, `""`...)
			}
			b = append(b, '}')
		}
		return append(b, ']')
	}
	for i := range l.Pairs {
		pr := &l.Pairs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"source_service":`...)
		b = AppendString(b, pr.Source)
		b = append(b, `,"target_service":`...)
		b = AppendString(b, pr.Target)
		b = append(b, `,"count":`...)
		b = appendInt(b, pr.Count)
		if l.detail {
			b = append(b, `,"error_count":`...)
			b = appendInt(b, pr.ErrorCount)
			b = append(b, `,"latency_ms":`...)
			b = pr.Latency.appendJSON(b)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// GoldenSignals is the golden_signals reply.
type GoldenSignals struct {
	// Services are the reporting services in first-seen order.
	Services []ServiceSignals
	// Exports are the outbound exporters' counts; written only when any are configured.
	Exports []outbound.Stat
	// Receivers are the receivers' counts; written only when any are configured.
	Receivers []ReceiverStat
}

// ServiceSignals are the golden signals of one service.
type ServiceSignals struct {
	// Service is the service's name.
	Service string
	// RequestCount and ErrorCount count its requests and the failed ones.
	RequestCount, ErrorCount int64
	// ErrorRate is ErrorCount / RequestCount (0 without requests).
	ErrorRate float64
	// RatePerS is the mean request rate over the last 60 s.
	RatePerS float64
	// Latency is from the SDK's request-duration histogram.
	Latency *Latency
	// StatusCodes counts requests per HTTP status, in first-seen order.
	StatusCodes graph.StatusCounts
}

// ReceiverStat is what one receiver took in over one transport for one
// signal, in items (spans, log records, metric points): Received =
// Accepted + Refused.
type ReceiverStat struct {
	// Receiver, Transport and Signal name the counter, e.g. otlp, grpc, traces.
	Receiver, Transport, Signal string
	// Received, Accepted and Refused count items.
	Received, Accepted, Refused int64
}

// Type is "golden_signals".
func (s *GoldenSignals) Type() string { return "golden_signals" }

// AppendFields appends services and, when present, exports and receivers.
func (s *GoldenSignals) AppendFields(b []byte) []byte {
	b = append(b, `,"services":[`...)
	for i := range s.Services {
		v := &s.Services[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"service":`...)
		b = AppendString(b, v.Service)
		b = append(b, `,"request_count":`...)
		b = appendInt(b, v.RequestCount)
		b = append(b, `,"error_count":`...)
		b = appendInt(b, v.ErrorCount)
		b = append(b, `,"error_rate":`...)
		b = appendFloat(b, v.ErrorRate)
		b = append(b, `,"rate_per_s":`...)
		b = appendFloat(b, v.RatePerS)
		b = append(b, `,"latency_ms":`...)
		b = v.Latency.appendJSON(b)
		b = append(b, `,"status_codes":{`...)
		// encoding/json sorts map keys: codes are three digits, so
		// numeric order is the string order.
		codes := append(graph.StatusCounts(nil), v.StatusCodes...)
		sortStatusCounts(codes)
		for j, sc := range codes {
			if j > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, strconv.Itoa(sc.Code))
			b = append(b, ':')
			b = appendInt(b, sc.N)
		}
		b = append(b, "}}"...)
	}
	b = append(b, ']')
	if len(s.Exports) > 0 {
		b = append(b, `,"exports":[`...)
		for i, e := range s.Exports {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"exporter":`...)
			b = AppendString(b, e.Exporter)
			b = append(b, `,"signal":`...)
			b = AppendString(b, e.Signal)
			b = append(b, `,"accepted":`...)
			b = appendInt(b, e.Accepted)
			b = append(b, `,"exported":`...)
			b = appendInt(b, e.Exported)
			b = append(b, `,"failed":`...)
			b = appendInt(b, e.Failed)
			b = append(b, `,"dropped":`...)
			b = appendInt(b, e.Dropped)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(s.Receivers) > 0 {
		b = append(b, `,"receivers":[`...)
		for i, r := range s.Receivers {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"receiver":`...)
			b = AppendString(b, r.Receiver)
			b = append(b, `,"transport":`...)
			b = AppendString(b, r.Transport)
			b = append(b, `,"signal":`...)
			b = AppendString(b, r.Signal)
			b = append(b, `,"received":`...)
			b = appendInt(b, r.Received)
			b = append(b, `,"accepted":`...)
			b = appendInt(b, r.Accepted)
			b = append(b, `,"refused":`...)
			b = appendInt(b, r.Refused)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return b
}

func sortStatusCounts(s graph.StatusCounts) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Code < s[j-1].Code; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Trace is the trace reply.
type Trace struct {
	// TraceID is the trace asked for.
	TraceID trace.TraceID
	// Spans are its spans held, by start time.
	Spans []TraceSpan
}

// TraceSpan is one span of a Trace.
type TraceSpan struct {
	// SpanID and ParentSpanID (zero for a root) identify the span.
	SpanID, ParentSpanID trace.SpanID
	// Service and Operation are the span's service.name and name.
	Service, Operation string
	// Kind is the span kind.
	Kind trace.SpanKind
	// Start is when the span started.
	Start time.Time
	// Duration is how long it lasted.
	Duration time.Duration
	// Status is its http.response.status_code attribute, 0 without one.
	Status int
	// Error reports whether the span status is Error.
	Error bool
	// Attributes are the span's attributes.
	Attributes []attribute.KeyValue
}

func traceSpan(s *exporters.Span) TraceSpan {
	v := TraceSpan{
		SpanID: s.SpanID, ParentSpanID: s.Parent, Service: s.Service, Operation: s.Name,
		Kind: s.Kind, Start: s.Start, Duration: s.Duration(), Error: s.Status == codes.Error,
		Attributes: s.Attributes,
	}
	for _, kv := range s.Attributes {
		if kv.Key == otelsemconv.HTTPResponseStatusCodeKey {
			v.Status = int(kv.Value.AsInt64())
		}
	}
	return v
}

// Type is "trace".
func (t *Trace) Type() string { return "trace" }

// AppendFields appends trace_id and spans.
func (t *Trace) AppendFields(b []byte) []byte {
	b = append(b, `,"trace_id":`...)
	b = AppendString(b, t.TraceID.String())
	b = append(b, `,"spans":[`...)
	for i := range t.Spans {
		s := &t.Spans[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"span_id":`...)
		b = AppendString(b, s.SpanID.String())
		b = append(b, `,"parent_span_id":`...)
		if s.ParentSpanID.IsValid() {
			b = AppendString(b, s.ParentSpanID.String())
		} else {
			b = append(b, `""`...)
		}
		b = append(b, `,"service":`...)
		b = AppendString(b, s.Service)
		b = append(b, `,"operation":`...)
		b = AppendString(b, s.Operation)
		b = append(b, `,"kind":`...)
		b = AppendString(b, s.Kind.String())
		b = append(b, `,"start":`...)
		b = AppendString(b, s.Start.UTC().Format(time.RFC3339Nano))
		b = append(b, `,"duration_ms":`...)
		b = appendFloat(b, float64(s.Duration)/float64(time.Millisecond))
		b = append(b, `,"status":`...)
		b = appendInt(b, int64(s.Status))
		b = append(b, `,"attributes":`...)
		b = appendAttributes(b, s.Attributes)
		b = append(b, '}')
	}
	return append(b, ']')
}
