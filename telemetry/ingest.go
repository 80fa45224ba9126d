package telemetry

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/accesslog"
)

// Received data (OTLP) enters the same SDK pipeline as the stdio node's:
//
//   - a span becomes an ended SDK span (what tracetest.SpanStub's snapshot
//     would be: its own ids, times, attributes, events, links, status,
//     resource and scope) handed to every span processor: the span store
//     (get_trace, the graph) and the outbound exporters, unchanged;
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

func toResource(r pcommon.Resource, schemaURL string) *resource.Resource {
	return resource.NewWithAttributes(schemaURL, toAttributes(r.Attributes())...)
}

// receivedShared is what received data shares across requests: their
// resources and scopes, each built once per distinct encoding. Every
// request repeats its senders' resources; building each anew costs an
// attribute set per resource per request, and the span store, which caches
// service names by resource pointer, would see a new pointer every time.
type receivedShared struct {
	resources     keyedCache[*resource.Resource] // of received logs (pdata)
	wireResources keyedCache[wireResource]       // of received spans (otlptrace)
	scopes        keyedCache[instrumentation.Scope]
}

// Bounds of a keyedCache: the values kept, one per distinct key (past it
// the oldest is dropped), and the largest key kept (a larger one's value is
// built for its request alone), so that a cache holds a few MiB at most
// whatever senders send.
const (
	maxResources        = 1024
	maxResourceKeyBytes = 8 << 10
)

// keyedCache hands out one value per distinct key, built on first sight.
type keyedCache[V any] struct {
	mu    sync.Mutex
	m     map[string]V
	order []string
	key   []byte // scratch, under mu
}

// get returns the value of the key appendKey appends, built by build when
// the cache does not hold it.
func (c *keyedCache[V]) get(appendKey func([]byte) []byte, build func() V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key = appendKey(c.key[:0])
	if v, ok := c.m[string(c.key)]; ok {
		return v
	}
	v := build()
	if len(c.key) > maxResourceKeyBytes {
		if cap(c.key) > 2*maxResourceKeyBytes {
			c.key = nil // do not keep a large scratch buffer either
		}
		return v
	}
	if c.m == nil {
		c.m = make(map[string]V)
	}
	if len(c.order) >= maxResources {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	k := string(c.key)
	c.m[k] = v
	c.order = append(c.order, k)
	return v
}

// resource returns the SDK resource of a received pdata resource.
func (s *receivedShared) resource(r pcommon.Resource, schemaURL string) *resource.Resource {
	return s.resources.get(func(b []byte) []byte {
		return appendMapKey(appendString(b, schemaURL), r.Attributes())
	}, func() *resource.Resource { return toResource(r, schemaURL) })
}

// appendMapKey appends an encoding of m that tells apart any two maps that
// differ in a key, a value, a value's type or their order (equal maps in
// another order just get an entry each).
func appendMapKey(b []byte, m pcommon.Map) []byte {
	b = binary.AppendUvarint(b, uint64(m.Len()))
	for k, v := range m.All() {
		b = appendString(b, k)
		b = appendValueKey(b, v)
	}
	return b
}

func appendValueKey(b []byte, v pcommon.Value) []byte {
	b = append(b, byte(v.Type()))
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = appendString(b, v.Str())
	case pcommon.ValueTypeInt:
		b = binary.LittleEndian.AppendUint64(b, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case pcommon.ValueTypeBytes:
		b = binary.AppendUvarint(b, uint64(v.Bytes().Len()))
		b = append(b, v.Bytes().AsRaw()...)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		b = binary.AppendUvarint(b, uint64(s.Len()))
		for i := range s.Len() {
			b = appendValueKey(b, s.At(i))
		}
	case pcommon.ValueTypeMap:
		b = appendMapKey(b, v.Map())
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func toScope(s pcommon.InstrumentationScope, schemaURL string) instrumentation.Scope {
	return instrumentation.Scope{
		Name: s.Name(), Version: s.Version(), SchemaURL: schemaURL,
		Attributes: attribute.NewSet(toAttributes(s.Attributes())...),
	}
}

// receivedSpan is a received span as an ended SDK span: what
// tracetest.SpanStub.Snapshot makes, without a stub in between, and
// reusable (set) where the span processors keep nothing of it.
type receivedSpan struct {
	// The embedded interface is nil: it only carries the SDK's unexported
	// marker method. Every exported method is implemented below
	// (TestReceivedSpanImplementsEveryMethod calls each of them).
	sdktrace.ReadOnlySpan

	name                 string
	sc, parent           trace.SpanContext
	kind                 trace.SpanKind
	start, end           time.Time
	attrs                []attribute.KeyValue
	events               []sdktrace.Event
	links                []sdktrace.Link
	status               sdktrace.Status
	res                  *resource.Resource
	scope                instrumentation.Scope
	droppedAttrs         int
	droppedEv, droppedLn int
}

var _ sdktrace.ReadOnlySpan = (*receivedSpan)(nil)

// The methods of sdktrace.ReadOnlySpan.

func (r *receivedSpan) Name() string                     { return r.name }
func (r *receivedSpan) SpanContext() trace.SpanContext   { return r.sc }
func (r *receivedSpan) Parent() trace.SpanContext        { return r.parent }
func (r *receivedSpan) SpanKind() trace.SpanKind         { return r.kind }
func (r *receivedSpan) StartTime() time.Time             { return r.start }
func (r *receivedSpan) EndTime() time.Time               { return r.end }
func (r *receivedSpan) Attributes() []attribute.KeyValue { return r.attrs }
func (r *receivedSpan) Links() []sdktrace.Link           { return r.links }
func (r *receivedSpan) Events() []sdktrace.Event         { return r.events }
func (r *receivedSpan) Status() sdktrace.Status          { return r.status }
func (r *receivedSpan) InstrumentationScope() instrumentation.Scope {
	return r.scope
}

//nolint:staticcheck // the deprecated twin of InstrumentationScope, still in the interface
func (r *receivedSpan) InstrumentationLibrary() instrumentation.Library { return r.scope }
func (r *receivedSpan) Resource() *resource.Resource                    { return r.res }
func (r *receivedSpan) DroppedAttributes() int                          { return r.droppedAttrs }
func (r *receivedSpan) DroppedLinks() int                               { return r.droppedLn }
func (r *receivedSpan) DroppedEvents() int                              { return r.droppedEv }
func (r *receivedSpan) ChildSpanCount() int                             { return 0 }

// toAttributes converts OTLP attributes, maps, arrays and bytes included.
func toAttributes(m pcommon.Map) []attribute.KeyValue {
	if m.Len() == 0 {
		return nil
	}
	return appendOTLPAttributes(make([]attribute.KeyValue, 0, m.Len()), m)
}

// appendOTLPAttributes appends the converted attributes of m to dst.
func appendOTLPAttributes(dst []attribute.KeyValue, m pcommon.Map) []attribute.KeyValue {
	dst = slices.Grow(dst, m.Len())
	for k, v := range m.All() {
		dst = append(dst, attribute.KeyValue{Key: attribute.Key(k), Value: toValue(v)})
	}
	return dst
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
			res = p.received.resource(rl.Resource(), rl.SchemaUrl())
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
