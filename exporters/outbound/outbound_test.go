package outbound

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpSink is an OTLP/HTTP receiver that records what it was sent.
type otlpSink struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []sinkRequest
}

type sinkRequest struct {
	path     string
	header   http.Header
	body     []byte // decompressed
	encoding string
}

func newOTLPSink(t *testing.T) *otlpSink {
	s := &otlpSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, sinkRequest{r.URL.Path, r.Header.Clone(), b, r.Header.Get("Content-Encoding")})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *otlpSink) requests(path string) []sinkRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sinkRequest
	for _, r := range s.reqs {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// emit sends one span, one log record and one counter point of service
// through the Set, then shuts the providers down (flushing everything).
func emit(t *testing.T, s *Set, service string) {
	t.Helper()
	ctx := context.Background()
	res := resource.NewSchemaless(attribute.String("service.name", service))
	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	for _, p := range s.SpanProcessors() {
		topts = append(topts, sdktrace.WithSpanProcessor(p))
	}
	tp := sdktrace.NewTracerProvider(topts...)
	lopts := []sdklog.LoggerProviderOption{sdklog.WithResource(res)}
	for _, p := range s.LogProcessors() {
		lopts = append(lopts, sdklog.WithProcessor(p))
	}
	lp := sdklog.NewLoggerProvider(lopts...)
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	for _, r := range s.MetricReaders() {
		mopts = append(mopts, sdkmetric.WithReader(r))
	}
	mp := sdkmetric.NewMeterProvider(mopts...)

	_, span := tp.Tracer("test").Start(ctx, "GET /users")
	span.End()
	var rec otellog.Record
	rec.SetBody(attribute.StringValue("access"))
	lp.Logger("test").Emit(ctx, rec)
	c, err := mp.Meter("test").Int64Counter("requests")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(ctx, 3)

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := errors.Join(tp.Shutdown(sctx), lp.Shutdown(sctx), mp.Shutdown(sctx), s.Shutdown(sctx)); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestOTLPHTTPConfig(t *testing.T) {
	sink := newOTLPSink(t)
	cfg := Config{OTLP: OTLP{
		Enabled: true, Endpoint: sink.URL + "/base/", Protocol: ProtocolHTTPProtobuf,
		Headers: map[string]string{"api-key": "s3cret"}, Compression: "gzip", Timeout: 5 * time.Second,
	}}
	s, err := New(context.Background(), cfg, WithGetenv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	emit(t, s, "api")

	for _, path := range []string{"/base/v1/traces", "/base/v1/logs", "/base/v1/metrics"} {
		reqs := sink.requests(path)
		if len(reqs) == 0 {
			t.Errorf("nothing posted to %s (got %v)", path, sink.reqs)
			continue
		}
		if got := reqs[0].header.Get("api-key"); got != "s3cret" {
			t.Errorf("%s: api-key header %q, want s3cret", path, got)
		}
		if reqs[0].encoding != "gzip" {
			t.Errorf("%s: Content-Encoding %q, want gzip", path, reqs[0].encoding)
		}
	}
	var tr coltrace.ExportTraceServiceRequest
	if reqs := sink.requests("/base/v1/traces"); len(reqs) > 0 {
		if err := proto.Unmarshal(reqs[0].body, &tr); err != nil {
			t.Fatal(err)
		}
		rs := tr.GetResourceSpans()
		if len(rs) != 1 || rs[0].GetResource().GetAttributes()[0].GetValue().GetStringValue() != "api" ||
			rs[0].GetScopeSpans()[0].GetSpans()[0].GetName() != "GET /users" {
			t.Errorf("traces request = %v", &tr)
		}
	}
	want := []Stat{
		{Exporter: "otlp", Signal: "traces", Accepted: 1, Exported: 1},
		{Exporter: "otlp", Signal: "logs", Accepted: 1, Exported: 1},
		{Exporter: "otlp", Signal: "metrics", Accepted: 1, Exported: 1},
	}
	if got := s.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

// TestOTLPEnvironment: with the config's keys empty, the standard variables
// decide endpoint, protocol and headers, as the specification says.
func TestOTLPEnvironment(t *testing.T) {
	sink := newOTLPSink(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.URL+"/collector")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t0ken,x-tenant=mesh")
	s, err := New(context.Background(), Config{OTLP: OTLP{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	emit(t, s, "api")
	for _, path := range []string{"/collector/v1/traces", "/collector/v1/logs", "/collector/v1/metrics"} {
		reqs := sink.requests(path)
		if len(reqs) == 0 {
			t.Errorf("nothing posted to %s", path)
			continue
		}
		if a, x := reqs[0].header.Get("authorization"), reqs[0].header.Get("x-tenant"); a != "Bearer t0ken" || x != "mesh" {
			t.Errorf("%s: headers authorization=%q x-tenant=%q", path, a, x)
		}
	}
	var lr collogs.ExportLogsServiceRequest
	if reqs := sink.requests("/collector/v1/logs"); len(reqs) > 0 {
		if err := proto.Unmarshal(reqs[0].body, &lr); err != nil {
			t.Fatal(err)
		}
		if got := lr.GetResourceLogs()[0].GetScopeLogs()[0].GetLogRecords()[0].GetBody().GetStringValue(); got != "access" {
			t.Errorf("log body %q", got)
		}
	}
}

// TestConfigOverridesEnvironment: a configured endpoint wins over the variable.
func TestConfigOverridesEnvironment(t *testing.T) {
	sink := newOTLPSink(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	s, err := New(context.Background(), Config{OTLP: OTLP{Enabled: true, Endpoint: sink.URL, Protocol: ProtocolHTTPProtobuf}})
	if err != nil {
		t.Fatal(err)
	}
	emit(t, s, "api")
	if len(sink.requests("/v1/traces")) == 0 {
		t.Errorf("configured endpoint got no traces")
	}
}

func TestPrometheus(t *testing.T) {
	s, err := New(context.Background(), Config{Prometheus: Prometheus{Enabled: true, Listen: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.MetricReaders()[0]))
	c, _ := mp.Meter("test").Int64Counter("meshobs.requests")
	c.Add(ctx, 7, metricAttrs("api", "database"))
	resp, err := http.Get("http://" + s.PrometheusAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `meshobs_requests_total{meshobs_source="api",meshobs_target="database",otel_scope_name="test"`; !bytes.Contains(body, []byte(want)) {
		t.Errorf("scrape lacks %s:\n%s", want, body)
	}
	if err := errors.Join(mp.Shutdown(ctx), s.Shutdown(ctx)); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", s.PrometheusAddr(), time.Second); err == nil {
		t.Errorf("prometheus still listening after Shutdown")
	}
}

func TestPrometheusPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = New(context.Background(), Config{Prometheus: Prometheus{Enabled: true, Listen: ln.Addr().String()}})
	if err == nil || !strings.Contains(err.Error(), "prometheus.listen") {
		t.Fatalf("err = %v, want one naming prometheus.listen", err)
	}
}
