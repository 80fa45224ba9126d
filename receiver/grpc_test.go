package receiver

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// dialGRPC returns a plaintext client connection closed at cleanup.
func dialGRPC(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func testLogs(body string, n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range n {
		lrs.AppendEmpty().Body().SetStr(body)
	}
	return ld
}

func testMetrics(name string, n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	g := m.SetEmptyGauge()
	for i := range n {
		g.DataPoints().AppendEmpty().SetIntValue(int64(i))
	}
	return md
}

// TestGRPCStatus checks each outcome of an OTLP/gRPC Export: partial
// success per signal, UNAVAILABLE with RetryInfo, INTERNAL,
// RESOURCE_EXHAUSTED for a message over the limit, and gzip.
func TestGRPCStatus(t *testing.T) {
	c := &fakeConsumer{behave: behaveByName}
	cfg := Config{OTLP: OTLPConfig{Protocols: Protocols{GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0", MaxRecvMsgSizeMiB: 1}}}}
	r := startReceivers(t, cfg, c)
	cc := dialGRPC(t, r.Addrs().GRPC)
	traces, logs, metrics := ptraceotlp.NewGRPCClient(cc), plogotlp.NewGRPCClient(cc), pmetricotlp.NewGRPCClient(cc)
	ctx := context.Background()
	big := make([]string, 0, 20000)
	for range cap(big) {
		big = append(big, strings.Repeat("x", 64))
	}

	tests := []struct {
		name     string
		call     func(opts ...grpc.CallOption) (rejected int64, msg string, err error)
		gzip     bool
		want     codes.Code
		wantMsg  string
		rejected int64
		retry    bool
	}{
		{name: "traces", want: codes.OK, call: func(o ...grpc.CallOption) (int64, string, error) {
			resp, err := traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces("a", "b")), o...)
			return resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage(), err
		}},
		{name: "traces gzip", gzip: true, want: codes.OK, call: func(o ...grpc.CallOption) (int64, string, error) {
			resp, err := traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces("a", "b")), o...)
			return resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage(), err
		}},
		{name: "traces partial", want: codes.OK, rejected: 1, call: func(o ...grpc.CallOption) (int64, string, error) {
			resp, err := traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces("partial", "b")), o...)
			return resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage(), err
		}},
		{name: "logs partial", want: codes.OK, rejected: 1, call: func(o ...grpc.CallOption) (int64, string, error) {
			resp, err := logs.Export(ctx, plogotlp.NewExportRequestFromLogs(testLogs("partial", 3)), o...)
			return resp.PartialSuccess().RejectedLogRecords(), resp.PartialSuccess().ErrorMessage(), err
		}},
		{name: "metrics partial", want: codes.OK, rejected: 1, call: func(o ...grpc.CallOption) (int64, string, error) {
			resp, err := metrics.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(testMetrics("partial", 2)), o...)
			return resp.PartialSuccess().RejectedDataPoints(), resp.PartialSuccess().ErrorMessage(), err
		}},
		{name: "unavailable", want: codes.Unavailable, wantMsg: "queue full", retry: true, call: func(o ...grpc.CallOption) (int64, string, error) {
			_, err := traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces("unavailable")), o...)
			return 0, "", err
		}},
		{name: "logs unavailable gzip", gzip: true, want: codes.Unavailable, wantMsg: "queue full", retry: true, call: func(o ...grpc.CallOption) (int64, string, error) {
			_, err := logs.Export(ctx, plogotlp.NewExportRequestFromLogs(testLogs("unavailable", 1)), o...)
			return 0, "", err
		}},
		{name: "consumer fails", want: codes.Internal, wantMsg: "fake: broken", call: func(o ...grpc.CallOption) (int64, string, error) {
			_, err := metrics.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(testMetrics("fail", 1)), o...)
			return 0, "", err
		}},
		{name: "too large", want: codes.ResourceExhausted, wantMsg: "larger than max", call: func(o ...grpc.CallOption) (int64, string, error) {
			_, err := traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces(big...)), o...)
			return 0, "", err
		}},
		{name: "too large gzip", gzip: true, want: codes.ResourceExhausted, wantMsg: "max", call: func(o ...grpc.CallOption) (int64, string, error) {
			_, err := traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces(big...)), o...)
			return 0, "", err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []grpc.CallOption
			if tc.gzip {
				opts = append(opts, grpc.UseCompressor(gzip.Name))
			}
			keptBefore := c.kept()
			rejected, msg, err := tc.call(opts...)
			st := status.Convert(err)
			if st.Code() != tc.want || !strings.Contains(st.Message(), tc.wantMsg) {
				t.Fatalf("status %v %q, want %v naming %q", st.Code(), st.Message(), tc.want, tc.wantMsg)
			}
			if rejected != tc.rejected {
				t.Errorf("rejected %d, want %d", rejected, tc.rejected)
			}
			if tc.rejected > 0 && msg != "one item refused" {
				t.Errorf("partial success message %q", msg)
			}
			var delay time.Duration
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					delay = ri.GetRetryDelay().AsDuration()
				}
			}
			if tc.retry && delay != RetryAfter {
				t.Errorf("RetryInfo delay %v, want %v", delay, RetryAfter)
			} else if !tc.retry && delay != 0 {
				t.Errorf("RetryInfo on a status that must not be retried")
			}
			if tc.want != codes.OK && c.kept() != keptBefore {
				t.Errorf("a refused request reached the consumer")
			}
		})
	}
	// Decoded only: traces 2+2+2 (1 rejected) +1 unavailable; logs 3 (1
	// rejected) +1 unavailable; metrics 2 (1 rejected) +1 failed.
	want := []Stat{
		{Receiver: "otlp", Transport: "grpc", Signal: "traces", Received: 7, Accepted: 5, Refused: 2},
		{Receiver: "otlp", Transport: "grpc", Signal: "logs", Received: 4, Accepted: 2, Refused: 2},
		{Receiver: "otlp", Transport: "grpc", Signal: "metrics", Received: 3, Accepted: 1, Refused: 2},
	}
	if got := r.Stats(); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

// TestGRPCSlotFreedWithoutHandler checks that a stream refused before its
// handler ran (message too large) gives its concurrency slot back.
func TestGRPCSlotFreedWithoutHandler(t *testing.T) {
	c := &fakeConsumer{}
	cfg := Config{OTLP: OTLPConfig{Protocols: Protocols{GRPC: &GRPCConfig{
		Endpoint: "127.0.0.1:0", MaxRecvMsgSizeMiB: 1, MaxConcurrentRequests: 1,
	}}}}
	r := startReceivers(t, cfg, c)
	client := ptraceotlp.NewGRPCClient(dialGRPC(t, r.Addrs().GRPC))
	big := ptraceotlp.NewExportRequestFromTraces(testTraces(strings.Repeat("x", 2<<20)))
	for range 3 {
		if _, err := client.Export(context.Background(), big); status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("oversized export: %v", err)
		}
	}
	// The slot comes back when the stream's context ends, just after the answer.
	eventually(t, "the slot to be freed", func() bool {
		_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(testTraces("ok")))
		return err == nil
	})
	if r.grpc.lim.n.Load() != 0 {
		t.Errorf("%d slots still held", r.grpc.lim.n.Load())
	}
}

// TestGRPCBearerMetadata checks the authorization metadata on OTLP/gRPC.
func TestGRPCBearerMetadata(t *testing.T) {
	cfg := Config{OTLP: OTLPConfig{Protocols: Protocols{GRPC: &GRPCConfig{
		Endpoint: "127.0.0.1:0", Auth: &AuthConfig{BearerTokenFile: writeFile(t, "token", " s3cret\n")},
	}}}}
	c := &fakeConsumer{}
	r := startReceivers(t, cfg, c)
	client := ptraceotlp.NewGRPCClient(dialGRPC(t, r.Addrs().GRPC))
	for _, tc := range []struct {
		auth string
		want codes.Code
	}{
		{"", codes.Unauthenticated},
		{"Bearer wrong", codes.Unauthenticated},
		{"Bearer s3cre", codes.Unauthenticated},
		{"Basic s3cret", codes.Unauthenticated},
		{"s3cret", codes.Unauthenticated},
		{"Bearer s3cret", codes.OK},
		{"bearer s3cret", codes.OK},
	} {
		ctx := context.Background()
		if tc.auth != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", tc.auth)
		}
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces("a")))
		if status.Code(err) != tc.want {
			t.Errorf("authorization %q: %v, want %v", tc.auth, err, tc.want)
		}
	}
	if got := len(c.allTraces()); got != 2 {
		t.Errorf("consumer got %d requests, want the 2 authorized", got)
	}
}
