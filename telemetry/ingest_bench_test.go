package telemetry

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/meshobs/meshobs/bench/otlp/meshtrace"
	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/otlptrace"
)

// batchSpans is the size of the received batches in the benchmarks: the
// OTel SDK's and the Collector's default export batch.
const batchSpans = 512

// meshBatch is one received request of the OTLP ingest benchmark
// (bench/otlp): 512 spans of a seven-service mesh, HTTP client/server pairs
// and database calls, with their OTel semantic-convention attributes.
func meshBatch(tb testing.TB) ptrace.Traces {
	tb.Helper()
	return meshtrace.NewBatch(rand.New(rand.NewPCG(1, 2)), time.Now().Add(-time.Minute), batchSpans)
}

// rekey gives every span of td fresh trace and span ids (parents alike), as
// if the next request had arrived: the stores and the graph see new traces,
// not the same ones again.
func rekey(td ptrace.Traces, n uint64) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				tid := s.TraceID()
				tid[0], tid[1], tid[2], tid[3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
				s.SetTraceID(tid)
				id := s.SpanID()
				id[0], id[1] = byte(n), byte(n>>8)
				s.SetSpanID(id)
				if p := s.ParentSpanID(); !p.IsEmpty() {
					p[0], p[1] = byte(n), byte(n>>8)
					s.SetParentSpanID(p)
				}
			}
		}
	}
}

// perSpan reports the cost per span of a benchmark whose every iteration
// handles spans spans: ns/span (wall), cpu-ns/span (the process's CPU time,
// garbage collection included), allocs/span and B/span. It is deferred
// before the loop.
func perSpan(b *testing.B, spans int) func() {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0, cpuOK := processCPU()
	return func() {
		b.StopTimer()
		cpu1, _ := processCPU()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		n := float64(b.N) * float64(spans)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/span")
		if cpuOK {
			b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/n, "cpu-ns/span")
		}
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/span")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/span")
	}
}

// nopSpanProcessor stands for an outbound exporter: it takes every span and
// keeps none, so that the cost measured is the pipeline's, not an export's.
type nopSpanProcessor struct{}

func (nopSpanProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (nopSpanProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (nopSpanProcessor) Shutdown(context.Context) error                  { return nil }
func (nopSpanProcessor) ForceFlush(context.Context) error                { return nil }

// BenchmarkConsumeTraces is the receiver path of one 512-span OTLP request
// after the network, step by step and whole: Decode (protobuf to pdata),
// Convert (otlptrace's decoded spans to the SDK's read-only spans, one value each, as with an
// outbound exporter) and ConvertReused (as without one), Store (the span
// store alone), Store+Graph (with the service graph observing it),
// Store+Graph+SpanMetrics (every observer), RequestMetrics (the SDK
// counter and histogram of the server spans), ConsumeTraces without and
// with an outbound span processor, DecodeConsume: pdata's decoding and
// ConsumeTraces (the OTLP/JSON path), and DecodeConsumeRequest: otlptrace's
// decoding and ConsumeTraceRequest, what an OTLP/protobuf request costs
// beyond the transport.
func BenchmarkConsumeTraces(b *testing.B) {
	ctx := context.Background()
	td := meshBatch(b)
	raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	var wire otlptrace.Request
	if err := wire.Unmarshal(raw); err != nil {
		b.Fatal(err)
	}
	var shared receivedShared
	// convert hands f every span of the decoded request as the SDK span
	// ConsumeTraceRequest makes of it: a value of its own (own) or ro.
	convert := func(own bool, ro *receivedSpan, f func(*receivedSpan, *otlptrace.Span)) {
		for i := range wire.ResourceSpans {
			rs := &wire.ResourceSpans[i]
			res := shared.wireResource(&rs.Resource, rs.SchemaURL).res
			for j := range rs.ScopeSpans {
				ss := &rs.ScopeSpans[j]
				scope := shared.scope(&ss.Scope, ss.SchemaURL)
				for k := range ss.Spans {
					s := &ss.Spans[k]
					if own {
						ro = &receivedSpan{}
					}
					ro.setWire(s, res, scope, own)
					f(ro, s)
				}
			}
		}
	}
	// converted returns the SDK spans of td, in order, and the server ones.
	converted := func() (all, servers []sdktrace.ReadOnlySpan) {
		convert(true, nil, func(ro *receivedSpan, s *otlptrace.Span) {
			all = append(all, ro)
			if s.Kind == int32(ptrace.SpanKindServer) {
				servers = append(servers, ro)
			}
		})
		return all, servers
	}
	newPipeline := func(b *testing.B, opts ...Option) *Pipeline {
		p, err := New(opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Shutdown(context.Background()) })
		return p
	}

	b.Run("Decode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		defer perSpan(b, batchSpans)()
		for b.Loop() {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Convert", func(b *testing.B) {
		b.ReportAllocs()
		defer perSpan(b, batchSpans)()
		for b.Loop() {
			converted()
		}
	})
	// ConvertReused is Convert into one span value, its attributes the
	// request's own.
	b.Run("ConvertReused", func(b *testing.B) {
		var ro receivedSpan
		b.ReportAllocs()
		defer perSpan(b, batchSpans)()
		for b.Loop() {
			convert(false, &ro, func(*receivedSpan, *otlptrace.Span) {})
		}
	})
	// The store and the graph see each span once: distinct batches,
	// converted up front, more of them than the store retains.
	const retained, distinct = 16384, 48
	var batches [][]sdktrace.ReadOnlySpan
	for i := range distinct {
		rekey(td, uint64(i+1))
		all, _ := converted()
		batches = append(batches, all)
	}
	b.Run("Store", func(b *testing.B) {
		s := exporters.NewSpanStore(exporters.WithSpanCapacity(retained))
		b.ReportAllocs()
		defer perSpan(b, batchSpans)()
		i := 0
		for b.Loop() {
			for _, ro := range batches[i%distinct] {
				s.OnEnd(ro)
			}
			i++
		}
	})
	// Store+Graph: the span store with the service graph (and the graph's
	// call metrics) observing it; Store+Graph+SpanMetrics: the pipeline's
	// own store, with every observer (the span metrics too).
	b.Run("Store+Graph", func(b *testing.B) {
		p := newPipeline(b, WithRetention(retained, retained))
		s := exporters.NewSpanStore(exporters.WithSpanCapacity(retained), exporters.WithSpanObserver(p.spanGraph))
		b.ReportAllocs()
		defer perSpan(b, batchSpans)()
		i := 0
		for b.Loop() {
			for _, ro := range batches[i%distinct] {
				s.OnEnd(ro)
			}
			i++
		}
	})
	b.Run("Store+Graph+SpanMetrics", func(b *testing.B) {
		p := newPipeline(b, WithRetention(retained, retained))
		b.ReportAllocs()
		defer perSpan(b, batchSpans)()
		i := 0
		for b.Loop() {
			for _, ro := range batches[i%distinct] {
				p.spans.OnEnd(ro)
			}
			i++
		}
	})
	// RequestMetrics: the request counter and duration histogram of the
	// server spans (countSpanRequest), per span of the batch.
	b.Run("RequestMetrics", func(b *testing.B) {
		p := newPipeline(b)
		_, servers := converted()
		svc := p.admitLocked("frontend")
		b.ReportAllocs()
		defer perSpan(b, batchSpans)()
		for b.Loop() {
			for _, ro := range servers {
				p.countSpanRequest(ctx, svc, ro)
			}
		}
	})
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"ConsumeTraces", nil},
		{"ConsumeTraces+exporter", []Option{WithSpanProcessor(nopSpanProcessor{})}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := newPipeline(b, bc.opts...)
			b.ReportAllocs()
			defer perSpan(b, batchSpans)()
			n := uint64(0)
			for b.Loop() {
				n++
				rekey(td, n)
				if _, err := p.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("DecodeConsume", func(b *testing.B) {
		p := newPipeline(b)
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		defer perSpan(b, batchSpans)()
		n := uint64(0)
		for b.Loop() {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(raw); err != nil {
				b.Fatal(err)
			}
			n++
			rekey(req.Traces(), n)
			if _, err := p.ConsumeTraces(ctx, req.Traces()); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What the receivers run for OTLP/protobuf: otlptrace's decoding into a
	// reused request, and ConsumeTraceRequest.
	b.Run("DecodeConsumeRequest", func(b *testing.B) {
		p := newPipeline(b)
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		defer perSpan(b, batchSpans)()
		var req otlptrace.Request
		n := uint64(0)
		for b.Loop() {
			if err := req.Unmarshal(raw); err != nil {
				b.Fatal(err)
			}
			n++
			rekeyRequest(&req, n)
			if _, err := p.ConsumeTraceRequest(ctx, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// rekeyRequest is rekey for a decoded request.
func rekeyRequest(req *otlptrace.Request, n uint64) {
	for i := range req.ResourceSpans {
		for j := range req.ResourceSpans[i].ScopeSpans {
			spans := req.ResourceSpans[i].ScopeSpans[j].Spans
			for k := range spans {
				s := &spans[k]
				s.TraceID[0], s.TraceID[1], s.TraceID[2], s.TraceID[3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
				s.SpanID[0], s.SpanID[1] = byte(n), byte(n>>8)
				if s.ParentSpanID != [8]byte{} {
					s.ParentSpanID[0], s.ParentSpanID[1] = byte(n), byte(n>>8)
				}
			}
		}
	}
}
