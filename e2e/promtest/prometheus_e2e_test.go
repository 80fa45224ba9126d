package promtest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/meshobs/meshobs"
	"github.com/meshobs/meshobs/e2e/tooltest"
	"github.com/meshobs/meshobs/telemetry"
)

// workload is a fixed, seeded mesh: records reported by the caller (a
// target_service), records reported by the callee (only a source_service)
// and traces whose child spans cross services (Jaeger's rule), with
// log-normal durations and a few failures on every edge.
func workload() []byte {
	rng := rand.New(rand.NewPCG(15, 2026))
	var b bytes.Buffer
	line := func(v map[string]any) {
		j, _ := json.Marshal(v)
		b.Write(j)
		b.WriteByte('\n')
	}
	// median ms and spread of each edge's durations
	lognormal := func(median, sigma float64) float64 {
		return math.Round(median*math.Exp(sigma*rng.NormFloat64())*1000) / 1000
	}
	status := func(errPct int) int {
		if rng.IntN(100) < errPct {
			return 503
		}
		return 200
	}
	line(map[string]any{"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": []string{"n1"}})
	for i := range 1200 {
		switch i % 4 {
		case 0: // web -> api, reported by web (client side)
			line(map[string]any{"type": "record", "service": "web", "target_service": "api",
				"duration_ms": lognormal(40, 0.6), "status": status(5)})
		case 1: // api -> db, reported by api (client side)
			line(map[string]any{"type": "record", "service": "api", "target_service": "db",
				"duration_ms": lognormal(4, 0.8), "status": status(2)})
		case 2: // api -> cache, reported by cache (server side)
			line(map[string]any{"type": "record", "service": "cache", "source_service": "api",
				"duration_ms": lognormal(0.8, 0.5), "status": status(1)})
		case 3: // web -> auth, as a trace: root span in web, its child in auth
			tid := fmt.Sprintf("%032x", rng.Uint64()|1)
			line(map[string]any{"type": "trace", "service": "web", "operation": "GET /login", "trace_id": tid,
				"duration_ms": 300})
			line(map[string]any{"type": "trace", "service": "auth", "operation": "POST /token", "trace_id": tid,
				"duration_ms": lognormal(120, 0.7), "status": status(10)})
		}
	}
	line(map[string]any{"type": "generate", "msg_id": 2, "detail": true})
	return b.Bytes()
}

// generated is the part of a generate reply the test compares.
type generated struct {
	Type  string `json:"type"`
	Edges []struct {
		Source       string `json:"source"`
		Target       string `json:"target"`
		RequestCount int64  `json:"request_count"`
		ErrorCount   int64  `json:"error_count"`
		Latency      struct {
			P95 float64 `json:"p95"`
		} `json:"latency_ms"`
	} `json:"edges"`
}

// runNode builds a meshobs with its Prometheus exporter on a free port,
// runs the workload through its stdio node and returns the generate reply
// and the address to scrape. The instance lives until the test ends.
func runNode(t *testing.T, input []byte) (generated, string) {
	t.Helper()
	cfg := meshobs.DefaultConfig()
	cfg.Exporters.Prometheus.Enabled = true
	cfg.Exporters.Prometheus.Listen = "127.0.0.1:0"
	var stderr bytes.Buffer
	in, err := meshobs.New(cfg, meshobs.WithStderr(&stderr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := in.ShutdownTimeout()
		defer cancel()
		if err := in.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v\n%s", err, stderr.String())
		}
	})
	var out bytes.Buffer
	if err := in.Node().Run(t.Context(), bytes.NewReader(input), &out); err != nil {
		t.Fatal(err)
	}
	var last []byte
	for sc := bufio.NewScanner(&out); sc.Scan(); {
		if bytes.Contains(sc.Bytes(), []byte(`"type":"error"`)) {
			t.Fatalf("error reply: %s", sc.Bytes())
		}
		last = slices.Clone(sc.Bytes())
	}
	var g generated
	if err := json.Unmarshal(last, &g); err != nil || g.Type != "service_graph" || len(g.Edges) == 0 {
		t.Fatalf("generate reply %s: %v", last, err)
	}
	return g, in.Exporters().PrometheusAddr()
}

// byEdge keys a vector by its client and server labels.
func byEdge(v []tooltest.PromSample) map[[2]string]float64 {
	out := make(map[[2]string]float64, len(v))
	for _, s := range v {
		out[[2]string{s.Metric["client"], s.Metric["server"]}] = s.Value
	}
	return out
}

// TestPrometheus runs one meshobs and one Prometheus scraping it: the
// issue's acceptance checks (what Prometheus holds is, edge for edge, what
// generate says) and the dashboard's queries.
func TestPrometheus(t *testing.T) {
	input := workload()
	g, target := runNode(t, input)
	prom := tooltest.StartPrometheus(t, tooltest.PrometheusOptions{Targets: []string{target}, ScrapeInterval: 500 * time.Millisecond})
	t.Run("AgreesWithGenerate", func(t *testing.T) { agreesWithGenerate(t, prom, g) })
	t.Run("DashboardQueries", func(t *testing.T) { dashboardQueries(t, prom) })
}

func agreesWithGenerate(t *testing.T, prom *tooltest.PrometheusServer, g generated) {
	wantCalls, wantErrors, wantTotal := map[[2]string]float64{}, map[[2]string]float64{}, 0.0
	for _, e := range g.Edges {
		k := [2]string{e.Source, e.Target}
		wantCalls[k], wantErrors[k] = float64(e.RequestCount), float64(e.ErrorCount)
		wantTotal += float64(e.RequestCount)
	}
	if len(wantCalls) != 4 {
		t.Fatalf("generate: %+v", g.Edges)
	}
	// Wait until a scrape has it all: the totals then stay put.
	prom.WaitForQuery(t, 60*time.Second, `sum(traces_service_graph_request_total)`, func(v []tooltest.PromSample) error {
		if len(v) != 1 || v[0].Value != wantTotal {
			return fmt.Errorf("sum %v, want %v", v, wantTotal)
		}
		return nil
	})

	ctx := t.Context()
	calls, err := prom.Query(ctx, `sum by (client, server) (traces_service_graph_request_total)`)
	if err != nil {
		t.Fatal(err)
	}
	if got := byEdge(calls); !mapsEqual(got, wantCalls) {
		t.Errorf("request totals %v, generate's %v", got, wantCalls)
	}
	failed, err := prom.Query(ctx, `sum by (client, server) (traces_service_graph_request_failed_total)`)
	if err != nil {
		t.Fatal(err)
	}
	if got := byEdge(failed); !mapsEqual(got, wantErrors) {
		t.Errorf("failed totals %v, generate's error_count %v", got, wantErrors)
	}
	// Every span is counted in the span metrics: two per trace.
	spans, err := prom.Query(ctx, `sum(traces_spanmetrics_calls_total)`)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * wantCalls[[2]string{"web", "auth"}]; len(spans) != 1 || spans[0].Value != want {
		t.Errorf("span calls %v, want %v", spans, want)
	}

	// p95 per edge: each call has one known side here (records: the
	// reporter's; spans: the callee's), so the two histograms together hold
	// exactly the durations generate summarises.
	p95, err := prom.Query(ctx, `histogram_quantile(0.95, sum by (le, client, server) `+
		`({__name__=~"traces_service_graph_request_(client|server)_seconds_bucket"}))`)
	if err != nil {
		t.Fatal(err)
	}
	got := byEdge(p95)
	for _, e := range g.Edges {
		k := [2]string{e.Source, e.Target}
		promMs, meshMs := 1000*got[k], e.Latency.P95
		lo, hi := bucketAround(got[k])
		if width := 1000 * (hi - lo); math.Abs(promMs-meshMs) > width {
			t.Errorf("%s -> %s: Prometheus p95 %.3f ms, meshobs %.3f ms: more than the bucket width %.3f ms apart",
				e.Source, e.Target, promMs, meshMs, width)
		} else {
			t.Logf("%s -> %s: p95 Prometheus %.3f ms, meshobs %.3f ms (bucket %g..%g s)", e.Source, e.Target, promMs, meshMs, lo, hi)
		}
	}
}

// bucketAround returns the bounds of the latency bucket v (seconds) is in.
func bucketAround(v float64) (lo, hi float64) {
	b := telemetry.LatencyBuckets
	i, _ := slices.BinarySearch(b, v)
	if i == len(b) {
		return b[len(b)-1], math.Inf(1)
	}
	if i == 0 {
		return 0, b[0]
	}
	return b[i-1], b[i]
}

func mapsEqual(a, b map[[2]string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
