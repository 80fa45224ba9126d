package telemetry

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/bench/otlp/meshtrace"
	"github.com/meshobs/meshobs/otlptrace"
)

// TestConsumeTraceRequestKeepsNoStrings: with no outbound span processor,
// nothing the pipeline keeps refers to a request's bytes once
// ConsumeTraceRequest has returned, as RetainsReceivedStrings reports (the
// gRPC receiver then recycles them). A pipeline whose request buffer is
// overwritten after every call answers exactly as one whose buffers are
// left alone: traces, graph, golden signals, access logs and metrics.
func TestConsumeTraceRequestKeepsNoStrings(t *testing.T) {
	ctx := context.Background()
	newP := func(opts ...Option) *Pipeline {
		t.Helper()
		p, err := New(append(opts, WithClock(func() time.Time { return tEquiv }))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Shutdown(context.Background()) })
		return p
	}
	clobbered, kept := newP(), newP()
	if clobbered.RetainsReceivedStrings() {
		t.Fatal("a pipeline without outbound span processors reports it retains received strings")
	}
	if !newP(WithSpanProcessor(tracetest.NewSpanRecorder())).RetainsReceivedStrings() {
		t.Fatal("a pipeline with an outbound span processor (which may keep spans) reports it retains no received strings")
	}

	rng := rand.New(rand.NewPCG(7, 8))
	var (
		buf  []byte
		req  otlptrace.Request
		ids  []trace.TraceID
		sent int
	)
	for i := range 12 {
		td := meshtrace.NewBatch(rng, tEquiv.Add(time.Duration(i)*time.Second), 512)
		sent += td.SpanCount()
		ids = append(ids, trace.TraceID(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()))
		raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		var own otlptrace.Request
		if err := own.Unmarshal(bytes.Clone(raw)); err != nil {
			t.Fatal(err)
		}
		if _, err := kept.ConsumeTraceRequest(ctx, &own); err != nil {
			t.Fatal(err)
		}
		buf = append(buf[:0], raw...)
		if err := req.Unmarshal(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := clobbered.ConsumeTraceRequest(ctx, &req); err != nil {
			t.Fatal(err)
		}
		for j := range buf {
			buf[j] = 'x'
		}
	}

	got, want := clobbered.Query(), kept.Query()
	answer := func(r Reply, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return string(AppendReply(nil, r))
	}
	if _, n := got.Retained(); n != sent {
		t.Fatalf("%d spans retained, want the %d sent", n, sent)
	}
	for _, id := range ids {
		if g, w := answer(got.Trace(ctx, id)), answer(want.Trace(ctx, id)); g != w {
			t.Fatalf("trace %s\n got %s\nwant %s", id, g, w)
		}
	}
	if g, w := answer(got.Graph(ctx, GraphRequest{})), answer(want.Graph(ctx, GraphRequest{})); g != w {
		t.Fatalf("graph\n got %s\nwant %s", g, w)
	}
	if g, w := answer(got.Stats(ctx, StatsRequest{})), answer(want.Stats(ctx, StatsRequest{})); g != w {
		t.Fatalf("stats\n got %s\nwant %s", g, w)
	}
	if g, w := answer(got.AccessLogs(ctx, LogRequest{})), answer(want.AccessLogs(ctx, LogRequest{})); g != w {
		t.Fatalf("access logs\n got %s\nwant %s", g, w)
	}
	gm, err := got.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wm, err := want.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	metricdatatest.AssertEqual(t, wm, gm, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
