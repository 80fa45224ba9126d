package accesslog_test

import (
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/meshobs/meshobs/accesslog"
)

// BenchmarkFromRecord measures one record of each kind, taken from the
// golden files.
func BenchmarkFromRecord(b *testing.B) {
	for _, bc := range []struct {
		name, file string
		index      int
		ok         bool
	}{
		{"EnvoyDefaultBody", "envoy_default", 0, true},
		{"IstioDefaultBody", "istio_default", 0, true},
		{"IstioLabels", "istio_labels", 0, true},
		{"OTelDemoBodyAndAttributes", "otel_demo_frontend_proxy", 0, true},
		{"OTelHTTPSemconv", "otel_http_semconv", 0, true},
		{"Meshobs", "meshobs_access_log", 0, true},
		{"AppLogLine", "not_access_logs", 0, false},
	} {
		logs := readLogs(b, filepath.Join("testdata", bc.file+".otlp.json"))
		var (
			res plog.ResourceLogs
			rec plog.LogRecord
			n   int
		)
		eachRecord(logs, func(rl plog.ResourceLogs, r plog.LogRecord) {
			if n == bc.index {
				res, rec = rl, r
			}
			n++
		})
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := accesslog.FromRecord(res.Resource(), rec); ok != bc.ok {
					b.Fatalf("ok = %v", ok)
				}
			}
		})
	}
}
