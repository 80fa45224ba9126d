package telemetry

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/bench/otlp/meshtrace"
	"github.com/meshobs/meshobs/otlptrace"
)

// snapshotSpan is the conversion ConsumeTraces made before receivedSpan,
// through tracetest.SpanStub's snapshot: the reference receivedSpan must
// agree with on every method.
func snapshotSpan(s ptrace.Span, res *resource.Resource, scope instrumentation.Scope) sdktrace.ReadOnlySpan {
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

var tEquiv = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// oddSpans are received spans with everything a span may carry: events,
// links, trace state, status messages, dropped counts, nested and byte
// attributes, no attributes at all.
func oddSpans() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "odd")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("odd-scope")
	ss.Scope().Attributes().PutBool("scoped", true)
	for i := range 4 {
		s := ss.Spans().AppendEmpty()
		s.SetName("op")
		s.SetTraceID(pcommon.TraceID{1, byte(i)})
		s.SetSpanID(pcommon.SpanID{2, byte(i)})
		s.SetKind(ptrace.SpanKind(i + 1))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(tEquiv))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(tEquiv.Add(time.Duration(i) * time.Millisecond)))
		switch i {
		case 0: // no attributes, no parent
		case 1:
			s.SetParentSpanID(pcommon.SpanID{9})
			s.TraceState().FromRaw("vendor=a,other=b")
			s.SetFlags(0x301)
			s.Status().SetCode(ptrace.StatusCodeError)
			s.Status().SetMessage("broken")
			s.SetDroppedAttributesCount(3)
			s.SetDroppedEventsCount(4)
			s.SetDroppedLinksCount(5)
			_ = s.Attributes().FromRaw(map[string]any{"s": "x", "i": 7, "f": 1.5, "b": true,
				"bytes": []byte{1, 2}, "list": []any{"a", 1}, "map": map[string]any{"k": "v"}})
			ev := s.Events().AppendEmpty()
			ev.SetName("exception")
			ev.SetTimestamp(pcommon.NewTimestampFromTime(tEquiv))
			ev.Attributes().PutStr("exception.message", "boom")
			ev.SetDroppedAttributesCount(1)
			l := s.Links().AppendEmpty()
			l.SetTraceID(pcommon.TraceID{7})
			l.SetSpanID(pcommon.SpanID{8})
			l.TraceState().FromRaw("k=v")
			l.SetFlags(1)
			l.Attributes().PutInt("link.n", 1)
			l.SetDroppedAttributesCount(2)
		case 2:
			s.Status().SetCode(ptrace.StatusCodeOk)
			s.Status().SetMessage("ignored for Ok")
			s.Attributes().PutInt("http.response.status_code", 200)
		case 3:
			s.SetParentSpanID(pcommon.SpanID{3})
			s.TraceState().FromRaw("not a valid = trace state")
		}
	}
	return td
}

// readOnly is every exported method's result of a read-only span.
func readOnly(ro sdktrace.ReadOnlySpan) map[string]any {
	return map[string]any{
		"Name": ro.Name(), "SpanContext": ro.SpanContext(), "Parent": ro.Parent(), "SpanKind": ro.SpanKind(),
		"StartTime": ro.StartTime(), "EndTime": ro.EndTime(), "Attributes": ro.Attributes(), "Links": ro.Links(),
		"Events": ro.Events(), "Status": ro.Status(), "InstrumentationScope": ro.InstrumentationScope(),
		"InstrumentationLibrary": ro.InstrumentationLibrary(), //nolint:staticcheck // part of the interface
		"Resource":               ro.Resource(), "DroppedAttributes": ro.DroppedAttributes(), "DroppedLinks": ro.DroppedLinks(),
		"DroppedEvents": ro.DroppedEvents(), "ChildSpanCount": ro.ChildSpanCount(),
	}
}

func TestReceivedSpanMatchesTheSnapshot(t *testing.T) {
	for name, td := range map[string]ptrace.Traces{
		"odd":  oddSpans(),
		"mesh": meshtrace.NewBatch(rand.New(rand.NewPCG(3, 4)), tEquiv, 512),
	} {
		t.Run(name, func(t *testing.T) {
			var reused receivedSpan
			n := 0
			for _, rs := range td.ResourceSpans().All() {
				res := toResource(rs.Resource(), rs.SchemaUrl())
				for _, ss := range rs.ScopeSpans().All() {
					scope := toScope(ss.Scope(), ss.SchemaUrl())
					for _, s := range ss.Spans().All() {
						want := readOnly(snapshotSpan(s, res, scope))
						if got := readOnly(newReceivedSpan(t, s, res, scope)); !reflect.DeepEqual(got, want) {
							t.Fatalf("span %d: new\n got %v\nwant %v", n, got, want)
						}
						reused.setWire(wireSpan(t, s), res, scope, false)
						if got := readOnly(&reused); !reflect.DeepEqual(got, want) {
							t.Fatalf("span %d: reused\n got %v\nwant %v", n, got, want)
						}
						n++
					}
				}
			}
			if n != td.SpanCount() {
				t.Fatalf("compared %d spans of %d", n, td.SpanCount())
			}
		})
	}
}

// TestReceivedSpanImplementsEveryMethod calls every exported method of
// sdktrace.ReadOnlySpan on a receivedSpan, whose embedded interface is nil:
// a method the SDK adds, and receivedSpan lacks, panics here rather than in
// an exporter.
func TestReceivedSpanImplementsEveryMethod(t *testing.T) {
	iface := reflect.TypeFor[sdktrace.ReadOnlySpan]()
	v := reflect.ValueOf(newReceivedSpan(t, oddSpans().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1),
		resource.Empty(), instrumentation.Scope{Name: "s"}))
	called := 0
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		if !m.IsExported() {
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("receivedSpan.%s is not implemented (the nil embedded interface's): %v", m.Name, r)
				}
			}()
			v.MethodByName(m.Name).Call(nil)
		}()
		called++
	}
	if called < 17 {
		t.Fatalf("called %d methods, want the 17 of SDK v1.47 at least", called)
	}
}

// TestConsumeTracesReusesNothingAnExporterKeeps: with an outbound span
// processor, every span it is handed stays as it was, whatever came after
// it in the request.
func TestConsumeTracesReusesNothingAnExporterKeeps(t *testing.T) {
	keep := tracetest.NewSpanRecorder()
	p, err := New(WithSpanProcessor(keep))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	td := meshtrace.NewBatch(rand.New(rand.NewPCG(5, 6)), tEquiv, 512)
	if _, err := p.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	got := keep.Ended()
	if len(got) != td.SpanCount() {
		t.Fatalf("the exporter got %d spans, want %d", len(got), td.SpanCount())
	}
	i := 0
	for _, rs := range td.ResourceSpans().All() {
		res := toResource(rs.Resource(), rs.SchemaUrl())
		for _, ss := range rs.ScopeSpans().All() {
			scope := toScope(ss.Scope(), ss.SchemaUrl())
			for _, s := range ss.Spans().All() {
				if want := readOnly(snapshotSpan(s, res, scope)); !reflect.DeepEqual(readOnly(got[i]), want) {
					t.Fatalf("span %d as kept by the exporter\n got %v\nwant %v", i, readOnly(got[i]), want)
				}
				i++
			}
		}
	}
}

// TestResourceCache: equal resources share one SDK resource, different ones
// (a value, a type, the schema URL) do not, and the cache stays bounded.
func TestResourceCache(t *testing.T) {
	var c receivedShared
	// mk makes a resource of service.name and one more attribute, in this
	// order (FromRaw would follow a Go map's random order).
	mk := func(service string, v any) pcommon.Resource {
		r := pcommon.NewResource()
		r.Attributes().PutStr("service.name", service)
		if err := r.Attributes().PutEmpty("n").FromRaw(v); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := c.resource(mk("a", 1), "")
	if c.resource(mk("a", 1), "") != a {
		t.Error("an equal resource got a resource of its own")
	}
	for name, other := range map[string]*resource.Resource{
		"value":  c.resource(mk("a", 2), ""),
		"type":   c.resource(mk("a", "1"), ""),
		"schema": c.resource(mk("a", 1), "https://opentelemetry.io/schemas/1.37.0"),
		"nested": c.resource(mk("a", []any{1}), ""),
	} {
		if other == a {
			t.Errorf("a resource differing in its %s shares the first one's", name)
		}
	}
	if v, _ := a.Set().Value("service.name"); v.AsString() != "a" || a.Len() != 2 {
		t.Errorf("resource %v", a.Attributes())
	}
	if len(c.resources.m) != 5 {
		t.Fatalf("%d resources cached, want 5", len(c.resources.m))
	}
	big := strings.Repeat("x", maxResourceKeyBytes)
	if b1, b2 := c.resource(mk("big", big), ""), c.resource(mk("big", big), ""); b1 == b2 || len(c.resources.m) != 5 {
		t.Errorf("a resource over maxResourceKeyBytes was cached (%d cached)", len(c.resources.m))
	} else if v, _ := b1.Set().Value("service.name"); v.AsString() != "big" {
		t.Errorf("big resource %v", b1.Attributes())
	}
	for i := range maxResources + 10 {
		c.resource(mk("s", i), "")
	}
	if len(c.resources.m) != maxResources || len(c.resources.order) != maxResources {
		t.Errorf("%d resources cached (%d in order), want the bound %d", len(c.resources.m), len(c.resources.order), maxResources)
	}
}

// wireSpan is the received span s as otlptrace decodes it, encoded alone.
func wireSpan(tb testing.TB, s ptrace.Span) *otlptrace.Span {
	tb.Helper()
	td := ptrace.NewTraces()
	s.CopyTo(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty())
	raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		tb.Fatal(err)
	}
	var req otlptrace.Request
	if err := req.Unmarshal(raw); err != nil {
		tb.Fatal(err)
	}
	return &req.ResourceSpans[0].ScopeSpans[0].Spans[0]
}

// newReceivedSpan is what ConsumeTraceRequest makes of the received span s
// under res and scope, as a value of its own.
func newReceivedSpan(tb testing.TB, s ptrace.Span, res *resource.Resource, scope instrumentation.Scope) *receivedSpan {
	r := &receivedSpan{}
	r.setWire(wireSpan(tb, s), res, scope, true)
	return r
}
