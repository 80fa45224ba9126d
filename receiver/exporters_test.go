package receiver

import (
	"context"
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/credentials"
)

// exporterOpts configures the real OTel Go OTLP exporters the tests drive.
type exporterOpts struct {
	addr    string
	gzip    bool
	headers map[string]string
	tls     *tls.Config // nil: plaintext
	retry   bool        // retry quickly (else not at all)
}

func (o exporterOpts) retryConfig() (enabled bool, initial, maxInterval, maxElapsed time.Duration) {
	return o.retry, 10 * time.Millisecond, 100 * time.Millisecond, 20 * time.Second
}

func traceExporter(t *testing.T, tr string, o exporterOpts) sdktrace.SpanExporter {
	t.Helper()
	en, ii, mi, me := o.retryConfig()
	var (
		exp sdktrace.SpanExporter
		err error
	)
	if tr == "grpc" {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(o.addr), otlptracegrpc.WithHeaders(o.headers),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: en, InitialInterval: ii, MaxInterval: mi, MaxElapsedTime: me})}
		if o.tls != nil {
			opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(o.tls)))
		} else {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		if o.gzip {
			opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
		}
		exp, err = otlptracegrpc.New(context.Background(), opts...)
	} else {
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(o.addr), otlptracehttp.WithHeaders(o.headers),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: en, InitialInterval: ii, MaxInterval: mi, MaxElapsedTime: me})}
		if o.tls != nil {
			opts = append(opts, otlptracehttp.WithTLSClientConfig(o.tls))
		} else {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		if o.gzip {
			opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}
		exp, err = otlptracehttp.New(context.Background(), opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

func logExporter(t *testing.T, tr string, o exporterOpts) sdklog.Exporter {
	t.Helper()
	en, ii, mi, me := o.retryConfig()
	var (
		exp sdklog.Exporter
		err error
	)
	if tr == "grpc" {
		opts := []otlploggrpc.Option{otlploggrpc.WithEndpoint(o.addr), otlploggrpc.WithHeaders(o.headers),
			otlploggrpc.WithRetry(otlploggrpc.RetryConfig{Enabled: en, InitialInterval: ii, MaxInterval: mi, MaxElapsedTime: me})}
		if o.tls != nil {
			opts = append(opts, otlploggrpc.WithTLSCredentials(credentials.NewTLS(o.tls)))
		} else {
			opts = append(opts, otlploggrpc.WithInsecure())
		}
		if o.gzip {
			opts = append(opts, otlploggrpc.WithCompressor("gzip"))
		}
		exp, err = otlploggrpc.New(context.Background(), opts...)
	} else {
		opts := []otlploghttp.Option{otlploghttp.WithEndpoint(o.addr), otlploghttp.WithHeaders(o.headers),
			otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: en, InitialInterval: ii, MaxInterval: mi, MaxElapsedTime: me})}
		if o.tls != nil {
			opts = append(opts, otlploghttp.WithTLSClientConfig(o.tls))
		} else {
			opts = append(opts, otlploghttp.WithInsecure())
		}
		if o.gzip {
			opts = append(opts, otlploghttp.WithCompression(otlploghttp.GzipCompression))
		}
		exp, err = otlploghttp.New(context.Background(), opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

func metricExporter(t *testing.T, tr string, o exporterOpts) sdkmetric.Exporter {
	t.Helper()
	en, ii, mi, me := o.retryConfig()
	var (
		exp sdkmetric.Exporter
		err error
	)
	if tr == "grpc" {
		opts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpoint(o.addr), otlpmetricgrpc.WithHeaders(o.headers),
			otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: en, InitialInterval: ii, MaxInterval: mi, MaxElapsedTime: me})}
		if o.tls != nil {
			opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(o.tls)))
		} else {
			opts = append(opts, otlpmetricgrpc.WithInsecure())
		}
		if o.gzip {
			opts = append(opts, otlpmetricgrpc.WithCompressor("gzip"))
		}
		exp, err = otlpmetricgrpc.New(context.Background(), opts...)
	} else {
		opts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpoint(o.addr), otlpmetrichttp.WithHeaders(o.headers),
			otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: en, InitialInterval: ii, MaxInterval: mi, MaxElapsedTime: me})}
		if o.tls != nil {
			opts = append(opts, otlpmetrichttp.WithTLSClientConfig(o.tls))
		} else {
			opts = append(opts, otlpmetrichttp.WithInsecure())
		}
		if o.gzip {
			opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
		}
		exp, err = otlpmetrichttp.New(context.Background(), opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

var testResource = resource.NewSchemaless(
	attribute.String("service.name", "checkout"),
	attribute.String("service.namespace", "shop"),
)

// sentTraces is what emitTraces sent: a server span and its client child.
type sentTraces struct {
	traceID           trace.TraceID
	parentID, childID trace.SpanID
}

// emitTraces ends two spans through a synchronous provider, so each is
// exported (and its error returned) before it returns.
func emitTraces(t *testing.T, exp sdktrace.SpanExporter) (sentTraces, error) {
	t.Helper()
	var exportErr error
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(testResource),
		sdktrace.WithSpanProcessor(&erringSyncer{exp: exp, err: &exportErr}))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tp.Tracer("receiver-test")
	ctx, parent := tr.Start(context.Background(), "GET /cart", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200)))
	_, child := tr.Start(ctx, "SELECT cart", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql")))
	child.End()
	parent.End()
	return sentTraces{
		traceID:  parent.SpanContext().TraceID(),
		parentID: parent.SpanContext().SpanID(),
		childID:  child.SpanContext().SpanID(),
	}, exportErr
}

// erringSyncer exports each ended span at once and keeps the first error,
// which the SDK's own syncer only hands to the global error handler.
type erringSyncer struct {
	exp sdktrace.SpanExporter
	err *error
}

func (s *erringSyncer) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (s *erringSyncer) OnEnd(sp sdktrace.ReadOnlySpan) {
	if err := s.exp.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{sp}); err != nil && *s.err == nil {
		*s.err = err
	}
}
func (s *erringSyncer) Shutdown(context.Context) error   { return nil }
func (s *erringSyncer) ForceFlush(context.Context) error { return nil }

func checkTraces(t *testing.T, got []ptrace.Traces, sent sentTraces) {
	t.Helper()
	spans := map[pcommon.SpanID]ptrace.Span{}
	for _, td := range got {
		for i := range td.ResourceSpans().Len() {
			rs := td.ResourceSpans().At(i)
			checkResource(t, rs.Resource())
			for j := range rs.ScopeSpans().Len() {
				ss := rs.ScopeSpans().At(j)
				if ss.Scope().Name() != "receiver-test" {
					t.Errorf("scope name %q", ss.Scope().Name())
				}
				for k := range ss.Spans().Len() {
					sp := ss.Spans().At(k)
					spans[sp.SpanID()] = sp
				}
			}
		}
	}
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	parent, ok := spans[pcommon.SpanID(sent.parentID)]
	if !ok {
		t.Fatalf("parent span %s missing", sent.parentID)
	}
	child, ok := spans[pcommon.SpanID(sent.childID)]
	if !ok {
		t.Fatalf("child span %s missing", sent.childID)
	}
	for _, sp := range []ptrace.Span{parent, child} {
		if sp.TraceID() != pcommon.TraceID(sent.traceID) {
			t.Errorf("span %s: trace id %s, want %s", sp.Name(), sp.TraceID(), sent.traceID)
		}
		if sp.StartTimestamp() == 0 || sp.EndTimestamp() < sp.StartTimestamp() {
			t.Errorf("span %s: times %d..%d", sp.Name(), sp.StartTimestamp(), sp.EndTimestamp())
		}
	}
	if child.ParentSpanID() != pcommon.SpanID(sent.parentID) {
		t.Errorf("child's parent %s, want %s", child.ParentSpanID(), sent.parentID)
	}
	if parent.Name() != "GET /cart" || parent.Kind() != ptrace.SpanKindServer || child.Kind() != ptrace.SpanKindClient {
		t.Errorf("parent %q kind %v, child kind %v", parent.Name(), parent.Kind(), child.Kind())
	}
	if v, _ := parent.Attributes().Get("http.response.status_code"); v.Int() != 200 {
		t.Errorf("http.response.status_code = %v", v.AsRaw())
	}
	if v, _ := parent.Attributes().Get("http.request.method"); v.Str() != "GET" {
		t.Errorf("http.request.method = %v", v.AsRaw())
	}
	if v, _ := child.Attributes().Get("db.system.name"); v.Str() != "postgresql" {
		t.Errorf("db.system.name = %v", v.AsRaw())
	}
}

func checkResource(t *testing.T, res pcommon.Resource) {
	t.Helper()
	if v, _ := res.Attributes().Get("service.name"); v.Str() != "checkout" {
		t.Errorf("resource service.name = %v", v.AsRaw())
	}
	if v, _ := res.Attributes().Get("service.namespace"); v.Str() != "shop" {
		t.Errorf("resource service.namespace = %v", v.AsRaw())
	}
}

var (
	logTraceID = trace.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	logSpanID  = trace.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
)

// emitLogs emits two records, the first in a span's context, each exported
// before it returns.
func emitLogs(t *testing.T, exp sdklog.Exporter) error {
	t.Helper()
	var exportErr error
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(testResource),
		sdklog.WithProcessor(&erringLogProcessor{exp: exp, err: &exportErr}))
	defer func() { _ = lp.Shutdown(context.Background()) }()
	logger := lp.Logger("receiver-test")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: logTraceID, SpanID: logSpanID, TraceFlags: trace.FlagsSampled,
	}))
	for i, status := range []int64{200, 503} {
		var rec otellog.Record
		rec.SetTimestamp(time.Unix(1700000000, int64(i)))
		rec.SetSeverity(otellog.SeverityInfo)
		rec.SetBody(attribute.StringValue(fmt.Sprintf("GET /cart %d", status)))
		rec.AddAttributes(attribute.Int64("http.response.status_code", status), attribute.String("url.path", "/cart"))
		if i == 0 {
			logger.Emit(ctx, rec)
		} else {
			logger.Emit(context.Background(), rec)
		}
	}
	return exportErr
}

// erringLogProcessor exports each record at once and keeps the first error.
type erringLogProcessor struct {
	exp sdklog.Exporter
	err *error
}

func (p *erringLogProcessor) OnEmit(ctx context.Context, r *sdklog.Record) error {
	if err := p.exp.Export(ctx, []sdklog.Record{r.Clone()}); err != nil && *p.err == nil {
		*p.err = err
	}
	return nil
}
func (p *erringLogProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (p *erringLogProcessor) Shutdown(context.Context) error                         { return nil }
func (p *erringLogProcessor) ForceFlush(context.Context) error                       { return nil }

func checkLogs(t *testing.T, got []plog.Logs) {
	t.Helper()
	var recs []plog.LogRecord
	for _, ld := range got {
		for i := range ld.ResourceLogs().Len() {
			rl := ld.ResourceLogs().At(i)
			checkResource(t, rl.Resource())
			for j := range rl.ScopeLogs().Len() {
				sl := rl.ScopeLogs().At(j)
				for k := range sl.LogRecords().Len() {
					recs = append(recs, sl.LogRecords().At(k))
				}
			}
		}
	}
	if len(recs) != 2 {
		t.Fatalf("got %d log records, want 2", len(recs))
	}
	for i, status := range []int64{200, 503} {
		r := recs[i]
		if want := fmt.Sprintf("GET /cart %d", status); r.Body().Str() != want {
			t.Errorf("record %d body %q, want %q", i, r.Body().Str(), want)
		}
		if v, _ := r.Attributes().Get("http.response.status_code"); v.Int() != status {
			t.Errorf("record %d status %v", i, v.AsRaw())
		}
		if v, _ := r.Attributes().Get("url.path"); v.Str() != "/cart" {
			t.Errorf("record %d url.path %v", i, v.AsRaw())
		}
		if r.SeverityNumber() != plog.SeverityNumberInfo {
			t.Errorf("record %d severity %v", i, r.SeverityNumber())
		}
		if want := pcommon.NewTimestampFromTime(time.Unix(1700000000, int64(i))); r.Timestamp() != want {
			t.Errorf("record %d time %v, want %v", i, r.Timestamp(), want)
		}
	}
	if recs[0].TraceID() != pcommon.TraceID(logTraceID) || recs[0].SpanID() != pcommon.SpanID(logSpanID) {
		t.Errorf("record 0 ids %s/%s, want %s/%s", recs[0].TraceID(), recs[0].SpanID(), logTraceID, logSpanID)
	}
	if !recs[1].TraceID().IsEmpty() {
		t.Errorf("record 1 trace id %s, want none", recs[1].TraceID())
	}
}

// emitMetrics collects a counter with two series and a histogram, and
// exports them: three data points.
func emitMetrics(t *testing.T, exp sdkmetric.Exporter) error {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(testResource))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	m := mp.Meter("receiver-test")
	ctx := context.Background()
	cnt, _ := m.Int64Counter("requests")
	cnt.Add(ctx, 3, metric.WithAttributes(attribute.String("route", "/a")))
	cnt.Add(ctx, 4, metric.WithAttributes(attribute.String("route", "/b")))
	hist, _ := m.Float64Histogram("latency", metric.WithUnit("ms"))
	hist.Record(ctx, 12.5)
	hist.Record(ctx, 7.5)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	return exp.Export(ctx, &rm)
}

func checkMetrics(t *testing.T, got []pmetric.Metrics) {
	t.Helper()
	byName := map[string]pmetric.Metric{}
	points := 0
	for _, md := range got {
		points += md.DataPointCount()
		for i := range md.ResourceMetrics().Len() {
			rm := md.ResourceMetrics().At(i)
			checkResource(t, rm.Resource())
			for j := range rm.ScopeMetrics().Len() {
				ms := rm.ScopeMetrics().At(j).Metrics()
				for k := range ms.Len() {
					byName[ms.At(k).Name()] = ms.At(k)
				}
			}
		}
	}
	if points != 3 {
		t.Fatalf("got %d data points, want 3", points)
	}
	req, ok := byName["requests"]
	if !ok || req.Type() != pmetric.MetricTypeSum {
		t.Fatalf("requests: %v", req.Type())
	}
	sum := req.Sum()
	if !sum.IsMonotonic() || sum.AggregationTemporality() != pmetric.AggregationTemporalityCumulative {
		t.Errorf("requests: monotonic %v temporality %v", sum.IsMonotonic(), sum.AggregationTemporality())
	}
	byRoute := map[string]int64{}
	for i := range sum.DataPoints().Len() {
		dp := sum.DataPoints().At(i)
		route, _ := dp.Attributes().Get("route")
		byRoute[route.Str()] = dp.IntValue()
	}
	if byRoute["/a"] != 3 || byRoute["/b"] != 4 {
		t.Errorf("requests by route %v", byRoute)
	}
	lat, ok := byName["latency"]
	if !ok || lat.Type() != pmetric.MetricTypeHistogram || lat.Unit() != "ms" {
		t.Fatalf("latency: %v %q", lat.Type(), lat.Unit())
	}
	dp := lat.Histogram().DataPoints().At(0)
	if dp.Count() != 2 || dp.Sum() != 20 {
		t.Errorf("latency count %d sum %v", dp.Count(), dp.Sum())
	}
}

// TestExportersDeliver drives each real OTel Go OTLP exporter against the
// receivers: every span, record and point arrives with its ids, attributes
// and resource, plain and gzipped, and is counted.
func TestExportersDeliver(t *testing.T) {
	for _, tr := range []string{"grpc", "http"} {
		for _, gz := range []bool{false, true} {
			for _, sig := range []string{"traces", "logs", "metrics"} {
				t.Run(fmt.Sprintf("%s/gzip=%v/%s", tr, gz, sig), func(t *testing.T) {
					c := &fakeConsumer{}
					r := startReceivers(t, loopbackConfig(), c)
					addr := r.Addrs().GRPC
					if tr == "http" {
						addr = r.Addrs().HTTP
					}
					o := exporterOpts{addr: addr, gzip: gz}
					var items int64
					switch sig {
					case "traces":
						sent, err := emitTraces(t, traceExporter(t, tr, o))
						if err != nil {
							t.Fatal(err)
						}
						checkTraces(t, c.allTraces(), sent)
						items = 2
					case "logs":
						if err := emitLogs(t, logExporter(t, tr, o)); err != nil {
							t.Fatal(err)
						}
						checkLogs(t, c.allLogs())
						items = 2
					case "metrics":
						if err := emitMetrics(t, metricExporter(t, tr, o)); err != nil {
							t.Fatal(err)
						}
						checkMetrics(t, c.allMetrics())
						items = 3
					}
					for _, s := range r.Stats() {
						want := Stat{Receiver: "otlp", Transport: s.Transport, Signal: s.Signal}
						if s.Transport == tr && s.Signal == sig {
							want.Received, want.Accepted = items, items
						}
						if s != want {
							t.Errorf("stat %+v, want %+v", s, want)
						}
					}
				})
			}
		}
	}
}
