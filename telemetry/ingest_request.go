package telemetry

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	reuse := !p.RetainsReceivedStrings()
	var scratch receivedSpan
	var rej rejections
	for i := range req.ResourceSpans {
		rs := &req.ResourceSpans[i]
		wr := p.received.wireResource(&rs.Resource, rs.SchemaURL)
		if wr.service == "" {
			n := 0
			for j := range rs.ScopeSpans {
				n += len(rs.ScopeSpans[j].Spans)
			}
			rej.add(n, "a resource without service.name (a span without a service)")
			continue
		}
		p.mu.Lock()
		svc := p.admitLocked(wr.service)
		p.mu.Unlock()
		for j := range rs.ScopeSpans {
			ss := &rs.ScopeSpans[j]
			scope := p.received.scope(&ss.Scope, ss.SchemaURL)
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
				ro.setWire(s, wr.res, scope, !reuse)
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

// RetainsReceivedStrings reports whether ConsumeTraceRequest may leave
// references to a request's strings behind when it returns: only when an
// outbound span processor, which may keep the spans it is handed, is
// registered. When it reports false, the caller may reuse the request's
// buffer as soon as ConsumeTraceRequest returns: the span store, the graph
// and the metrics copy every string they keep.
func (p *Pipeline) RetainsReceivedStrings() bool { return len(p.spanProcessors) > 1 }

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

// wireResource is a received span resource and its service.name ("" when
// it has none).
type wireResource struct {
	res     *resource.Resource
	service string
}

// wireResource returns the SDK resource of a decoded resource, and its
// service.name; the key is its encoding, its strings its own.
func (s *receivedShared) wireResource(r *otlptrace.Resource, schemaURL string) wireResource {
	return s.wireResources.get(func(b []byte) []byte {
		return append(appendString(b, schemaURL), r.Raw...)
	}, func() wireResource {
		res := resource.NewWithAttributes(schemaURL, cloneAttributes(r.Attributes)...)
		var service string
		if v, ok := res.Set().Value(otelsemconv.ServiceNameKey); ok && v.Type() == attribute.STRING {
			service = v.AsString()
		}
		return wireResource{res, service}
	})
}

// scope returns the instrumentation scope of a decoded scope, its strings
// its own (the span store keeps the scope name).
func (s *receivedShared) scope(sc *otlptrace.Scope, schemaURL string) instrumentation.Scope {
	return s.scopes.get(func(b []byte) []byte {
		return append(appendString(b, schemaURL), sc.Raw...)
	}, func() instrumentation.Scope {
		return instrumentation.Scope{
			Name: strings.Clone(sc.Name), Version: strings.Clone(sc.Version), SchemaURL: strings.Clone(schemaURL),
			Attributes: attribute.NewSet(cloneAttributes(sc.Attributes)...),
		}
	})
}
