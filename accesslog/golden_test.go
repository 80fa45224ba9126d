package accesslog_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/meshobs/meshobs/accesslog"
)

// goldenCases are the golden files in testdata: NAME.otlp.json holds an
// OTLP/JSON logs request, NAME.want.json the entry expected of each log
// record, in order. Each comment says where the records' shape comes from.
var goldenCases = []string{
	// Envoy's OpenTelemetry access logger (envoyproxy/envoy
	// source/extensions/access_loggers/open_telemetry/access_log_impl.cc@09399d3a,
	// AccessLog::emitLog l.60-86): time_unix_nano is the stream's start time
	// (l.63), the body is the configured `body` format (l.68-71), here Envoy's
	// DEFAULT_FORMAT (source/common/formatter/http_formatter_context.cc), the
	// attributes the `attributes` list (none here, l.72-73), trace and span id
	// those of the active span (l.75-80; otlp_log_utils.cc@0f4f7e82
	// populateTraceContext l.50). The resource holds the builtin labels
	// log_name, zone_name, cluster_name, node_name, then resource_attributes
	// (otlp_log_utils.cc initOtlpMessageRoot l.192, l.214-219; api/envoy/
	// extensions/access_loggers/open_telemetry/v3/logs_service.proto fields 4-5).
	// Record 3 is a downstream disconnect before any response: RESPONSE_CODE 0,
	// RESPONSE_FLAGS DC.
	"envoy_default",
	// Istio's envoyOtelAls provider, defaults (istio/istio
	// pilot/pkg/model/telemetry_logging.go@86c9f01f): the body is
	// EnvoyTextLogFormat (l.44, used at l.442, set at l.481),
	// DisableBuiltinLabels (l.477) leaves the resource empty, and
	// FilterStateObjectsToLog = envoyWasmStateToLog (l.114, l.475) makes Envoy
	// add upstream_peer / downstream_peer attributes as JSON strings
	// (otlp_log_utils.cc addFilterStateToAttributes l.125-158) of istio/proxy
	// extensions/common/metadata_object.cc WorkloadMetadataObject::serializeAsProto.
	// Cluster names: pilot/pkg/model/service.go BuildSubsetKey l.1860,
	// BuildDNSSrvSubsetKey l.1873 (the SNI of record 2); PassthroughCluster:
	// pilot/pkg/networking/util/util.go l.66. Records 5 and 6 are a TCP
	// connection and an HTTP/2 stream reset, both with RESPONSE_CODE 0.
	"istio_default",
	// Istio's envoyOtelAls provider with logFormat.labels: each label becomes
	// a string attribute (telemetry_logging.go buildOpenTelemetryAccessLogConfig
	// l.489; ConvertStructToAttributeKeyValues l.528, keys sorted l.534, string
	// values l.538), the filter-state attributes follow (access_log_impl.cc
	// l.82); the body is still EnvoyTextLogFormat. Label keys as in Istio's
	// EnvoyJSONLogFormatIstio (response_code, duration, method, path, protocol,
	// upstream_cluster) plus source_workload and destination_workload; Envoy
	// writes "-" for a value it does not have (open_telemetry/
	// substitution_formatter.cc@b62b88e0 l.16, DefaultUnspecifiedValueString).
	"istio_labels",
	// The OpenTelemetry demo's frontend-proxy (open-telemetry/opentelemetry-demo
	// src/frontend-proxy/envoy.tmpl.yaml@00789476 l.71-122): common_config.log_name
	// (builtin labels on), body in Istio's format with %UPSTREAM_CLUSTER% (l.83),
	// resource_attributes service.name (l.84-88), OTel-named attributes without
	// a status (l.89-122); the routes' clusters are frontend, image-provider,
	// flagservice (l.40-58).
	"otel_demo_frontend_proxy",
	// OpenTelemetry HTTP semantic conventions (semconv v1.37.0): client records
	// with peer.service / server.address and server records, the status an
	// int, the duration the http.{client,server}.request.duration name in
	// seconds as a double attribute.
	"otel_http_semconv",
	// Records that are not access logs.
	"not_access_logs",
	// meshobs's own access-log records, as telemetry.Pipeline.Record emits them
	// (telemetry/pipeline.go l.327-355) through the OTLP/HTTP log exporter;
	// written by TestRoundTripTelemetry with -update.
	"meshobs_access_log",
}

// goldenEntry is an expected entry in a .want.json file.
type goldenEntry struct {
	AccessLog  bool    `json:"access_log"`
	Why        string  `json:"why,omitempty"`
	Service    string  `json:"service"`
	Source     string  `json:"source"`
	Target     string  `json:"target"`
	Status     int     `json:"status"`
	DurationMs float64 `json:"duration_ms"`
	Method     string  `json:"method"`
	Path       string  `json:"path"`
	Protocol   string  `json:"protocol"`
	Timestamp  string  `json:"timestamp"`
	TraceID    string  `json:"trace_id"`
	SpanID     string  `json:"span_id"`
}

type goldenFile struct {
	Comment string        `json:"comment"`
	Entries []goldenEntry `json:"entries"`
}

func toGolden(e accesslog.Entry) goldenEntry {
	g := goldenEntry{
		AccessLog: true, Service: e.Service, Source: e.Source, Target: e.Target,
		Status: e.Status, DurationMs: e.DurationMs, Method: e.Method, Path: e.Path, Protocol: e.Protocol,
	}
	if !e.Timestamp.IsZero() {
		g.Timestamp = e.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	if e.TraceID.IsValid() {
		g.TraceID = hex.EncodeToString(e.TraceID[:])
	}
	if e.SpanID.IsValid() {
		g.SpanID = hex.EncodeToString(e.SpanID[:])
	}
	return g
}

func readLogs(t testing.TB, path string) plog.Logs {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var u plog.JSONUnmarshaler
	logs, err := u.UnmarshalLogs(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return logs
}

// eachRecord calls fn for every log record of logs, in document order.
func eachRecord(logs plog.Logs, fn func(plog.ResourceLogs, plog.LogRecord)) {
	for _, rl := range logs.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, rec := range sl.LogRecords().All() {
				fn(rl, rec)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			logs := readLogs(t, filepath.Join("testdata", name+".otlp.json"))
			data, err := os.ReadFile(filepath.Join("testdata", name+".want.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want goldenFile
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			i := 0
			eachRecord(logs, func(rl plog.ResourceLogs, rec plog.LogRecord) {
				defer func() { i++ }()
				if i >= len(want.Entries) {
					t.Errorf("record %d: no expected entry", i)
					return
				}
				w := want.Entries[i]
				e, ok := accesslog.FromRecord(rl.Resource(), rec)
				if !w.AccessLog {
					if ok {
						t.Errorf("record %d (%s): got access log %+v, want none", i, w.Why, e)
					}
					return
				}
				if !ok {
					t.Errorf("record %d: not recognised as an access log, want %+v", i, w)
					return
				}
				if got := toGolden(e); got != w {
					t.Errorf("record %d:\n got %+v\nwant %+v", i, got, w)
				}
			})
			if i != len(want.Entries) {
				t.Errorf("%d records, %d expected entries", i, len(want.Entries))
			}
		})
	}
}

// TestGoldenCasesListed keeps goldenCases and testdata in step, so no golden
// file goes unchecked and none is listed without its files.
func TestGoldenCasesListed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.otlp.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".otlp.json"))
		if _, err := os.Stat(strings.TrimSuffix(f, ".otlp.json") + ".want.json"); err != nil {
			t.Error(err)
		}
	}
	listed := slices.Clone(goldenCases)
	slices.Sort(listed)
	if !slices.Equal(names, listed) {
		t.Errorf("testdata has %v, goldenCases lists %v", names, listed)
	}
}
