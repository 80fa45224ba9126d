package meshobs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meshobs/meshobs/api"
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
		Graph:           GraphRules{Received: SpanRules{ClientServer: true, Messaging: true, VirtualNodes: true}},
		API: api.Config{MaxConcurrentRequests: 32, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 65536},
		Exporters: outbound.Config{
			// queue_size, batch_size, batch_delay, metric_interval unset:
			// the OTEL_BSP_*, OTEL_BLRP_*, OTEL_METRIC_EXPORT_* variables apply.
			OTLP:   outbound.OTLP{Headers: map[string]string{}, Signals: []string{"traces", "metrics", "logs"}},
			Jaeger: outbound.Jaeger{Protocol: "grpc", Timeout: 10 * time.Second, Signals: []string{"traces"}},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("built-in config %+v, want %+v", c, want)
	}
	if w := c.Exporters.Warnings(); len(w) != 0 {
		t.Errorf("built-in config warns: %q", w)
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
		{"jaeger shorthand", "exporters:\n  jaeger:\n    enabled: true\n    endpoint: 127.0.0.1:4317\n", "", func(c Config) bool {
			return c.Exporters.Jaeger.Endpoint == "127.0.0.1:4317" && c.Exporters.Jaeger.Protocol == "grpc" && c.Exporters.Enabled() &&
				reflect.DeepEqual(c.Exporters.Jaeger.Signals, []string{"traces"})
		}},
		{"endpoint without enabled: off, with a warning", "exporters:\n  jaeger:\n    endpoint: 127.0.0.1:4317\n", "", func(c Config) bool {
			w := c.Exporters.Warnings()
			return !c.Exporters.Enabled() && len(w) == 1 && strings.HasPrefix(w[0], "exporters.jaeger.endpoint is set but exporters.jaeger.enabled is false")
		}},
		{"jaeger all signals", "exporters:\n  jaeger:\n    enabled: true\n    signals: [traces, metrics, logs]\n", "", func(c Config) bool {
			return len(c.Exporters.Jaeger.Signals) == 3
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
		{"batch over queue", "exporters:\n  queue_size: 10\n  batch_size: 20\n", "exporters.batch_size", nil},
		{"batch keys set", "exporters:\n  queue_size: 10\n  batch_delay: 200ms\n", "", func(c Config) bool {
			return c.Exporters.QueueSize == 10 && c.Exporters.BatchSize == 0 && c.Exporters.BatchDelay == 200*time.Millisecond
		}},
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

// TestConfigErrorHints: what a config error says, whole.
func TestConfigErrorHints(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, yaml, want string }{
		{"duration as an integer", "shutdown_timeout: 5\n", "shutdown_timeout: 5 is not a duration: write 5s (line 1)"},
		{"duration as a float", "exporters:\n  batch_delay: 0.5\n", "exporters.batch_delay: 0.5 is not a duration: write 0.5s (line 2)"},
		{"duration without a unit word", "shutdown_timeout: 5 sec\n",
			`shutdown_timeout: "5 sec" is not a duration: write a number with a unit, e.g. 5s, 250ms or 1m30s (line 1)`},
		{"integer as a word", "max_line_bytes: lots\n", "max_line_bytes: lots is not a whole number (line 1)"},
		{"bool as a word", "graph:\n  messaging: sometimes\n", "graph.messaging: sometimes is not true or false (line 2)"},
		{"typo at the top", "retension:\n  spans: 3\n", `retension: unknown key; did you mean "retention"? (line 1)`},
		{"typo nested", "limits:\n  max_service: 3\n", `limits.max_service: unknown key; did you mean "max_services"? (line 2)`},
		{"part of a key", "retention:\n  logs: 3\n", `retention.logs: unknown key; did you mean "access_logs"? (line 2)`},
		{"typo in flow style", "exporters: {otlp: {enabled: true, endpont: x}}\n",
			`exporters.otlp.endpont: unknown key; did you mean "endpoint"? (line 1)`},
		{"nothing near", "exporters:\n  zipkin: {}\n",
			"exporters.zipkin: unknown key; known keys here: queue_size, batch_size, batch_delay, metric_interval, otlp, jaeger, stdout, prometheus (line 2)"},
		{"two errors in file order", "retension: {}\nshutdown_timeout: 5\n",
			`retension: unknown key; did you mean "retention"? (line 1); shutdown_timeout: 5 is not a duration: write 5s (line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(path)
			if want := "config " + path + ": " + tt.want; err == nil || err.Error() != want {
				t.Errorf("err\n %v\nwant\n %s", err, want)
			}
		})
	}
}

func TestNearestKey(t *testing.T) {
	known := []string{"default_service", "max_line_bytes", "retention", "limits", "shutdown_timeout", "graph", "exporters"}
	tests := []struct{ name, want string }{
		{"retension", "retention"},
		{"exporter", "exporters"},
		{"shutdown-timeout", "shutdown_timeout"},
		{"default_service_name", "default_service"},
		{"colour", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := nearestKey(tt.name, known); got != tt.want {
			t.Errorf("nearestKey(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"héllo", "hello", 1}, {"flaw", "lawn", 2}} {
		if d := levenshtein(tt.a, tt.b); d != tt.d {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.d)
		}
	}
}

// TestValidateOrder: every invalid value is reported, always in the same
// order (the keys' order in config.yaml).
func TestValidateOrder(t *testing.T) {
	c := DefaultConfig()
	c.DefaultService, c.MaxLineBytes, c.ShutdownTimeout = "", 1, 0
	c.Retention = Retention{}
	c.Limits = Limits{}
	c.Exporters.QueueSize = -1
	want := "default_service: must not be empty\n" +
		"max_line_bytes: must be at least 1024, not 1\n" +
		"retention.access_logs: must be at least 1, not 0\n" +
		"retention.spans: must be at least 1, not 0\n" +
		"limits.max_services: must be at least 1, not 0\n" +
		"limits.max_edges: must be at least 1, not 0\n" +
		"limits.max_metric_series: must be at least 1, not 0\n" +
		"shutdown_timeout: must be positive, not 0s\n" +
		"exporters.queue_size: must not be negative, not -1"
	for range 20 { // map iteration would vary between runs
		if err := c.Validate(); err == nil || err.Error() != want {
			t.Fatalf("Validate()\n%v\nwant\n%s", err, want)
		}
	}
}

// TestDeployConfigsLoad: the configs shipped under deploy/ are valid.
func TestDeployConfigsLoad(t *testing.T) {
	paths, _ := filepath.Glob("deploy/*/meshobs*.yaml")
	if len(paths) == 0 {
		t.Fatal("no meshobs configs under deploy/")
	}
	for _, p := range paths {
		if _, err := LoadConfig(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
