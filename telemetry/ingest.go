package telemetry

import (
	"context"
	"errors"
	"fmt"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/accesslog"
	"github.com/meshobs/meshobs/semconv"
)

// Received data (OTLP) enters the same SDK pipeline as the stdio node's:
//
//   - a span becomes an ended SDK span (tracetest.SpanStub's snapshot: its
//     own ids, times, attributes, events, links, status, resource and
//     scope) handed to every span processor: the span store (get_trace,
//     the graph) and the outbound exporters, unchanged;
//   - a log record is emitted unchanged, through a LoggerProvider with its
//     own resource, to the outbound exporters; one recognised as an access
//     log (package accesslog) is also recorded as a record would be:
//     counter, histogram and an access-log record for the log store only;
//   - metrics are counted and forwarded; they never become requests.

// Outcome is what ConsumeTraces, ConsumeLogs and ConsumeMetrics report of
// the items of one request they refused (OTLP partial success).
type Outcome struct {
	// Rejected counts the items refused.
	Rejected int64
	// Message says why, naming the first problem.
	Message string
}

// rejections collects the refused items of one request.
type rejections struct {
	n     int64
	first string
}

func (r *rejections) add(n int, why string) {
	if r.n == 0 {
		r.first = why
	}
	r.n += int64(n)
}

func (r *rejections) outcome(kind string) Outcome {
	if r.n == 0 {
		return Outcome{}
	}
	return Outcome{Rejected: r.n, Message: fmt.Sprintf("%d %s rejected; the first: %s", r.n, kind, r.first)}
}

// ConsumeTraces takes received spans. A span without a valid trace id or
// span id, or whose resource has no service.name, is refused (counted in
// the Outcome); the others are accepted whole. After Shutdown it returns
// ErrShutdown and takes nothing.
func (p *Pipeline) ConsumeTraces(ctx context.Context, td ptrace.Traces) (Outcome, error) {
	if p.isClosed() {
		return Outcome{}, ErrShutdown
	}
	var rej rejections
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		service, ok := serviceName(rs.Resource())
		if !ok {
			rej.add(countSpans(rs), "a resource without service.name (a span without a service)")
			continue
		}
		res := toResource(rs.Resource(), rs.SchemaUrl())
		p.mu.Lock()
		svc := p.admitLocked(service)
		p.mu.Unlock()
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			scope := toScope(ss.Scope(), ss.SchemaUrl())
			stdio := scope.Name == semconv.ScopeName
			spans := ss.Spans()
			for k := range spans.Len() {
				s := spans.At(k)
				if s.TraceID().IsEmpty() || s.SpanID().IsEmpty() {
					rej.add(1, fmt.Sprintf("span %q has no valid trace_id or span_id", s.Name()))
					continue
				}
				ro := toReadOnlySpan(s, res, scope)
				for _, sp := range p.spanProcessors {
					sp.OnEnd(ro)
				}
				if !stdio && (s.Kind() == ptrace.SpanKindServer || s.Kind() == ptrace.SpanKindConsumer) {
					p.countSpanRequest(ctx, svc, ro)
				}
			}
		}
	}
	return rej.outcome("spans"), nil
}

func countSpans(rs ptrace.ResourceSpans) int {
	n := 0
	for i := range rs.ScopeSpans().Len() {
		n += rs.ScopeSpans().At(i).Spans().Len()
	}
	return n
}

// countSpanRequest counts a received server or consumer span as one
// request of its service through the SDK's counter and histogram, as a
// record is counted (the graph's tally comes from the span store).
func (p *Pipeline) countSpanRequest(ctx context.Context, svc *admitted, ro sdktrace.ReadOnlySpan) {
	status := spanStatus(ro.Attributes())
	p.mu.Lock()
	m := p.measurementLocked(svc, nil, nil, status)
	p.mu.Unlock()
	m.tally.calls.Add(1)
	p.duration.Record(ctx, float64(ro.EndTime().Sub(ro.StartTime()))/float64(time.Millisecond), m.record...)
}

// spanStatus returns a span's HTTP status code attribute, 0 without one.
func spanStatus(attrs []attribute.KeyValue) int {
	for _, kv := range attrs {
		if kv.Key == otelsemconv.HTTPResponseStatusCodeKey || kv.Key == "http.status_code" {
			switch kv.Value.Type() {
			case attribute.INT64:
				return int(kv.Value.AsInt64())
			case attribute.STRING:
				n, _ := strconv.Atoi(kv.Value.AsString())
				return n
			}
		}
	}
	return 0
}

func serviceName(r pcommon.Resource) (string, bool) {
	v, ok := r.Attributes().Get(string(otelsemconv.ServiceNameKey))
	if !ok || v.Type() != pcommon.ValueTypeStr || v.Str() == "" {
		return "", false
	}
	return v.Str(), true
}

func toResource(r pcommon.Resource, schemaURL string) *resource.Resource {
	return resource.NewWithAttributes(schemaURL, toAttributes(r.Attributes())...)
}

func toScope(s pcommon.InstrumentationScope, schemaURL string) instrumentation.Scope {
	return instrumentation.Scope{
		Name: s.Name(), Version: s.Version(), SchemaURL: schemaURL,
		Attributes: attribute.NewSet(toAttributes(s.Attributes())...),
	}
}

func toReadOnlySpan(s ptrace.Span, res *resource.Resource, scope instrumentation.Scope) sdktrace.ReadOnlySpan {
	ts, _ := trace.ParseTraceState(s.TraceState().AsRaw())
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID(s.TraceID()), SpanID: trace.SpanID(s.SpanID()),
		// A span that was exported was recorded: sampled, whatever flags its
		// sender set (many set none), or the batch processors would drop it.
		TraceFlags: trace.TraceFlags(s.Flags()&0xff) | trace.FlagsSampled, TraceState: ts,
	})
	stub := tracetest.SpanStub{
		Name:                   s.Name(),
		SpanContext:            sc,
		SpanKind:               trace.SpanKind(s.Kind()), // the same numbering
		StartTime:              s.StartTimestamp().AsTime(),
		EndTime:                s.EndTimestamp().AsTime(),
		Attributes:             toAttributes(s.Attributes()),
		DroppedAttributes:      int(s.DroppedAttributesCount()),
		DroppedEvents:          int(s.DroppedEventsCount()),
		DroppedLinks:           int(s.DroppedLinksCount()),
		Resource:               res,
		InstrumentationScope:   scope,
		InstrumentationLibrary: scope, //nolint:staticcheck // the deprecated twin, kept equal
	}
	if !s.ParentSpanID().IsEmpty() {
		stub.Parent = trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: sc.TraceID(), SpanID: trace.SpanID(s.ParentSpanID()), Remote: true, TraceFlags: sc.TraceFlags(),
		})
	}
	switch s.Status().Code() {
	case ptrace.StatusCodeError:
		stub.Status = sdktrace.Status{Code: codes.Error, Description: s.Status().Message()}
	case ptrace.StatusCodeOk:
		stub.Status = sdktrace.Status{Code: codes.Ok}
	}
	if evs := s.Events(); evs.Len() > 0 {
		stub.Events = make([]sdktrace.Event, evs.Len())
		for i := range evs.Len() {
			e := evs.At(i)
			stub.Events[i] = sdktrace.Event{Name: e.Name(), Attributes: toAttributes(e.Attributes()),
				DroppedAttributeCount: int(e.DroppedAttributesCount()), Time: e.Timestamp().AsTime()}
		}
	}
	if ls := s.Links(); ls.Len() > 0 {
		stub.Links = make([]sdktrace.Link, ls.Len())
		for i := range ls.Len() {
			l := ls.At(i)
			lts, _ := trace.ParseTraceState(l.TraceState().AsRaw())
			stub.Links[i] = sdktrace.Link{
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID(l.TraceID()),
					SpanID: trace.SpanID(l.SpanID()), TraceState: lts, TraceFlags: trace.TraceFlags(l.Flags() & 0xff), Remote: true}),
				Attributes: toAttributes(l.Attributes()), DroppedAttributeCount: int(l.DroppedAttributesCount()),
			}
		}
	}
	return stub.Snapshot()
}

// toAttributes converts OTLP attributes, maps, arrays and bytes included.
func toAttributes(m pcommon.Map) []attribute.KeyValue {
	if m.Len() == 0 {
		return nil
	}
	out := make([]attribute.KeyValue, 0, m.Len())
	for k, v := range m.All() {
		out = append(out, attribute.KeyValue{Key: attribute.Key(k), Value: toValue(v)})
	}
	return out
}

func toValue(v pcommon.Value) attribute.Value {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return attribute.StringValue(v.Str())
	case pcommon.ValueTypeInt:
		return attribute.Int64Value(v.Int())
	case pcommon.ValueTypeDouble:
		return attribute.Float64Value(v.Double())
	case pcommon.ValueTypeBool:
		return attribute.BoolValue(v.Bool())
	case pcommon.ValueTypeBytes:
		return attribute.ByteSliceValue(v.Bytes().AsRaw())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		vs := make([]attribute.Value, s.Len())
		for i := range vs {
			vs[i] = toValue(s.At(i))
		}
		return attribute.SliceValue(vs...)
	case pcommon.ValueTypeMap:
		return attribute.MapValue(toAttributes(v.Map())...)
	}
	return attribute.Value{}
}

// ConsumeLogs takes received log records: each is forwarded unchanged to
// the outbound exporters, and one recognised as an access log is recorded
// as a record is. After Shutdown it returns ErrShutdown and takes nothing.
func (p *Pipeline) ConsumeLogs(ctx context.Context, ld plog.Logs) (Outcome, error) {
	if p.isClosed() {
		return Outcome{}, ErrShutdown
	}
	forward := len(p.cfg.logProcessors) > 0
	// OTLP groups records by resource and scope; the access logs of one
	// request are recorded in time order, as their reporters saw them, so
	// that first-seen orders follow the mesh rather than the grouping.
	var entries []accesslog.Entry
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		var res *resource.Resource
		if forward {
			res = toResource(rl.Resource(), rl.SchemaUrl())
		}
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			sl := sls.At(j)
			var logger otellog.Logger
			if forward {
				logger = p.forwarder(res, toScope(sl.Scope(), sl.SchemaUrl()))
			}
			recs := sl.LogRecords()
			for k := range recs.Len() {
				rec := recs.At(k)
				if forward {
					emitUnchanged(ctx, logger, rec)
				}
				if e, ok := accesslog.FromRecord(rl.Resource(), rec); ok {
					entries = append(entries, e)
				}
			}
		}
	}
	slices.SortStableFunc(entries, func(a, b accesslog.Entry) int { return a.Timestamp.Compare(b.Timestamp) })
	for i := range entries {
		if _, err := p.record(ctx, entryRequest(&entries[i], p.cfg.defaultService), false); err != nil {
			return Outcome{}, err
		}
	}
	return Outcome{}, nil
}

// entryRequest turns a received access-log entry into a record request. An
// entry names both ends of its call or neither (accesslog's rule).
func entryRequest(e *accesslog.Entry, defaultService string) *Request {
	r := &Request{
		Service: e.Service, DurationMs: e.DurationMs, Status: e.Status,
		Method: e.Method, Path: e.Path, Protocol: e.Protocol,
		TraceID: e.TraceID, SpanID: e.SpanID, Timestamp: e.Timestamp,
	}
	if e.Source != "" && e.Target != "" {
		r.Source, r.Target, r.Side = e.Source, e.Target, e.Side
	}
	if r.Service == "" {
		r.Service = cmpOr(e.Source, defaultService) // an unknown reporter is not guessed from the target
	}
	return r
}

func cmpOr(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// emitUnchanged emits rec as it was received.
func emitUnchanged(ctx context.Context, l otellog.Logger, rec plog.LogRecord) {
	var r otellog.Record
	r.SetEventName(rec.EventName())
	r.SetTimestamp(rec.Timestamp().AsTime())
	r.SetObservedTimestamp(rec.ObservedTimestamp().AsTime())
	r.SetSeverity(otellog.Severity(rec.SeverityNumber()))
	r.SetSeverityText(rec.SeverityText())
	r.SetBody(toValue(rec.Body()))
	if attrs := rec.Attributes(); attrs.Len() > 0 {
		r.AddAttributes(toAttributes(attrs)...)
	}
	if tid := rec.TraceID(); !tid.IsEmpty() {
		ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID(tid), SpanID: trace.SpanID(rec.SpanID()),
			TraceFlags: trace.TraceFlags(rec.Flags() & 0xff), Remote: true,
		}))
	}
	l.Emit(ctx, r)
}

// maxForwarders bounds the LoggerProviders kept for forwarding received
// logs, one per distinct resource and scope; past it the oldest is dropped.
const maxForwarders = 1024

// forwarders are the LoggerProviders that re-emit received log records
// unchanged to the outbound exporters, keyed by resource and scope.
type forwarders struct {
	mu    sync.Mutex
	m     map[forwardKey]otellog.Logger
	order []forwardKey
}

type forwardKey struct {
	res   attribute.Distinct
	url   string
	scope instrumentation.Scope
}

func (p *Pipeline) forwarder(res *resource.Resource, scope instrumentation.Scope) otellog.Logger {
	k := forwardKey{res.Equivalent(), res.SchemaURL(), scope}
	k.scope.Attributes = attribute.Set{} // sets are not comparable keys
	f := &p.forward
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.m[k]; ok {
		return l
	}
	if f.m == nil {
		f.m = make(map[forwardKey]otellog.Logger)
	}
	opts := []sdklog.LoggerProviderOption{sdklog.WithResource(res),
		sdklog.WithAttributeCountLimit(-1), sdklog.WithAttributeValueLengthLimit(-1)}
	for _, lp := range p.cfg.logProcessors {
		opts = append(opts, sdklog.WithProcessor(sharedLogProcessor{lp}))
	}
	lp := sdklog.NewLoggerProvider(opts...)
	l := lp.Logger(scope.Name, otellog.WithInstrumentationVersion(scope.Version),
		otellog.WithSchemaURL(scope.SchemaURL), otellog.WithInstrumentationAttributes(scope.Attributes.ToSlice()...))
	if len(f.order) >= maxForwarders {
		delete(f.m, f.order[0])
		f.order = f.order[1:]
	}
	f.m[k] = l
	f.order = append(f.order, k)
	return l
}

// ConsumeMetrics takes received metrics: they are counted (their data
// points) and forwarded to the outbound metric exporters when a forwarder
// is configured (WithMetricForwarder); they never become requests.
func (p *Pipeline) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) (Outcome, error) {
	if p.isClosed() {
		return Outcome{}, ErrShutdown
	}
	if p.cfg.forwardMetrics == nil {
		return Outcome{}, nil
	}
	rm := toResourceMetrics(md)
	var errs []error
	for i := range rm {
		errs = append(errs, p.cfg.forwardMetrics(ctx, &rm[i]))
	}
	if err := errors.Join(errs...); err != nil {
		// The exporters count what they lost; the sender did nothing wrong.
		p.cfg.logError(fmt.Errorf("telemetry: forwarding metrics: %w", err))
	}
	return Outcome{}, nil
}

func (p *Pipeline) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}
