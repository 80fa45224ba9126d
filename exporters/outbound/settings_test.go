package outbound

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestSettingsFromEnvironment(t *testing.T) {
	def := batching{queueSize: DefaultQueueSize, batchSize: DefaultBatchSize, delay: DefaultBatchDelay}
	tests := []struct {
		name     string
		cfg      Config
		env      map[string]string
		want     settings
		warnings []string
	}{
		{"nothing set: defaults", Config{}, nil,
			settings{spans: def, logs: def, metricInterval: DefaultMetricInterval}, nil},
		{"environment when the config leaves keys unset", Config{}, map[string]string{
			"OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "10",
			"OTEL_BSP_SCHEDULE_DELAY": "250", "OTEL_BSP_EXPORT_TIMEOUT": "3000",
			"OTEL_BLRP_MAX_QUEUE_SIZE": "200", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": "20",
			"OTEL_BLRP_SCHEDULE_DELAY": "500", "OTEL_BLRP_EXPORT_TIMEOUT": "4000",
			"OTEL_METRIC_EXPORT_INTERVAL": "60000", "OTEL_METRIC_EXPORT_TIMEOUT": "5000",
		}, settings{
			spans:          batching{queueSize: 100, batchSize: 10, delay: 250 * time.Millisecond, timeout: 3 * time.Second},
			logs:           batching{queueSize: 200, batchSize: 20, delay: 500 * time.Millisecond, timeout: 4 * time.Second},
			metricInterval: time.Minute, metricTimeout: 5 * time.Second,
		}, nil},
		{"config wins over environment", Config{QueueSize: 50, BatchSize: 5, BatchDelay: 2 * time.Second, MetricInterval: 3 * time.Second},
			map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": "20",
				"OTEL_BSP_SCHEDULE_DELAY": "250", "OTEL_METRIC_EXPORT_INTERVAL": "60000"},
			settings{
				spans:          batching{queueSize: 50, batchSize: 5, delay: 2 * time.Second},
				logs:           batching{queueSize: 50, batchSize: 5, delay: 2 * time.Second},
				metricInterval: 3 * time.Second,
			}, nil},
		{"batch never above queue", Config{}, map[string]string{"OTEL_BLRP_MAX_QUEUE_SIZE": "8"},
			settings{spans: def, logs: batching{queueSize: 8, batchSize: 8, delay: DefaultBatchDelay}, metricInterval: DefaultMetricInterval}, nil},
		{"invalid values ignored and named", Config{}, map[string]string{
			"OTEL_BSP_SCHEDULE_DELAY": "5s", "OTEL_BLRP_MAX_QUEUE_SIZE": "-1", "OTEL_METRIC_EXPORT_INTERVAL": "0",
		}, settings{spans: def, logs: def, metricInterval: DefaultMetricInterval}, []string{
			`OTEL_BSP_SCHEDULE_DELAY="5s" is not a positive integer: ignored`,
			`OTEL_BLRP_MAX_QUEUE_SIZE="-1" is not a positive integer: ignored`,
			`OTEL_METRIC_EXPORT_INTERVAL="0" is not a positive integer: ignored`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings := tt.cfg.settings(envOf(tt.env))
			if got != tt.want {
				t.Errorf("settings\n got %+v\nwant %+v", got, tt.want)
			}
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

func TestExportTimeouts(t *testing.T) {
	s := settings{spans: batching{timeout: 3 * time.Second}, metricTimeout: 5 * time.Second}
	if got, want := s.timeouts(0, 7*time.Second), (exportTimeouts{3 * time.Second, 7 * time.Second, 5 * time.Second}); got != want {
		t.Errorf("unconfigured: %+v, want %+v", got, want)
	}
	if got, want := s.timeouts(time.Second, 7*time.Second), (exportTimeouts{time.Second, time.Second, time.Second}); got != want {
		t.Errorf("configured: %+v, want %+v", got, want)
	}
	if got := otlpEnvTimeout(envOf(map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "1500"})); got != 1500*time.Millisecond {
		t.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT=1500: %s", got)
	}
	if got := otlpEnvTimeout(envOf(nil)); got != DefaultTimeout {
		t.Errorf("no OTEL_EXPORTER_OTLP_TIMEOUT: %s", got)
	}
}

// TestBatchSizeFromEnvironment: OTEL_BSP_MAX_EXPORT_BATCH_SIZE reaches
// the span processor New builds: 5 spans leave in requests of at most 2.
func TestBatchSizeFromEnvironment(t *testing.T) {
	sink := newOTLPSink(t)
	var stderr strings.Builder
	s, err := New(context.Background(),
		Config{OTLP: OTLP{Enabled: true, Endpoint: sink.URL, Protocol: ProtocolHTTPProtobuf, Signals: []string{SignalTraces}}},
		WithStderr(&stderr),
		WithGetenv(envOf(map[string]string{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2", "OTEL_BSP_SCHEDULE_DELAY": "oops"})))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.SpanProcessors()[0]),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "api"))))
	for range 5 {
		_, span := tp.Tracer("test").Start(context.Background(), "op")
		span.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range sink.requests("/v1/traces") {
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(r.body, &req); err != nil {
			t.Fatal(err)
		}
		n := len(req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans())
		if n > 2 {
			t.Errorf("a request of %d spans, want at most 2", n)
		}
		total += n
	}
	if total != 5 {
		t.Errorf("%d spans received, want 5", total)
	}
	if want := "meshobs: warning: OTEL_BSP_SCHEDULE_DELAY=\"oops\" is not a positive integer: ignored\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"nothing configured", Config{}, nil},
		{"enabled exporters", Config{OTLP: OTLP{Enabled: true, Endpoint: "x:1"}, Jaeger: Jaeger{Enabled: true, Endpoint: "y:1"},
			Prometheus: Prometheus{Enabled: true, Listen: "127.0.0.1:0"}}, nil},
		{"otlp endpoint without enabled", Config{OTLP: OTLP{Endpoint: "collector:4317"}}, []string{
			"exporters.otlp.endpoint is set but exporters.otlp.enabled is false: the otlp exporter is off (add enabled: true to turn it on)"}},
		{"otlp keys without enabled", Config{OTLP: OTLP{Endpoint: "c:4317", Headers: map[string]string{"k": "v"}, Compression: "gzip"}}, []string{
			"exporters.otlp.endpoint, exporters.otlp.headers, exporters.otlp.compression are set but exporters.otlp.enabled is false: the otlp exporter is off (add enabled: true to turn it on)"}},
		{"jaeger and prometheus without enabled", Config{Jaeger: Jaeger{Endpoint: "localhost:4317", Protocol: ProtocolGRPC, Timeout: time.Second},
			Prometheus: Prometheus{Listen: "127.0.0.1:9464"}}, []string{
			"exporters.jaeger.endpoint is set but exporters.jaeger.enabled is false: the jaeger exporter is off (add enabled: true to turn it on)",
			"exporters.prometheus.listen is set but exporters.prometheus.enabled is false: the prometheus exporter is off (add enabled: true to turn it on)"}},
		{"jaeger defaults alone", Config{Jaeger: Jaeger{Protocol: ProtocolGRPC, Timeout: 10 * time.Second, Signals: []string{SignalTraces}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.Warnings(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Warnings()\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestNewWarnsAndExportsNothing: an endpoint without enabled turns nothing
// on, and New says so on stderr.
func TestNewWarnsAndExportsNothing(t *testing.T) {
	var stderr strings.Builder
	s, err := New(context.Background(), Config{OTLP: OTLP{Endpoint: "127.0.0.1:4317"}}, WithStderr(&stderr), WithGetenv(envOf(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.SpanProcessors())+len(s.LogProcessors())+len(s.MetricReaders()) != 0 {
		t.Errorf("an exporter without enabled: true is on")
	}
	if !strings.HasPrefix(stderr.String(), "meshobs: warning: exporters.otlp.endpoint is set but exporters.otlp.enabled is false") {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestValidateOrder(t *testing.T) {
	c := Config{QueueSize: -1, BatchDelay: -time.Second, MetricInterval: -time.Second,
		OTLP:   OTLP{Endpoint: "nope", Protocol: "thrift", Compression: "zstd", Signals: []string{"spans"}, Timeout: -1},
		Jaeger: Jaeger{Endpoint: "nope", Signals: []string{"traces", "traces"}, Timeout: -1}}
	var keys []string
	for _, line := range strings.Split(c.Validate().Error(), "\n") {
		keys = append(keys, strings.SplitN(line, ":", 2)[0])
	}
	want := []string{"exporters.queue_size", "exporters.batch_delay", "exporters.metric_interval", "exporters.otlp.timeout",
		"exporters.jaeger.timeout", "exporters.otlp.endpoint", "exporters.otlp.protocol", "exporters.otlp.compression",
		"exporters.otlp.signals", "exporters.jaeger.endpoint", "exporters.jaeger.signals"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("error keys %q, want %q", keys, want)
	}
}
