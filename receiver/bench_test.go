package receiver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding/gzip"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// nopConsumer takes everything and keeps nothing.
type nopConsumer struct{}

func (nopConsumer) ConsumeTraces(context.Context, ptrace.Traces) (Outcome, error) {
	return Outcome{}, nil
}
func (nopConsumer) ConsumeLogs(context.Context, plog.Logs) (Outcome, error) { return Outcome{}, nil }
func (nopConsumer) ConsumeMetrics(context.Context, pmetric.Metrics) (Outcome, error) {
	return Outcome{}, nil
}

var _ Consumer = nopConsumer{}

// benchTraces is a batch of n mesh-like spans: ids, kind, status, times and
// five attributes each, from four services.
func benchTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	for svc := range 4 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("service-%d", svc))
		rs.Resource().Attributes().PutStr("k8s.namespace.name", "shop")
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range n / 4 {
			sp := spans.AppendEmpty()
			sp.SetName("GET /api/cart")
			sp.SetTraceID(pcommon.TraceID{byte(svc), byte(i), byte(i >> 8), 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
			sp.SetSpanID(pcommon.SpanID{byte(svc), byte(i), byte(i >> 8), 4, 5, 6, 7, 8})
			sp.SetParentSpanID(pcommon.SpanID{byte(svc), byte(i), 9, 9, 9, 9, 9, 9})
			sp.SetKind(ptrace.SpanKindServer)
			sp.SetStartTimestamp(1_700_000_000_000_000_000)
			sp.SetEndTimestamp(1_700_000_000_012_000_000)
			sp.Status().SetCode(ptrace.StatusCodeOk)
			a := sp.Attributes()
			a.PutStr("http.request.method", "GET")
			a.PutStr("url.path", "/api/cart")
			a.PutInt("http.response.status_code", 200)
			a.PutStr("server.address", "cart.shop.svc.cluster.local")
			a.PutStr("network.protocol.name", "http")
		}
	}
	return td
}

// BenchmarkDecodeDispatch measures decoding a 512-span request and handing
// it to a consumer: OTLP/HTTP through the handler (no network), OTLP/gRPC
// through a loopback connection with pdata's client.
func BenchmarkDecodeDispatch(b *testing.B) {
	const spans = 512
	req := ptraceotlp.NewExportRequestFromTraces(benchTraces(spans))
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()

	r, err := New(Config{OTLP: OTLPConfig{Protocols: Protocols{
		HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0"},
		GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0"},
	}}}, nopConsumer{})
	if err != nil {
		b.Fatal(err)
	}

	for _, bc := range []struct {
		name string
		ct   string
		body []byte
		gzip bool
	}{
		{"http/protobuf", contentTypeProtobuf, pb, false},
		{"http/protobuf+gzip", contentTypeProtobuf, gzipBytes(b, pb), true},
		{"http/json", contentTypeJSON, js, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				hr := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(bc.body))
				hr.Header.Set("Content-Type", bc.ct)
				if bc.gzip {
					hr.Header.Set("Content-Encoding", "gzip")
				}
				rec := httptest.NewRecorder()
				r.http.ServeHTTP(rec, hr)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/spans, "ns/span")
		})
	}

	rs := startReceivers(b, Config{OTLP: OTLPConfig{Protocols: Protocols{GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0"}}}}, nopConsumer{})
	client := ptraceotlp.NewGRPCClient(dialGRPC(b, rs.Addrs().GRPC))
	for _, gz := range []bool{false, true} {
		name := "grpc"
		var opts []grpc.CallOption
		if gz {
			name += "+gzip"
			opts = append(opts, grpc.UseCompressor(gzip.Name))
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(pb)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Export(context.Background(), req, opts...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/spans, "ns/span")
		})
	}
}
