package api_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshobs/meshobs/api"
	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/telemetry"
)

func TestSelfCollector(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(api.NewSelfCollector(api.Sources{
		Replies: func() (int64, int64) { return 15, 2 },
		Receivers: func() []telemetry.ReceiverStat {
			return []telemetry.ReceiverStat{{Receiver: "otlp", Transport: "grpc", Signal: "traces", Received: 10, Accepted: 7, Refused: 3}}
		},
		Exports: func() []outbound.Stat {
			return []outbound.Stat{{Exporter: "otlp", Signal: "logs", Accepted: 9, Exported: 6, Failed: 1, Dropped: 3}}
		},
		Retained: func() (int, int) { return 8, 2 },
	}))
	want := `
# HELP meshobs_export_items_dropped Items an outbound exporter accepted but has not exported (accepted - exported): still queued while running, lost at exit.
# TYPE meshobs_export_items_dropped gauge
meshobs_export_items_dropped{exporter="otlp",signal="logs"} 3
# HELP meshobs_export_items_total Items an outbound exporter handled, by outcome: "accepted" (handed to its queue), "exported" (taken by the endpoint), "failed" (in a failed export request, not sent again).
# TYPE meshobs_export_items_total counter
meshobs_export_items_total{exporter="otlp",outcome="accepted",signal="logs"} 9
meshobs_export_items_total{exporter="otlp",outcome="exported",signal="logs"} 6
meshobs_export_items_total{exporter="otlp",outcome="failed",signal="logs"} 1
# HELP meshobs_receiver_items_total Items a receiver took in, by outcome: "accepted" (passed to the pipeline) or "refused" (answered with an error, nothing kept).
# TYPE meshobs_receiver_items_total counter
meshobs_receiver_items_total{outcome="accepted",receiver="otlp",signal="traces",transport="grpc"} 7
meshobs_receiver_items_total{outcome="refused",receiver="otlp",signal="traces",transport="grpc"} 3
# HELP meshobs_receiver_received_items_total Items (spans, log records, metric points) a receiver took in: accepted plus refused.
# TYPE meshobs_receiver_received_items_total counter
meshobs_receiver_received_items_total{receiver="otlp",signal="traces",transport="grpc"} 10
# HELP meshobs_retained_items Individual entries the in-memory stores hold for raw queries and traces, by store: "access_logs" or "spans".
# TYPE meshobs_retained_items gauge
meshobs_retained_items{store="access_logs"} 8
meshobs_retained_items{store="spans"} 2
# HELP meshobs_stdio_rejected_total Requests the stdio node answered with an error body.
# TYPE meshobs_stdio_rejected_total counter
meshobs_stdio_rejected_total 2
# HELP meshobs_stdio_replies_total Replies the stdio node wrote, error bodies included.
# TYPE meshobs_stdio_replies_total counter
meshobs_stdio_replies_total 15
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestSelfCollectorSkipsNilSources(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(api.NewSelfCollector(api.Sources{Retained: func() (int, int) { return 1, 0 }}))
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 2 {
		t.Errorf("%d series, %v; want the 2 of meshobs_retained_items", n, err)
	}
}

// TestMetricsEndpoint: /metrics serves the registry given to WithMetrics,
// here meshobs's own counters over a real pipeline.
func TestMetricsEndpoint(t *testing.T) {
	p := newPipeline(t)
	q := p.Query()
	reg := prometheus.NewRegistry()
	reg.MustRegister(api.NewSelfCollector(api.Sources{Retained: q.Retained}))
	s := startServer(t, api.Config{}, q, api.WithMetrics(reg))
	r := get(t, s, "/metrics")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %v", r.status, r.header)
	}
	// demo.jsonl: 8 records, 2 spans.
	for _, want := range []string{`meshobs_retained_items{store="access_logs"} 8`, `meshobs_retained_items{store="spans"} 2`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, r.body)
		}
	}
}
