package accesslog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/accesslog"
	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/telemetry"
)

var update = flag.Bool("update", false, "rewrite testdata/meshobs_access_log.otlp.json from the telemetry pipeline")

// otlpSink is an OTLP/HTTP logs endpoint on loopback that keeps what it receives.
type otlpSink struct {
	mu   sync.Mutex
	logs []plog.Logs
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.logs = append(s.logs, req.Logs())
	s.mu.Unlock()
	resp, _ := plogotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// received merges everything the sink got into one Logs, in arrival order.
func (s *otlpSink) received() plog.Logs {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := plog.NewLogs()
	for _, l := range s.logs {
		l.ResourceLogs().MoveAndAppendTo(all.ResourceLogs())
	}
	s.logs = nil
	return all
}

// waitGoroutines fails the test unless the number of goroutines falls back
// to n within a deadline (the exporter's connections end after Close).
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRoundTripTelemetry sends records through meshobs's own pipeline and the
// OTel SDK's OTLP/HTTP log exporter, and checks that each comes back as the
// entry the exporting node holds: same service, edge, status, duration,
// method, path, protocol, timestamp and trace context.
func TestRoundTripTelemetry(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	sink := &otlpSink{}
	srv := httptest.NewServer(sink)

	ctx := context.Background()
	exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(srv.URL+"/v1/logs"),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 20, 12, 0, 40, 0, time.UTC)
	p, err := telemetry.New(
		telemetry.WithClock(func() time.Time { return now }),
		telemetry.WithResource(resource.NewSchemaless()),
		telemetry.WithLogProcessor(sdklog.NewSimpleProcessor(exp)),
	)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []telemetry.Request{
		{Service: "api", Target: "database", Status: 200, DurationMs: 12.5, Method: "GET", Path: "/users/42", Protocol: "http",
			TraceID:   trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
			SpanID:    trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
			Timestamp: time.Date(2025, 6, 20, 12, 0, 39, 123_000_000, time.UTC)},
		{Service: "web", Source: "lb", Status: 503, DurationMs: 0.25, Timestamp: time.Date(2025, 6, 20, 12, 0, 39, 500_000_000, time.UTC)},
		{Service: "cron", Status: 204, Method: "POST", Path: "/jobs"}, // no edge, no timestamp: the pipeline's now
		{Service: "api", Source: "web", Target: "cache", Status: 404, DurationMs: 1.75, Protocol: "grpc",
			Timestamp: time.Date(2025, 6, 20, 12, 0, 39, 900_000_001, time.UTC)},
	}
	// api called database; web was called by lb; cron has no edge; api
	// reported web -> cache (a third party: the caller's view).
	wantSides := []exporters.Side{exporters.SideClient, exporters.SideServer, exporters.SideUnknown, exporters.SideClient}
	for i := range reqs {
		if _, err := p.Record(ctx, &reqs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	waitGoroutines(t, goroutines)
	logs := sink.received()

	var got []accesslog.Entry
	eachRecord(logs, func(rl plog.ResourceLogs, rec plog.LogRecord) {
		e, ok := accesslog.FromRecord(rl.Resource(), rec)
		if !ok {
			t.Errorf("record %d not recognised", len(got))
		}
		got = append(got, e)
	})
	if len(got) != len(reqs) {
		t.Fatalf("%d records received, %d sent", len(got), len(reqs))
	}
	for i, r := range reqs {
		want := accesslog.Entry{
			Service: r.Service, Status: r.Status, DurationMs: r.DurationMs,
			Method: r.Method, Path: r.Path, Protocol: r.Protocol,
			Timestamp: r.Timestamp, TraceID: r.TraceID, SpanID: r.SpanID,
		}
		want.Source, want.Target, _ = r.Edge()
		// The reporting side as the pipeline decided it.
		want.Side = wantSides[i]
		if want.Timestamp.IsZero() {
			want.Timestamp = now
		}
		if !got[i].Timestamp.Equal(want.Timestamp) {
			t.Errorf("record %d: timestamp %v, want %v", i, got[i].Timestamp, want.Timestamp)
		}
		got[i].Timestamp, want.Timestamp = time.Time{}, time.Time{}
		if got[i] != want {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}

	if *update {
		var m plog.JSONMarshaler
		data, err := m.MarshalLogs(logs)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", " "); err != nil {
			t.Fatal(err)
		}
		buf.WriteByte('\n')
		if err := os.WriteFile(filepath.Join("testdata", "meshobs_access_log.otlp.json"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
