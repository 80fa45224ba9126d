package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/node"
	"github.com/meshobs/meshobs/semconv"
	"github.com/meshobs/meshobs/telemetry"
)

// fakeClock is a settable clock for telemetry.WithClock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// harness is a node on a pipeline with an injected clock.
type harness struct {
	t     *testing.T
	clock *fakeClock
	p     *telemetry.Pipeline
	n     *node.Node
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	p, err := telemetry.New(telemetry.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return &harness{t: t, clock: clock, p: p, n: node.New(p)}
}

// send runs lines through the node and returns the reply lines.
func (h *harness) send(lines ...string) []string {
	h.t.Helper()
	var out strings.Builder
	if err := h.n.Run(context.Background(), strings.NewReader(strings.Join(lines, "\n")+"\n"), &out); err != nil {
		h.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// ask sends one request and decodes its reply into v.
func (h *harness) ask(line string, v any) {
	h.t.Helper()
	reply := h.send(line)[0]
	if err := json.Unmarshal([]byte(reply), v); err != nil {
		h.t.Fatalf("%s: %v", reply, err)
	}
}

func record(service string, ms float64, status int, extra string) string {
	return fmt.Sprintf(`{"type":"record","service":%q,"duration_ms":%v,"status":%d%s}`, service, ms, status, extra)
}

type latency struct {
	P50, P90, P95, P99, Max *float64
}

type serviceSignals struct {
	Service      string           `json:"service"`
	RequestCount int64            `json:"request_count"`
	ErrorCount   int64            `json:"error_count"`
	ErrorRate    float64          `json:"error_rate"`
	RatePerS     float64          `json:"rate_per_s"`
	Latency      latency          `json:"latency_ms"`
	StatusCodes  map[string]int64 `json:"status_codes"`
}

type goldenSignals struct {
	Type     string           `json:"type"`
	Services []serviceSignals `json:"services"`
}

func TestStatsCounts(t *testing.T) {
	h := newHarness(t)
	h.send(
		record("web", 10, 200, `,"target":"api"`),
		record("api", 20, 503, `,"target":"db"`),
		record("api", 30, 200, `,"target":"db"`),
		record("api", 40, 404, ""),
		record("api", 50, 500, `,"source":"web"`),
	)
	tests := []struct {
		name    string
		req     string
		want    []string
		reqs    []int64
		errs    []int64
		rates   []float64
		statusN []map[string]int64
	}{
		{"all services in first-seen order", `{"type":"stats"}`, []string{"web", "api"}, []int64{1, 4}, []int64{0, 2}, []float64{0, 0.5},
			[]map[string]int64{{"200": 1}, {"200": 1, "404": 1, "500": 1, "503": 1}}},
		{"one service", `{"type":"stats","service":"api"}`, []string{"api"}, []int64{4}, []int64{2}, []float64{0.5},
			[]map[string]int64{{"200": 1, "404": 1, "500": 1, "503": 1}}},
		{"empty service means all", `{"type":"stats","service":""}`, []string{"web", "api"}, []int64{1, 4}, []int64{0, 2}, []float64{0, 0.5},
			[]map[string]int64{{"200": 1}, {"200": 1, "404": 1, "500": 1, "503": 1}}},
		{"a target that never reported", `{"type":"stats","service":"db"}`, []string{}, nil, nil, nil, nil},
		{"unknown service", `{"type":"stats","service":"nope"}`, []string{}, nil, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got goldenSignals
			h.ask(tt.req, &got)
			if got.Type != "golden_signals" || got.Services == nil {
				t.Fatalf("reply %+v", got)
			}
			names := []string{}
			for i, s := range got.Services {
				names = append(names, s.Service)
				if s.RequestCount != tt.reqs[i] || s.ErrorCount != tt.errs[i] || s.ErrorRate != tt.rates[i] {
					t.Errorf("%s: requests %d errors %d rate %v, want %d %d %v", s.Service, s.RequestCount, s.ErrorCount, s.ErrorRate, tt.reqs[i], tt.errs[i], tt.rates[i])
				}
				if fmt.Sprint(s.StatusCodes) != fmt.Sprint(tt.statusN[i]) {
					t.Errorf("%s: status_codes %v, want %v", s.Service, s.StatusCodes, tt.statusN[i])
				}
				l := s.Latency
				if l.P50 == nil || l.P90 == nil || l.P95 == nil || l.P99 == nil || l.Max == nil {
					t.Errorf("%s: latency_ms %+v lacks a field", s.Service, l)
				}
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("services %v, want %v", names, tt.want)
			}
		})
	}
}

func TestStatsErrors(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct{ req, text string }{
		{`{"type":"stats","msg_id":1,"service":7}`, "service must be a string"},
		{`{"type":"stats","msg_id":2,"service":"` + strings.Repeat("x", node.MaxNameBytes+1) + `"}`, "service is longer than"},
	} {
		got := h.send(tt.req)[0]
		if !strings.Contains(got, `"code":12`) || !strings.Contains(got, tt.text) {
			t.Errorf("%s\n got %s\nwant code 12 naming %q", tt.req, got, tt.text)
		}
	}
}

// TestStatsRateWindow moves the injected clock: rate_per_s counts the
// requests observed in the last 60 s, divided by 60.
func TestStatsRateWindow(t *testing.T) {
	h := newHarness(t)
	start := h.clock.t
	burst := func(n int) {
		lines := make([]string, n)
		for i := range lines {
			lines[i] = record("api", 1, 200, "")
		}
		h.send(lines...)
	}
	burst(30)
	h.clock.t = start.Add(30 * time.Second)
	burst(12)
	tests := []struct {
		at   time.Duration
		want float64
	}{
		{30 * time.Second, 42.0 / 60},
		{59 * time.Second, 42.0 / 60},
		{60 * time.Second, 12.0 / 60}, // the first burst is 60 s old: out of the window
		{89 * time.Second, 12.0 / 60},
		{90 * time.Second, 0},
		{time.Hour, 0},
	}
	for _, tt := range tests {
		h.clock.t = start.Add(tt.at)
		var got goldenSignals
		h.ask(`{"type":"stats","service":"api"}`, &got)
		if r := got.Services[0].RatePerS; math.Abs(r-tt.want) > 1e-12 {
			t.Errorf("at +%v: rate_per_s %v, want %v", tt.at, r, tt.want)
		}
		if got.Services[0].RequestCount != 42 {
			t.Errorf("at +%v: request_count %d, want 42 (counts never leave the window)", tt.at, got.Services[0].RequestCount)
		}
	}
}

// TestStatsLatencyAccuracy records known distributions through the node and
// checks the percentiles against the exact ones, within the bound of the
// histogram the SDK aggregated.
func TestStatsLatencyAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := []struct {
		name string
		gen  func() float64
	}{
		{"uniform", func() float64 { return 1 + 199*r.Float64() }},
		{"exponential", func() float64 { return 25 * r.ExpFloat64() }},
		{"bimodal", func() float64 {
			if r.Float64() < 0.8 {
				return 0.4 + 0.2*r.Float64()
			}
			return 1500 + 500*r.Float64()
		}},
	}
	for _, d := range dists {
		t.Run(d.name, func(t *testing.T) {
			h := newHarness(t)
			values := make([]float64, 5000)
			lines := make([]string, len(values))
			for i := range values {
				values[i] = d.gen()
				status := 200
				if i%10 == 0 {
					status = 503 // several series, merged for the service
				}
				lines[i] = record("api", values[i], status, `,"target":"db"`)
			}
			h.send(lines...)
			slices.Sort(values)
			bound := serviceBound(t, h.p, "api")
			var got goldenSignals
			h.ask(`{"type":"stats","service":"api"}`, &got)
			l := got.Services[0].Latency
			for _, c := range []struct {
				q   float64
				got *float64
			}{{0.5, l.P50}, {0.9, l.P90}, {0.95, l.P95}, {0.99, l.P99}, {1, l.Max}} {
				want := values[int(math.Ceil(c.q*float64(len(values))))-1]
				rel := math.Abs(*c.got-want) / want
				if rel > bound+1e-5 { // 1e-5: six significant digits in the reply
					t.Errorf("p%v = %v, exact %v: relative error %.2f%% > bound %.2f%%", c.q*100, *c.got, want, 100*rel, 100*bound)
				}
			}
		})
	}
}

// serviceBound is the relative error bound of service's merged duration histogram.
func serviceBound(t *testing.T, p *telemetry.Pipeline, service string) float64 {
	t.Helper()
	rm, err := p.Query().Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var h exporters.ExpHistogram
	exporters.ExponentialHistograms(&rm, semconv.RequestDurationName, nil, func(dp metricdata.ExponentialHistogramDataPoint[float64]) {
		if v, _ := dp.Attributes.Value(semconv.Service); v.AsString() == service {
			h.Merge(&dp)
		}
	})
	return h.RelativeError()
}

type pairEntry struct {
	Source     string   `json:"source_service"`
	Target     string   `json:"target_service"`
	Count      int64    `json:"count"`
	ErrorCount *int64   `json:"error_count"`
	Latency    *latency `json:"latency_ms"`
}

func TestQueryDetailLatency(t *testing.T) {
	h := newHarness(t)
	var lines []string
	for i := range 10 {
		lines = append(lines, record("api", float64(10+i), 200, `,"target":"db"`))
	}
	lines = append(lines,
		record("api", 500, 503, `,"target":"db"`),
		record("db", 700, 503, `,"source":"api"`), // the same pair, reported by the callee
		record("api", 3, 404, `,"target":"cache"`),
	)
	h.send(lines...)
	tests := []struct {
		name     string
		filter   string
		count    int64
		errors   int64
		p50, max float64
	}{
		{"every status", `{}`, 12, 2, 15, 700},
		{"status_class 5xx", `{"status_class":"5xx"}`, 2, 2, 500, 700},
		{"status 200", `{"status":200}`, 10, 0, 14, 19},
		{"status_class 2xx with target", `{"status_class":"2xx","target_service":"db"}`, 10, 0, 14, 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct{ Logs []pairEntry }
			h.ask(`{"type":"query","detail":true,"filter":`+tt.filter+`}`, &got)
			var e *pairEntry
			for i := range got.Logs {
				if got.Logs[i].Source == "api" && got.Logs[i].Target == "db" {
					e = &got.Logs[i]
				}
			}
			if e == nil || e.Latency == nil || e.ErrorCount == nil {
				t.Fatalf("no api->db entry with detail in %+v", got.Logs)
			}
			if e.Count != tt.count || *e.ErrorCount != tt.errors {
				t.Errorf("count %d errors %d, want %d %d", e.Count, *e.ErrorCount, tt.count, tt.errors)
			}
			l := e.Latency
			if l.P90 != nil {
				t.Errorf("query detail has p90: %+v", l)
			}
			if *l.Max != tt.max || math.Abs(*l.P50-tt.p50)/tt.p50 > 0.05 {
				t.Errorf("p50 %v max %v, want ~%v and %v", *l.P50, *l.Max, tt.p50, tt.max)
			}
			if *l.P95 > *l.Max || *l.P99 > *l.Max || *l.P50 > *l.P95 {
				t.Errorf("percentiles out of order: %+v", l)
			}
		})
	}
	// Without detail the entries carry neither field.
	reply := h.send(`{"type":"query","filter":{"status":200}}`)[0]
	if strings.Contains(reply, "latency_ms") || strings.Contains(reply, "error_count") {
		t.Errorf("query without detail: %s", reply)
	}
}

type graphEdge struct {
	Source       string   `json:"source"`
	Target       string   `json:"target"`
	RequestCount int64    `json:"request_count"`
	ErrorCount   *int64   `json:"error_count"`
	Latency      *latency `json:"latency_ms"`
}

type serviceGraph struct {
	Type  string      `json:"type"`
	Nodes []string    `json:"nodes"`
	Edges []graphEdge `json:"edges"`
	Text  *string     `json:"text"`
}

// TestGenerateDetailMergesSpans checks edge latency over the calls the edge
// counts: records (from the metric histogram) and cross-service spans.
func TestGenerateDetailMergesSpans(t *testing.T) {
	h := newHarness(t)
	const tid = "4bf92f3577b34da6a3ce929d0e0e4736"
	h.send(
		record("frontend", 18.7, 200, `,"target":"cart"`),
		`{"type":"trace","service":"frontend","operation":"GET /checkout","trace_id":"`+tid+`","duration_ms":120}`,
		`{"type":"trace","service":"cart","operation":"POST /cart","trace_id":"`+tid+`","duration_ms":80,"status":503}`,
		`{"type":"trace","service":"payments","operation":"charge","trace_id":"`+tid+`","duration_ms":5}`,
		`{"type":"trace","service":"payments","operation":"charge","trace_id":"`+tid+`","duration_ms":7}`,
	)
	var got serviceGraph
	h.ask(`{"type":"generate","detail":true}`, &got)
	want := map[[2]string]struct {
		calls, errors int64
		p50, max      float64
	}{
		{"frontend", "cart"}:     {2, 1, 18.7, 80},
		{"frontend", "payments"}: {2, 0, 5, 7},
	}
	if len(got.Edges) != len(want) {
		t.Fatalf("edges %+v", got.Edges)
	}
	for _, e := range got.Edges {
		w := want[[2]string{e.Source, e.Target}]
		if e.RequestCount != w.calls || e.ErrorCount == nil || *e.ErrorCount != w.errors || e.Latency == nil {
			t.Fatalf("edge %+v, want %+v", e, w)
		}
		if *e.Latency.P50 != w.p50 || *e.Latency.Max != w.max || *e.Latency.P99 != w.max {
			t.Errorf("%s->%s latency %+v, want p50 %v (exact min) and p99 = max = %v", e.Source, e.Target, e.Latency, w.p50, w.max)
		}
	}
	if got.Text != nil {
		t.Errorf("text without format")
	}
}

func TestGenerateFormat(t *testing.T) {
	h := newHarness(t)
	h.send(record("web", 12, 500, `,"target":"say \"hi\""`))
	tests := []struct {
		format string
		prefix string // of text; "" for an error
		err    string
	}{
		{`"dot"`, "digraph meshobs {\n", ""},
		{`"mermaid"`, "flowchart LR\n", ""},
		{`"svg"`, "", `format must be \"dot\" or \"mermaid\", not \"svg\"`},
		{`"DOT"`, "", `not \"DOT\"`},
		{`""`, "", `format must be`},
		{`7`, "", "format must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			reply := h.send(`{"type":"generate","msg_id":9,"format":` + tt.format + `}`)[0]
			if tt.err != "" {
				if !strings.Contains(reply, `"code":12`) || !strings.Contains(reply, tt.err) {
					t.Errorf("reply %s, want code 12 with %s", reply, tt.err)
				}
				return
			}
			var got serviceGraph
			if err := json.Unmarshal([]byte(reply), &got); err != nil {
				t.Fatal(err)
			}
			if got.Text == nil || !strings.HasPrefix(*got.Text, tt.prefix) {
				t.Fatalf("text %v, want prefix %q", got.Text, tt.prefix)
			}
			if !strings.Contains(*got.Text, "1 req") || !strings.Contains(*got.Text, "100% err") || !strings.Contains(*got.Text, "p95 12 ms") {
				t.Errorf("edge label missing requests, error %% or p95:\n%s", *got.Text)
			}
			if got.Edges[0].ErrorCount != nil || got.Edges[0].Latency != nil {
				t.Errorf("format alone added detail fields: %s", reply)
			}
		})
	}
}
