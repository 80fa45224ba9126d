package receiver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"

	"github.com/meshobs/meshobs/otlptrace"
)

// fastConsumer is a fakeConsumer that takes OTLP/protobuf trace requests
// as otlptrace decodes them, rebuilt as pdata for the fake: what the
// receivers of meshobs serve run.
type fastConsumer struct{ *fakeConsumer }

var _ TraceRequestConsumer = fastConsumer{}

func (f fastConsumer) ConsumeTraceRequest(ctx context.Context, req *otlptrace.Request) (Outcome, error) {
	return f.ConsumeTraces(ctx, toPdata(req))
}

// ownedConsumer is a fastConsumer that keeps no string of a request (it
// keeps a decoded copy of the request's encoding), and says so: the gRPC
// receiver then decodes each request from a reused buffer, reused again
// once the consumer returns.
type ownedConsumer struct{ fastConsumer }

var _ StringRetainer = ownedConsumer{}

func (ownedConsumer) RetainsStrings() bool { return false }

func (o ownedConsumer) ConsumeTraceRequest(ctx context.Context, req *otlptrace.Request) (Outcome, error) {
	raw, err := ptraceotlp.NewExportRequestFromTraces(toPdata(req)).MarshalProto()
	if err != nil {
		return Outcome{}, err
	}
	own := ptraceotlp.NewExportRequest()
	if err := own.UnmarshalProto(raw); err != nil {
		return Outcome{}, err
	}
	return o.ConsumeTraces(ctx, own.Traces())
}

func toPdata(req *otlptrace.Request) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, rs := range req.ResourceSpans {
		prs := td.ResourceSpans().AppendEmpty()
		prs.SetSchemaUrl(rs.SchemaURL)
		putAttributes(prs.Resource().Attributes(), rs.Resource.Attributes)
		prs.Resource().SetDroppedAttributesCount(rs.Resource.DroppedAttributesCount)
		for _, ss := range rs.ScopeSpans {
			pss := prs.ScopeSpans().AppendEmpty()
			pss.SetSchemaUrl(ss.SchemaURL)
			pss.Scope().SetName(ss.Scope.Name)
			pss.Scope().SetVersion(ss.Scope.Version)
			putAttributes(pss.Scope().Attributes(), ss.Scope.Attributes)
			pss.Scope().SetDroppedAttributesCount(ss.Scope.DroppedAttributesCount)
			for _, s := range ss.Spans {
				p := pss.Spans().AppendEmpty()
				p.SetTraceID(s.TraceID)
				p.SetSpanID(s.SpanID)
				p.SetParentSpanID(s.ParentSpanID)
				p.TraceState().FromRaw(s.TraceState)
				p.SetFlags(s.Flags)
				p.SetName(s.Name)
				p.SetKind(ptrace.SpanKind(s.Kind))
				p.SetStartTimestamp(pcommon.Timestamp(s.StartTimeUnixNano))
				p.SetEndTimestamp(pcommon.Timestamp(s.EndTimeUnixNano))
				putAttributes(p.Attributes(), s.Attributes)
				p.SetDroppedAttributesCount(s.DroppedAttributesCount)
				p.SetDroppedEventsCount(s.DroppedEventsCount)
				p.SetDroppedLinksCount(s.DroppedLinksCount)
				p.Status().SetCode(ptrace.StatusCode(s.Status.Code))
				p.Status().SetMessage(s.Status.Message)
				for _, e := range s.Events {
					pe := p.Events().AppendEmpty()
					pe.SetName(e.Name)
					pe.SetTimestamp(pcommon.Timestamp(e.TimeUnixNano))
					putAttributes(pe.Attributes(), e.Attributes)
					pe.SetDroppedAttributesCount(e.DroppedAttributesCount)
				}
				for _, l := range s.Links {
					pl := p.Links().AppendEmpty()
					pl.SetTraceID(l.TraceID)
					pl.SetSpanID(l.SpanID)
					pl.TraceState().FromRaw(l.TraceState)
					putAttributes(pl.Attributes(), l.Attributes)
					pl.SetDroppedAttributesCount(l.DroppedAttributesCount)
					pl.SetFlags(l.Flags)
				}
			}
		}
	}
	return td
}

func putAttributes(m pcommon.Map, kvs []attribute.KeyValue) {
	for _, kv := range kvs {
		putValue(m.PutEmpty(string(kv.Key)), kv.Value)
	}
}

func putValue(v pcommon.Value, a attribute.Value) {
	switch a.Type() {
	case attribute.STRING:
		v.SetStr(a.AsString())
	case attribute.INT64:
		v.SetInt(a.AsInt64())
	case attribute.FLOAT64:
		v.SetDouble(a.AsFloat64())
	case attribute.BOOL:
		v.SetBool(a.AsBool())
	case attribute.BYTESLICE:
		v.SetEmptyBytes().FromRaw(a.AsByteSlice())
	case attribute.SLICE:
		s := v.SetEmptySlice()
		for _, x := range a.AsSlice() {
			putValue(s.AppendEmpty(), x)
		}
	case attribute.MAP:
		putAttributes(v.SetEmptyMap(), a.AsMap())
	}
}

// TestFastTracePathAnswersAsPdata sends the same trace requests, over both
// transports, to receivers whose consumer takes pdata and to receivers
// whose consumer takes otlptrace requests: the answers (status, response
// body, counts) and what the consumers accepted must be the same.
func TestFastTracePathAnswersAsPdata(t *testing.T) {
	rich := testTraces("ok", "second")
	s := rich.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	s.Events().AppendEmpty().SetName("exception")
	s.Links().AppendEmpty().SetTraceID(pcommon.TraceID{9})
	s.Attributes().PutEmptySlice("tags").AppendEmpty().SetStr("a")
	s.Attributes().PutEmptyMap("m").PutDouble("x", 1.5)
	s.Status().SetCode(ptrace.StatusCodeError)
	richBody, err := ptraceotlp.NewExportRequestFromTraces(rich).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{
		"accepted":        richBody,
		"partial success": tracesBody(t, false, "partial", "x"),
		"unavailable":     tracesBody(t, false, "unavailable"),
		"consumer fails":  tracesBody(t, false, "fail"),
		"malformed":       {0x0a, 0x05, 0x0a, 0x03},
		"short trace id":  {0x0a, 0x07, 0x12, 0x05, 0x12, 0x03, 0x0a, 0x01, 0x01},
		"empty":           {},
	}
	plain := &fakeConsumer{behave: behaveByName}
	fast := fastConsumer{&fakeConsumer{behave: behaveByName}}
	owned := ownedConsumer{fastConsumer{&fakeConsumer{behave: behaveByName}}}
	rp := startReceivers(t, loopbackConfig(), plain)
	rf := startReceivers(t, loopbackConfig(), fast)
	ro := startReceivers(t, loopbackConfig(), owned)
	hc := newHTTPClient(t, nil)
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			answer := func(r *Receivers) string {
				resp, out := post(t, hc, "http://"+r.Addrs().HTTP+"/v1/traces",
					map[string]string{"Content-Type": contentTypeProtobuf}, body)
				h := fmt.Sprintf("HTTP %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
				if resp.StatusCode == http.StatusOK {
					h += fmt.Sprintf(" %x", out)
				} else {
					// The reason a body is malformed is each decoder's own.
					msg, _, _ := strings.Cut(decodeStatus(t, resp.Header.Get("Content-Type"), out).GetMessage(), "body: ")
					h += " " + msg
				}
				req := ptraceotlp.NewExportRequest()
				var g string
				if err := req.UnmarshalProto(body); err != nil {
					// Not sendable with a pdata client: send the raw bytes.
					g = "(raw) " + grpcRaw(t, r.Addrs().GRPC, body)
				} else {
					resp, err := ptraceotlp.NewGRPCClient(dialGRPC(t, r.Addrs().GRPC)).Export(context.Background(), req)
					st, _ := status.FromError(err)
					g = st.Code().String()
					if err == nil {
						g += fmt.Sprintf(" %d %q", resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage())
					} else {
						g += " " + st.Message()
					}
				}
				return h + " | gRPC " + g
			}
			p, f, o := answer(rp), answer(rf), answer(ro)
			if p != f {
				t.Errorf("pdata path: %s\notlptrace path: %s", p, f)
			}
			if p != o {
				t.Errorf("pdata path: %s\notlptrace path, pooled buffers: %s", p, o)
			}
		})
	}
	if p, f, o := rp.Stats(), rf.Stats(), ro.Stats(); fmt.Sprint(p) != fmt.Sprint(f) || fmt.Sprint(p) != fmt.Sprint(o) {
		t.Errorf("counts differ:\npdata     %v\notlptrace %v\npooled    %v", p, f, o)
	}
	pt, ft, ot := plain.allTraces(), fast.allTraces(), owned.allTraces()
	if len(pt) != len(ft) || len(pt) != len(ot) || len(pt) == 0 {
		t.Fatalf("pdata path accepted %d requests, otlptrace path %d, pooled %d", len(pt), len(ft), len(ot))
	}
	for i := range pt {
		a, _ := ptraceotlp.NewExportRequestFromTraces(pt[i]).MarshalProto()
		b, _ := ptraceotlp.NewExportRequestFromTraces(ft[i]).MarshalProto()
		c, _ := ptraceotlp.NewExportRequestFromTraces(ot[i]).MarshalProto()
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Errorf("accepted request %d differs between the paths", i)
		}
	}
}

// TestPooledTraceBuffer: with a consumer that keeps no strings, a request
// is decoded from a buffer of gRPC's pool, which free gives back; otherwise
// from a copy of its own.
func TestPooledTraceBuffer(t *testing.T) {
	body := tracesBody(t, false, "ok")
	// As gRPC hands a message over: in pieces (frames of up to 16 KiB).
	data := mem.BufferSlice{mem.SliceBuffer(body[:5]), mem.SliceBuffer(body[5:])}
	c := newGRPCCodec()
	for _, pooled := range []bool{false, true} {
		m := &traceRequestMsg{req: new(otlptrace.Request), pooled: pooled}
		if err := c.Unmarshal(data, m); err != nil {
			t.Fatal(err)
		}
		if got := len(m.req.ResourceSpans); got != 1 {
			t.Fatalf("pooled %v: %d resource spans decoded, want 1", pooled, got)
		}
		if (m.buf != nil) != pooled {
			t.Fatalf("pooled %v: buffer from the pool %v", pooled, m.buf != nil)
		}
		m.free()
		if m.buf != nil {
			t.Fatal("free kept the buffer")
		}
	}
}

// rawCodec sends and receives messages as the bytes given.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

// grpcRaw sends body as a trace export request and returns the status code
// and the response bytes.
func grpcRaw(t testing.TB, addr string, body []byte) string {
	t.Helper()
	var out []byte
	err := dialGRPC(t, addr).Invoke(context.Background(), traceExportMethod, &body, &out, grpc.ForceCodecV2(rawCodec{}))
	st, _ := status.FromError(err)
	return fmt.Sprintf("%s %x", st.Code(), out)
}
