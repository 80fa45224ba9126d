package meshobs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meshobs/meshobs/exporters/outbound"
)

func TestDefaultConfigIsConfigYAML(t *testing.T) {
	c := DefaultConfig()
	want := Config{
		DefaultService:  "meshobs",
		MaxLineBytes:    1 << 20,
		Retention:       Retention{AccessLogs: 100_000, Spans: 100_000},
		Limits:          Limits{MaxServices: 10_000, MaxEdges: 100_000, MaxMetricSeries: 100_000},
		ShutdownTimeout: 5 * time.Second,
		Exporters: outbound.Config{
			QueueSize: 2048, BatchSize: 512, BatchDelay: time.Second, MetricInterval: 10 * time.Second,
			OTLP:   outbound.OTLP{Headers: map[string]string{}, Signals: []string{"traces", "metrics", "logs"}},
			Jaeger: outbound.Jaeger{Protocol: "grpc", Timeout: 10 * time.Second, Signals: []string{"traces", "metrics", "logs"}},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("built-in config %+v, want %+v", c, want)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml, errHas string
		check              func(Config) bool
	}{
		{"empty file keeps defaults", "", "", func(c Config) bool { return reflect.DeepEqual(c, DefaultConfig()) }},
		{"partial override", "retention:\n  spans: 7\n", "", func(c Config) bool {
			return c.Retention.Spans == 7 && c.Retention.AccessLogs == 100_000
		}},
		{"duration", "shutdown_timeout: 250ms\n", "", func(c Config) bool { return c.ShutdownTimeout == 250*time.Millisecond }},
		{"unknown top-level key", "colour: blue\n", "colour", nil},
		{"unknown nested key", "retention:\n  logs: 3\n", "logs", nil},
		{"zero retention", "retention:\n  access_logs: 0\n", "retention.access_logs", nil},
		{"small line limit", "max_line_bytes: 10\n", "max_line_bytes", nil},
		{"zero limit", "limits:\n  max_edges: 0\n", "limits.max_edges", nil},
		{"empty service", "default_service: \"\"\n", "default_service", nil},
		{"wrong type", "retention: 5\n", "retention", nil},
		{"every exporter off by default", "", "", func(c Config) bool { return !c.Exporters.Enabled() }},
		{"jaeger shorthand", "exporters:\n  jaeger:\n    endpoint: 127.0.0.1:4317\n", "", func(c Config) bool {
			return c.Exporters.Jaeger.Endpoint == "127.0.0.1:4317" && c.Exporters.Jaeger.Protocol == "grpc" && c.Exporters.Enabled()
		}},
		{"otlp headers", "exporters:\n  otlp:\n    enabled: true\n    headers: {api-key: s3cret}\n", "", func(c Config) bool {
			return c.Exporters.OTLP.Enabled && c.Exporters.OTLP.Headers["api-key"] == "s3cret"
		}},
		{"traces only", "exporters:\n  jaeger:\n    endpoint: localhost:4317\n    signals: [traces]\n", "", func(c Config) bool {
			return reflect.DeepEqual(c.Exporters.Jaeger.Signals, []string{"traces"})
		}},
		{"bad signal", "exporters:\n  jaeger:\n    signals: [spans]\n", "exporters.jaeger.signals", nil},
		{"unknown exporter", "exporters:\n  zipkin: {}\n", "zipkin", nil},
		{"bad protocol", "exporters:\n  otlp:\n    protocol: thrift\n", "exporters.otlp.protocol", nil},
		{"bad jaeger endpoint", "exporters:\n  jaeger:\n    endpoint: localhost\n", "exporters.jaeger.endpoint", nil},
		{"bad compression", "exporters:\n  otlp:\n    compression: zstd\n", "exporters.otlp.compression", nil},
		{"bad prometheus listen", "exporters:\n  prometheus:\n    listen: 9464\n", "exporters.prometheus.listen", nil},
		{"batch over queue", "exporters:\n  queue_size: 10\n", "exporters.batch_size", nil},
		{"negative interval", "exporters:\n  metric_interval: -1s\n", "exporters.metric_interval", nil},
		{"wrong exporter type", "exporters:\n  stdout:\n    enabled: [1]\n", "exporters.stdout.enabled", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(path)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err %v, want one naming %q", err, tt.errHas)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("config %+v, err %v", c, err)
			}
		})
	}
}
