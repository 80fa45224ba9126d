package jaegertest_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/e2e/jaegertest"
)

// checkListeners asserts that Jaeger listens only on the ports Start chose
// (none of the defaults 4317, 4318, 16686, 16685, 13133, 13132, 8888, ...).
func checkListeners(t *testing.T, j *jaegertest.Jaeger) {
	t.Helper()
	ports, err := listeningPorts(j.PID)
	if err != nil {
		t.Logf("cannot list listening ports: %v", err)
		return
	}
	chosen := map[string]bool{}
	for _, u := range []string{j.OTLPGRPCEndpoint, j.OTLPHTTPEndpoint, j.QueryURL, j.QueryGRPCEndpoint,
		j.PrometheusURL, j.HealthURL, j.InternalMetricsURL} {
		u = strings.TrimPrefix(u, "http://")
		u, _, _ = strings.Cut(u, "/")
		_, port, _ := strings.Cut(u, ":")
		chosen[port] = true
	}
	for _, p := range ports {
		if !chosen[strconv.Itoa(p)] {
			t.Errorf("jaeger listens on port %d, which Start did not choose (chosen: %v)", p, chosen)
		}
	}
	if len(ports) != len(chosen) {
		t.Errorf("jaeger listens on %v, want the %d chosen ports", ports, len(chosen))
	}
}

func serviceResource(name string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", name))
}

func tracerProvider(t *testing.T, j *jaegertest.Jaeger, service string) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracegrpc.New(context.Background(),
		otlptracegrpc.WithEndpoint(j.OTLPGRPCEndpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(serviceResource(service)), sdktrace.WithBatcher(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp
}

// TestJaeger proves the Jaeger harness: traces over OTLP/gRPC, metrics and
// logs over OTLP/HTTP, all checked through what Jaeger exposes.
func TestJaeger(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Jaeger")
	}
	ctx := context.Background()
	j := jaegertest.Start(t, jaegertest.Options{})
	checkListeners(t, j)

	// --- traces: api (server) -> database (server), two resources.
	apiTP := tracerProvider(t, j, "api")
	dbTP := tracerProvider(t, j, "database")
	apiCtx, apiSpan := apiTP.Tracer("meshobs/e2e").Start(ctx, "GET /users",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", "GET")))
	_, dbSpan := dbTP.Tracer("meshobs/e2e").Start(apiCtx, "SELECT users",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql")))
	time.Sleep(time.Millisecond) // non-zero durations
	dbSpan.End()

	// --- a log record, emitted inside the api span.
	logExp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(j.OTLPHTTPEndpoint), otlploghttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(serviceResource("api")),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp)))
	t.Cleanup(func() { lp.Shutdown(context.Background()) })
	var rec otellog.Record
	rec.SetTimestamp(time.Now())
	rec.SetSeverity(otellog.SeverityWarn)
	rec.SetSeverityText("WARN")
	rec.SetBody(attribute.StringValue("user lookup slow"))
	rec.AddAttributes(attribute.Int("user.id", 42), attribute.String("route", "/users"))
	lp.Logger("meshobs/e2e").Emit(apiCtx, rec)
	apiSpan.End()

	// --- a counter with attributes.
	metricExp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(j.OTLPHTTPEndpoint), otlpmetrichttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(serviceResource("api")),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	counter, err := mp.Meter("meshobs/e2e").Int64Counter("meshobs.e2e.requests",
		metric.WithUnit("{request}"), metric.WithDescription("requests served"))
	if err != nil {
		t.Fatal(err)
	}
	attrs := metric.WithAttributes(attribute.String("route", "/users"), attribute.Int("status_code", 200))
	counter.Add(ctx, 2, attrs)
	counter.Add(ctx, 1, attrs)

	for name, flush := range map[string]func(context.Context) error{
		"api traces": apiTP.ForceFlush, "database traces": dbTP.ForceFlush,
		"logs": lp.ForceFlush, "metrics": mp.ForceFlush,
	} {
		if err := flush(ctx); err != nil {
			t.Fatalf("flush %s: %v", name, err)
		}
	}

	// --- /api/services
	services := j.WaitForServices(t, "api", "database")
	t.Logf("services: %v", services)

	// --- /api/traces/{id}
	traceID := apiSpan.SpanContext().TraceID().String()
	tr := j.WaitForTrace(t, traceID, func(tr *jaegertest.Trace) error {
		if len(tr.Spans) < 2 {
			return fmt.Errorf("%d spans", len(tr.Spans))
		}
		return nil
	})
	if len(tr.Spans) != 2 {
		t.Fatalf("trace has %d spans, want 2: %+v", len(tr.Spans), tr.Spans)
	}
	root, ok := tr.SpanByName("GET /users")
	if !ok {
		t.Fatalf("no GET /users span in %+v", tr.Spans)
	}
	child, ok := tr.SpanByName("SELECT users")
	if !ok {
		t.Fatalf("no SELECT users span in %+v", tr.Spans)
	}
	if root.ServiceName != "api" || child.ServiceName != "database" {
		t.Errorf("services: root %q child %q, want api and database", root.ServiceName, child.ServiceName)
	}
	if root.SpanID != apiSpan.SpanContext().SpanID().String() || root.ParentSpanID() != "" {
		t.Errorf("root span %s parent %q; want %s without parent", root.SpanID, root.ParentSpanID(), apiSpan.SpanContext().SpanID())
	}
	if child.ParentSpanID() != root.SpanID {
		t.Errorf("child parent = %q, want %q", child.ParentSpanID(), root.SpanID)
	}
	if v, _ := child.Tag("span.kind"); v != "server" {
		t.Errorf("child span.kind = %v, want server", v)
	}
	if v, _ := child.Tag("db.system.name"); v != "postgresql" {
		t.Errorf("child db.system.name = %v", v)
	}

	// --- /api/services/{s}/operations and /api/traces?service=
	if ops, err := j.Operations(ctx, "api"); err != nil || !slices.Contains(ops, "GET /users") {
		t.Errorf("operations of api = %v, %v", ops, err)
	}
	if found, err := j.FindTraces(ctx, "database", nil); err != nil || len(found) != 1 || found[0].TraceID != traceID {
		t.Errorf("FindTraces(database) = %d traces, %v", len(found), err)
	}

	// --- /api/dependencies (the memory store computes it from stored traces)
	link := j.WaitForDependency(t, "api", "database")
	if link.CallCount != 1 {
		t.Errorf("api -> database callCount = %d, want 1", link.CallCount)
	}

	// --- Prometheus exporter
	s := j.WaitForSample(t, "meshobs_e2e_requests_total",
		map[string]string{"route": "/users", "status_code": "200", "service_name": "api"},
		func(s jaegertest.Sample) error {
			if s.Value != 3 {
				return fmt.Errorf("value %v, want 3", s.Value)
			}
			return nil
		})
	t.Logf("sample: %+v", s)

	// --- log record (OTLP/JSON sink), and the debug exporter's copy
	lr := j.WaitForLog(t, func(r jaegertest.LogRecord) bool { return r.Body == "user lookup slow" })
	if lr.ServiceName() != "api" || lr.Attributes["user.id"] != "42" || lr.Attributes["route"] != "/users" ||
		lr.SeverityNumber != int(otellog.SeverityWarn) || lr.SeverityText != "WARN" || lr.ScopeName != "meshobs/e2e" {
		t.Errorf("log record = %s", lr)
	}
	if lr.TraceID != traceID || lr.SpanID != root.SpanID {
		t.Errorf("log record trace/span = %s/%s, want %s/%s", lr.TraceID, lr.SpanID, traceID, root.SpanID)
	}
	jaegertest.Eventually(t, 10*time.Second, func(context.Context) error {
		if out := j.Output(); !strings.Contains(out, "Body: Str(user lookup slow)") {
			return fmt.Errorf("debug exporter output lacks the record")
		}
		return nil
	})

	// --- Jaeger's own telemetry is on its chosen port.
	jaegertest.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		text, err := j.ScrapeInternalMetrics(ctx)
		if err != nil {
			return err
		}
		if len(jaegertest.Samples(text, "otelcol_receiver_accepted_spans_total")) == 0 {
			return fmt.Errorf("no otelcol_receiver_accepted_spans_total in internal metrics")
		}
		return nil
	})
}
