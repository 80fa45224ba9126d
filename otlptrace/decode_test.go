package otlptrace_test

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/meshobs/meshobs/bench/otlp/meshtrace"
	"github.com/meshobs/meshobs/otlptrace"
)

// fromPdata is the Request pdata's decoding of the same bytes means: the
// reference the decoder is held to (Raw fields aside).
func fromPdata(td ptrace.Traces) *otlptrace.Request {
	r := &otlptrace.Request{}
	for _, rs := range td.ResourceSpans().All() {
		out := otlptrace.ResourceSpans{
			Resource: otlptrace.Resource{Attributes: attrs(rs.Resource().Attributes()),
				DroppedAttributesCount: rs.Resource().DroppedAttributesCount()},
			SchemaURL: rs.SchemaUrl(),
		}
		for _, ss := range rs.ScopeSpans().All() {
			sc := otlptrace.ScopeSpans{SchemaURL: ss.SchemaUrl(), Scope: otlptrace.Scope{
				Name: ss.Scope().Name(), Version: ss.Scope().Version(), Attributes: attrs(ss.Scope().Attributes()),
				DroppedAttributesCount: ss.Scope().DroppedAttributesCount()}}
			for _, s := range ss.Spans().All() {
				sp := otlptrace.Span{
					TraceID: s.TraceID(), SpanID: s.SpanID(), ParentSpanID: s.ParentSpanID(),
					TraceState: s.TraceState().AsRaw(), Flags: s.Flags(), Name: s.Name(), Kind: int32(s.Kind()),
					StartTimeUnixNano: uint64(s.StartTimestamp()), EndTimeUnixNano: uint64(s.EndTimestamp()),
					Attributes: attrs(s.Attributes()), DroppedAttributesCount: s.DroppedAttributesCount(),
					DroppedEventsCount: s.DroppedEventsCount(), DroppedLinksCount: s.DroppedLinksCount(),
					Status: otlptrace.Status{Message: s.Status().Message(), Code: int32(s.Status().Code())},
				}
				for _, e := range s.Events().All() {
					sp.Events = append(sp.Events, otlptrace.Event{TimeUnixNano: uint64(e.Timestamp()), Name: e.Name(),
						Attributes: attrs(e.Attributes()), DroppedAttributesCount: e.DroppedAttributesCount()})
				}
				for _, l := range s.Links().All() {
					sp.Links = append(sp.Links, otlptrace.Link{TraceID: l.TraceID(), SpanID: l.SpanID(),
						TraceState: l.TraceState().AsRaw(), Attributes: attrs(l.Attributes()),
						DroppedAttributesCount: l.DroppedAttributesCount(), Flags: l.Flags()})
				}
				sc.Spans = append(sc.Spans, sp)
			}
			out.ScopeSpans = append(out.ScopeSpans, sc)
		}
		r.ResourceSpans = append(r.ResourceSpans, out)
	}
	return r
}

func attrs(m pcommon.Map) []attribute.KeyValue {
	var out []attribute.KeyValue
	for k, v := range m.All() {
		out = append(out, attribute.KeyValue{Key: attribute.Key(k), Value: value(v)})
	}
	return out
}

func value(v pcommon.Value) attribute.Value {
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
		var vs []attribute.Value
		for _, x := range v.Slice().All() {
			vs = append(vs, value(x))
		}
		return attribute.SliceValue(vs...)
	case pcommon.ValueTypeMap:
		return attribute.MapValue(attrs(v.Map())...)
	}
	return attribute.Value{}
}

// normalized clears what pdata cannot tell (Raw) and makes empty slices nil.
func normalized(r *otlptrace.Request) *otlptrace.Request {
	out := &otlptrace.Request{}
	for _, rs := range r.ResourceSpans {
		o := otlptrace.ResourceSpans{Resource: rs.Resource, SchemaURL: rs.SchemaURL}
		o.Resource.Raw = nil
		o.Resource.Attributes = nilIfEmpty(o.Resource.Attributes)
		for _, ss := range rs.ScopeSpans {
			s := otlptrace.ScopeSpans{Scope: ss.Scope, SchemaURL: ss.SchemaURL}
			s.Scope.Raw = nil
			s.Scope.Attributes = nilIfEmpty(s.Scope.Attributes)
			for _, sp := range ss.Spans {
				sp.Attributes = nilIfEmpty(sp.Attributes)
				var evs []otlptrace.Event
				for _, e := range sp.Events {
					e.Attributes = nilIfEmpty(e.Attributes)
					evs = append(evs, e)
				}
				sp.Events = evs
				var ls []otlptrace.Link
				for _, l := range sp.Links {
					l.Attributes = nilIfEmpty(l.Attributes)
					ls = append(ls, l)
				}
				sp.Links = ls
				s.Spans = append(s.Spans, sp)
			}
			o.ScopeSpans = append(o.ScopeSpans, s)
		}
		out.ResourceSpans = append(out.ResourceSpans, o)
	}
	return out
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// same decodes buf with both decoders (into reuse, a Request that already
// held something) and reports any difference.
func same(t *testing.T, buf []byte, reuse *otlptrace.Request) {
	t.Helper()
	req := ptraceotlp.NewExportRequest()
	perr := req.UnmarshalProto(bytes.Clone(buf))
	err := reuse.Unmarshal(buf)
	if (perr == nil) != (err == nil) {
		t.Fatalf("pdata error %v, otlptrace error %v on %x", perr, err, buf)
	}
	if err != nil {
		return
	}
	want, got := normalized(fromPdata(req.Traces())), normalized(reuse)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded differently from pdata on %x:\n got %+v\nwant %+v", buf, got, want)
	}
	if n := reuse.SpanCount(); n != req.Traces().SpanCount() {
		t.Fatalf("SpanCount %d, pdata %d", n, req.Traces().SpanCount())
	}
}

func meshRequest(tb testing.TB, seed uint64) []byte {
	tb.Helper()
	td := meshtrace.NewBatch(rand.New(rand.NewPCG(seed, 2)), time.Unix(1_700_000_000, 0), 512)
	raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// richRequest has one of everything: every value type, nested ones,
// events, links, trace state, status, dropped counts, schema URLs.
func richRequest(tb testing.TB) []byte {
	tb.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.37.0")
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.Resource().SetDroppedAttributesCount(2)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("io.opentelemetry.http")
	ss.Scope().SetVersion("1.2.3")
	ss.Scope().Attributes().PutBool("scope.flag", true)
	ss.SetSchemaUrl("https://example.test/schema")
	s := ss.Spans().AppendEmpty()
	s.SetTraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	s.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	s.SetParentSpanID([8]byte{8, 7, 6, 5, 4, 3, 2, 1})
	s.TraceState().FromRaw("vendor=abc")
	s.SetFlags(0x301)
	s.SetName("POST /cart")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(1_700_000_000_000_000_000)
	s.SetEndTimestamp(1_700_000_000_250_000_000)
	a := s.Attributes()
	a.PutStr("http.request.method", "POST")
	a.PutInt("http.response.status_code", 503)
	a.PutDouble("ratio", 0.25)
	a.PutBool("retry", false)
	a.PutEmptyBytes("blob").FromRaw([]byte{0, 1, 2, 255})
	sl := a.PutEmptySlice("tags")
	sl.AppendEmpty().SetStr("a")
	sl.AppendEmpty().SetInt(7)
	sl.AppendEmpty().SetEmptySlice().AppendEmpty().SetBool(true)
	m := a.PutEmptyMap("nested")
	m.PutStr("k", "v")
	m.PutEmptyMap("deeper").PutDouble("x", 1.5)
	a.PutEmpty("nothing")
	s.SetDroppedAttributesCount(3)
	e := s.Events().AppendEmpty()
	e.SetName("exception")
	e.SetTimestamp(1_700_000_000_100_000_000)
	e.Attributes().PutStr("exception.type", "Timeout")
	e.SetDroppedAttributesCount(1)
	s.SetDroppedEventsCount(4)
	l := s.Links().AppendEmpty()
	l.SetTraceID([16]byte{9: 9})
	l.SetSpanID([8]byte{7: 7})
	l.TraceState().FromRaw("x=y")
	l.Attributes().PutInt("link.n", 1)
	l.SetDroppedAttributesCount(5)
	l.SetFlags(1)
	s.SetDroppedLinksCount(6)
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Status().SetMessage("upstream timed out")
	ss.Spans().AppendEmpty().SetName("empty span")
	td.ResourceSpans().AppendEmpty() // an empty resource
	raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// Hand-made encodings of what pdata's marshaller never writes.
func handMade() map[string][]byte {
	field := func(b []byte, num protowire.Number, body []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, body)
	}
	kv := func(k, v string) []byte {
		var val []byte
		val = field(val, 1, []byte(v))
		var b []byte
		b = field(b, 1, []byte(k))
		return field(b, 2, val)
	}
	span := func(extra ...[]byte) []byte {
		var b []byte
		b = field(b, 1, bytes.Repeat([]byte{1}, 16))
		b = field(b, 2, bytes.Repeat([]byte{2}, 8))
		b = field(b, 5, []byte("op"))
		for _, x := range extra {
			b = append(b, x...)
		}
		return b
	}
	resource := field(nil, 1, kv("service.name", "a"))
	resource2 := field(nil, 1, kv("k8s.pod.name", "p"))
	ss := func(spans ...[]byte) []byte {
		var b []byte
		for _, s := range spans {
			b = field(b, 2, s)
		}
		return b
	}
	req := func(rs ...[]byte) []byte {
		var b []byte
		for _, r := range rs {
			b = field(b, 1, r)
		}
		return b
	}
	rs := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	status := func(msg string, code uint64) []byte {
		var b []byte
		if msg != "" {
			b = field(b, 2, []byte(msg))
		}
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		return protowire.AppendVarint(b, code)
	}
	unknownGroup := protowire.AppendTag(nil, 99, protowire.StartGroupType)
	unknownGroup = protowire.AppendTag(unknownGroup, 1, protowire.VarintType)
	unknownGroup = protowire.AppendVarint(unknownGroup, 5)
	unknownGroup = protowire.AppendTag(unknownGroup, 99, protowire.EndGroupType)
	return map[string][]byte{
		"deprecated instrumentation_library_spans": req(rs(field(nil, 1, resource), field(nil, 1000, ss(span())))),
		"both scope_spans and deprecated":          req(rs(field(nil, 1, resource), field(nil, 1000, ss(span())), field(nil, 2, ss(span())))),
		"resource sent twice merges":               req(rs(field(nil, 1, resource), field(nil, 2, ss(span())), field(nil, 1, resource2))),
		"status sent twice merges": req(rs(field(nil, 1, resource), field(nil, 2, ss(span(
			field(nil, 15, status("first", 2)), field(nil, 15, status("", 1))))))),
		"unknown fields and groups": req(rs(field(nil, 1, resource), field(nil, 2, ss(span(
			protowire.AppendVarint(protowire.AppendTag(nil, 77, protowire.VarintType), 1), unknownGroup))))),
		"short trace id": req(rs(field(nil, 2, ss(field(nil, 1, []byte{1, 2, 3}))))),
		"wrong wire type": req(rs(field(nil, 2, ss(
			protowire.AppendVarint(protowire.AppendTag(nil, 5, protowire.VarintType), 1))))),
		"truncated": req(rs(field(nil, 1, resource)))[:9],
		"value sent twice, the second empty": req(rs(field(nil, 1, field(nil, 1,
			field(field(field(nil, 1, []byte("k")), 2, field(nil, 1, []byte("v"))), 2, nil))))),
	}
}

func TestMatchesPdata(t *testing.T) {
	reuse := &otlptrace.Request{}
	cases := map[string][]byte{"mesh": meshRequest(t, 1), "rich": richRequest(t), "empty": nil}
	for name, b := range handMade() {
		cases[name] = b
	}
	for name, buf := range cases {
		t.Run(name, func(t *testing.T) {
			same(t, buf, &otlptrace.Request{})
			same(t, buf, reuse) // over whatever the previous case left
		})
	}
}

func TestRawIsTheEncodedResourceAndScope(t *testing.T) {
	buf := richRequest(t)
	var r otlptrace.Request
	if err := r.Unmarshal(buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf, r.ResourceSpans[0].Resource.Raw) || len(r.ResourceSpans[0].Resource.Raw) == 0 {
		t.Fatalf("resource Raw %x is not a part of the request", r.ResourceSpans[0].Resource.Raw)
	}
	var again otlptrace.Request
	if err := again.Unmarshal(buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.ResourceSpans[0].ScopeSpans[0].Scope.Raw, r.ResourceSpans[0].ScopeSpans[0].Scope.Raw) {
		t.Fatal("the same scope encodes to different Raw keys")
	}
	if len(r.ResourceSpans[1].Resource.Raw) != 0 {
		t.Fatalf("an empty resource has Raw %x", r.ResourceSpans[1].Resource.Raw)
	}
}

func TestReuseAllocatesNothing(t *testing.T) {
	buf := meshRequest(t, 3)
	var r otlptrace.Request
	if err := r.Unmarshal(buf); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := r.Unmarshal(buf); err != nil {
			t.Fatal(err)
		}
	})
	if spans := r.SpanCount(); allocs > float64(spans)/100 {
		t.Fatalf("%.0f allocations decoding %d spans into a used Request", allocs, spans)
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add(meshRequest(f, 5)[:4096])
	f.Add(richRequest(f))
	for _, b := range handMade() {
		f.Add(b)
	}
	reuse := &otlptrace.Request{}
	f.Fuzz(func(t *testing.T, buf []byte) {
		same(t, buf, &otlptrace.Request{})
		same(t, buf, reuse)
	})
}

func BenchmarkUnmarshal(b *testing.B) {
	buf := meshRequest(b, 1)
	b.Run("pdata", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("otlptrace", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		var r otlptrace.Request
		for b.Loop() {
			if err := r.Unmarshal(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
