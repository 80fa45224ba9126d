package telemetry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/otlptrace"
	"github.com/meshobs/meshobs/semconv"
)

// ConsumeTraces takes received spans. A span without a valid trace id or
// span id, or whose resource has no service.name, is refused (counted in
// the Outcome); the others are accepted whole. After Shutdown it returns
// ErrShutdown and takes nothing. It is ConsumeTraceRequest for spans
// pdata holds (OTLP/JSON, tests): they are encoded and decoded once more.
func (p *Pipeline) ConsumeTraces(ctx context.Context, td ptrace.Traces) (Outcome, error) {
	if p.isClosed() {
		return Outcome{}, ErrShutdown
	}
	raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return Outcome{}, fmt.Errorf("telemetry: encoding received spans: %w", err)
	}
	var req otlptrace.Request
	if err := req.Unmarshal(raw); err != nil {
		return Outcome{}, fmt.Errorf("telemetry: decoding received spans: %w", err)
	}
	return p.ConsumeTraceRequest(ctx, &req)
}

// ConsumeTraceRequest takes the received spans of one request decoded by
// package otlptrace, as ConsumeTraces does. It keeps neither req nor its
// slices: the caller may decode into req again once it returns.
func (p *Pipeline) ConsumeTraceRequest(ctx context.Context, req *otlptrace.Request) (Outcome, error) {
	if p.isClosed() {
		return Outcome{}, ErrShutdown
	}
	// With no outbound exporter, the span store (and, through it, the graph)
	// is the only span processor, and it copies what it keeps before OnEnd
	// returns: one span value serves every span of the request, its
	// attributes those of the request. An outbound processor may keep the
	// spans it is handed (a batch processor does), so each span is then a
	// value of its own, with its own attributes (their strings alias the
	// request's buffer, which they keep alive).
	reuse := len(p.spanProcessors) == 1
	var scratch receivedSpan
	var rej rejections
	for i := range req.ResourceSpans {
		rs := &req.ResourceSpans[i]
		res, service := p.received.resources.getWire(&rs.Resource, rs.SchemaURL)
		if service == "" {
			n := 0
			for j := range rs.ScopeSpans {
				n += len(rs.ScopeSpans[j].Spans)
			}
			rej.add(n, "a resource without service.name (a span without a service)")
			continue
		}
		p.mu.Lock()
		svc := p.admitLocked(service)
		p.mu.Unlock()
		for j := range rs.ScopeSpans {
			ss := &rs.ScopeSpans[j]
			scope := p.received.scopes.get(&ss.Scope, ss.SchemaURL)
			stdio := scope.Name == semconv.ScopeName
			for k := range ss.Spans {
				s := &ss.Spans[k]
				if s.TraceID == [16]byte{} || s.SpanID == [8]byte{} {
					rej.add(1, fmt.Sprintf("span %q has no valid trace_id or span_id", s.Name))
					continue
				}
				ro := &scratch
				if !reuse {
					ro = &receivedSpan{}
				}
				ro.setWire(s, res, scope, !reuse)
				for _, sp := range p.spanProcessors {
					sp.OnEnd(ro)
				}
				if !stdio && (s.Kind == int32(ptrace.SpanKindServer) || s.Kind == int32(ptrace.SpanKindConsumer)) {
					p.countSpanRequest(ctx, svc, ro)
				}
			}
		}
	}
	return rej.outcome("spans"), nil
}

// unixTime is what pdata's Timestamp.AsTime makes of OTLP nanoseconds.
func unixTime(ns uint64) time.Time { return time.Unix(0, int64(ns)).UTC() }

// setWire makes r the received span s; with own, r's attributes are a copy
// (r may be kept), else s's own (r is used only until s is decoded over).
func (r *receivedSpan) setWire(s *otlptrace.Span, res *resource.Resource, scope instrumentation.Scope, own bool) {
	var ts trace.TraceState
	if s.TraceState != "" {
		ts, _ = trace.ParseTraceState(s.TraceState)
	}
	attrs := s.Attributes
	if len(attrs) == 0 {
		attrs = nil // as the snapshot has it
	} else if own {
		attrs = slices.Clone(attrs)
	}
	*r = receivedSpan{
		name: s.Name,
		sc: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: s.TraceID, SpanID: s.SpanID,
			// A span that was exported was recorded: sampled, whatever flags its
			// sender set (many set none), or the batch processors would drop it.
			TraceFlags: trace.TraceFlags(s.Flags&0xff) | trace.FlagsSampled, TraceState: ts,
		}),
		kind:         trace.SpanKind(s.Kind), // the same numbering
		start:        unixTime(s.StartTimeUnixNano),
		end:          unixTime(s.EndTimeUnixNano),
		attrs:        attrs,
		res:          res,
		scope:        scope,
		droppedAttrs: int(s.DroppedAttributesCount),
		droppedEv:    int(s.DroppedEventsCount),
		droppedLn:    int(s.DroppedLinksCount),
	}
	if s.ParentSpanID != [8]byte{} {
		r.parent = trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: s.TraceID, SpanID: s.ParentSpanID, Remote: true, TraceFlags: r.sc.TraceFlags(),
		})
	}
	switch ptrace.StatusCode(s.Status.Code) {
	case ptrace.StatusCodeError:
		r.status = sdktrace.Status{Code: codes.Error, Description: s.Status.Message}
	case ptrace.StatusCodeOk:
		r.status = sdktrace.Status{Code: codes.Ok}
	}
	if len(s.Events) > 0 {
		r.events = make([]sdktrace.Event, len(s.Events))
		for i := range s.Events {
			e := &s.Events[i]
			r.events[i] = sdktrace.Event{Name: e.Name, Attributes: ownAttributes(e.Attributes),
				DroppedAttributeCount: int(e.DroppedAttributesCount), Time: unixTime(e.TimeUnixNano)}
		}
	}
	if len(s.Links) > 0 {
		r.links = make([]sdktrace.Link, len(s.Links))
		for i := range s.Links {
			l := &s.Links[i]
			lts, _ := trace.ParseTraceState(l.TraceState)
			r.links[i] = sdktrace.Link{
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: l.TraceID,
					SpanID: l.SpanID, TraceState: lts, TraceFlags: trace.TraceFlags(l.Flags & 0xff), Remote: true}),
				Attributes: ownAttributes(l.Attributes), DroppedAttributeCount: int(l.DroppedAttributesCount),
			}
		}
	}
}

// ownAttributes copies decoded attributes out of the request's reused
// slices; nil when there are none.
func ownAttributes(kvs []attribute.KeyValue) []attribute.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	return slices.Clone(kvs)
}

// cloneAttributes copies kvs with strings of their own: what a cache keeps
// must not keep a request's buffer alive.
func cloneAttributes(kvs []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = attribute.KeyValue{Key: attribute.Key(strings.Clone(string(kv.Key))), Value: cloneValue(kv.Value)}
	}
	return out
}

func cloneValue(v attribute.Value) attribute.Value {
	switch v.Type() {
	case attribute.STRING:
		return attribute.StringValue(strings.Clone(v.AsString()))
	case attribute.BYTESLICE:
		return attribute.ByteSliceValue(v.AsByteSlice()) // a copy
	case attribute.STRINGSLICE:
		ss := v.AsStringSlice()
		for i := range ss {
			ss[i] = strings.Clone(ss[i])
		}
		return attribute.StringSliceValue(ss)
	case attribute.SLICE:
		vs := v.AsSlice()
		for i := range vs {
			vs[i] = cloneValue(vs[i])
		}
		return attribute.SliceValue(vs...)
	case attribute.MAP:
		return attribute.MapValue(cloneAttributes(v.AsMap())...)
	}
	return v
}

// getWire returns the resource of a decoded one and its service.name ("" if
// it has none), built on first sight; the cache key is its encoding.
func (c *resourceCache) getWire(r *otlptrace.Resource, schemaURL string) (*resource.Resource, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key = appendString(c.key[:0], schemaURL)
	c.key = append(c.key, r.Raw...)
	if e, ok := c.wire[string(c.key)]; ok {
		return e.res, e.service
	}
	res := resource.NewWithAttributes(schemaURL, cloneAttributes(r.Attributes)...)
	var service string
	if v, ok := res.Set().Value(otelsemconv.ServiceNameKey); ok && v.Type() == attribute.STRING {
		service = v.AsString()
	}
	if len(c.key) > maxResourceKeyBytes {
		if cap(c.key) > 2*maxResourceKeyBytes {
			c.key = nil // do not keep a large scratch buffer either
		}
		return res, service
	}
	if c.wire == nil {
		c.wire = make(map[string]wireResource)
	}
	if len(c.wireOrder) >= maxResources {
		delete(c.wire, c.wireOrder[0])
		c.wireOrder = c.wireOrder[1:]
	}
	k := string(c.key)
	c.wire[k] = wireResource{res, service}
	c.wireOrder = append(c.wireOrder, k)
	return res, service
}

type wireResource struct {
	res     *resource.Resource
	service string
}

// scopeCache hands out one instrumentation.Scope per distinct received
// scope, its strings its own (the span store keeps the scope name), built
// on first sight; bounded as resourceCache is.
type scopeCache struct {
	mu    sync.Mutex
	m     map[string]instrumentation.Scope
	order []string
	key   []byte // scratch, under mu
}

func (c *scopeCache) get(s *otlptrace.Scope, schemaURL string) instrumentation.Scope {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key = appendString(c.key[:0], schemaURL)
	c.key = append(c.key, s.Raw...)
	if sc, ok := c.m[string(c.key)]; ok {
		return sc
	}
	sc := instrumentation.Scope{
		Name: strings.Clone(s.Name), Version: strings.Clone(s.Version), SchemaURL: strings.Clone(schemaURL),
		Attributes: attribute.NewSet(cloneAttributes(s.Attributes)...),
	}
	if len(c.key) > maxResourceKeyBytes {
		if cap(c.key) > 2*maxResourceKeyBytes {
			c.key = nil
		}
		return sc
	}
	if c.m == nil {
		c.m = make(map[string]instrumentation.Scope)
	}
	if len(c.order) >= maxResources {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	k := string(c.key)
	c.m[k] = sc
	c.order = append(c.order, k)
	return sc
}
