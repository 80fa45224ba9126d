package receiver

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	grpcencoding "google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/meshobs/meshobs/otlptrace"
)

// The OTLP/gRPC trace service for a TraceRequestConsumer: the request is
// decoded by package otlptrace (in the server's codec, so that a malformed
// one fails exactly as pdata's decoding fails: INTERNAL, "grpc: error
// unmarshalling request") and the response encoded by hand.

const traceExportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// traceRequestMsg is the gRPC message of a trace export request: its
// decoding, whose strings alias the bytes received. Those are copied out of
// gRPC's pooled buffers, unless pooled: then buf holds them, in a buffer
// of traceBuffers, and free gives it back once the consumer is done.
type traceRequestMsg struct {
	req    *otlptrace.Request
	pooled bool
	buf    mem.Buffer
}

// traceBuffers are the buffers of pooled trace requests: reused as they
// are, not zeroed (every byte is overwritten by the request's), where gRPC's
// default pool clears each buffer it hands out.
var traceBuffers dirtyPool

// dirtyPool is a mem.BufferPool of reused, uncleared buffers. A buffer too
// small for a request is dropped for a new one, so buffers grow to the
// requests' size, at most the receiver's max_recv_msg_size.
type dirtyPool struct{ pool sync.Pool }

func (p *dirtyPool) Get(length int) *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok && cap(*b) >= length {
		*b = (*b)[:length]
		return b
	}
	b := make([]byte, length)
	return &b
}

func (p *dirtyPool) Put(b *[]byte) { p.pool.Put(b) }

func (m *traceRequestMsg) free() {
	if m.buf != nil {
		m.buf.Free()
		m.buf = nil
	}
}

// traceResponseMsg is an ExportTraceServiceResponse.
type traceResponseMsg struct {
	out Outcome
}

// marshal encodes the response: partial_success (1), with rejected_spans
// (1) and error_message (2) when set, present even when empty, as pdata
// writes it.
func (m *traceResponseMsg) marshal() []byte {
	// In pdata's field order, so that both paths answer byte for byte alike.
	var ps []byte
	if m.out.Message != "" {
		ps = protowire.AppendTag(ps, 2, protowire.BytesType)
		ps = protowire.AppendString(ps, m.out.Message)
	}
	if m.out.Rejected != 0 {
		ps = protowire.AppendTag(ps, 1, protowire.VarintType)
		ps = protowire.AppendVarint(ps, uint64(m.out.Rejected))
	}
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(b, ps)
}

// grpcCodec is the server's codec: the trace messages above, and every
// other message through the codec gRPC has registered for "proto" (pdata's,
// for its OTLP types).
type grpcCodec struct{ delegate grpcencoding.CodecV2 }

func newGRPCCodec() grpcCodec { return grpcCodec{delegate: grpcencoding.GetCodecV2("proto")} }

func (c grpcCodec) Name() string { return "proto" }

func (c grpcCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*traceResponseMsg); ok {
		return mem.BufferSlice{mem.SliceBuffer(m.marshal())}, nil
	}
	return c.delegate.Marshal(v)
}

func (c grpcCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*traceRequestMsg); ok {
		if !m.pooled {
			return m.req.Unmarshal(data.Materialize()) // a copy of gRPC's buffers, ours to keep
		}
		// One of gRPC's buffers (a message in one piece) with a reference of
		// our own, or the pieces copied into a buffer of traceBuffers.
		m.buf = data.MaterializeToBuffer(&traceBuffers)
		return m.req.Unmarshal(m.buf.ReadOnlyData())
	}
	return c.delegate.Unmarshal(data, v)
}

// registerTraceService registers the trace service that decodes with
// otlptrace and hands requests to c.
func (g *grpcReceiver) registerTraceService(s *grpc.Server, c TraceRequestConsumer) {
	r, ok := c.(StringRetainer)
	pooled := ok && !r.RetainsStrings()
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Export",
			Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				defer releaseSlot(ctx)
				req := traceRequests.Get().(*otlptrace.Request)
				defer traceRequests.Put(req)
				msg := &traceRequestMsg{req: req, pooled: pooled}
				defer msg.free()
				if err := dec(msg); err != nil {
					return nil, err
				}
				handle := func(ctx context.Context, _ any) (any, error) {
					out, err := g.r.exportTraceRequest(ctx, transportGRPC, c, req)
					if err != nil {
						return nil, grpcStatus(err).Err()
					}
					return &traceResponseMsg{out: out}, nil
				}
				if interceptor == nil {
					return handle(ctx, req)
				}
				return interceptor(ctx, req, &grpc.UnaryServerInfo{FullMethod: traceExportMethod}, handle)
			},
		}},
		Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
	}, struct{}{})
}
