package meshobs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsConfigYAML(t *testing.T) {
	c := DefaultConfig()
	want := Config{
		DefaultService:  "meshobs",
		MaxLineBytes:    1 << 20,
		Retention:       Retention{AccessLogs: 100_000, Spans: 100_000},
		Limits:          Limits{MaxServices: 10_000, MaxEdges: 100_000, MaxMetricSeries: 100_000},
		ShutdownTimeout: 5 * time.Second,
	}
	if c != want {
		t.Fatalf("built-in config %+v, want %+v", c, want)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml, errHas string
		check              func(Config) bool
	}{
		{"empty file keeps defaults", "", "", func(c Config) bool { return c == DefaultConfig() }},
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
