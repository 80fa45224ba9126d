package tooltest_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meshobs/meshobs/e2e/tooltest"
)

// TestPrometheusScrapesTarget runs a real Prometheus against a promhttp
// handler and reads the scraped value back through the query API.
func TestPrometheusScrapesTarget(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "meshobs_tooltest_value", Help: "a value to scrape"})
	reg.MustRegister(g)
	g.Set(42.5)
	target := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})) // 127.0.0.1
	defer target.Close()
	addr := strings.TrimPrefix(target.URL, "http://")

	p := tooltest.StartPrometheus(t, tooltest.PrometheusOptions{Targets: []string{addr}, ScrapeInterval: 200 * time.Millisecond, Job: "tooltest"})

	got := p.WaitForQuery(t, 30*time.Second, `meshobs_tooltest_value{job="tooltest"}`, nil)
	if len(got) != 1 || got[0].Value != 42.5 || got[0].Metric["instance"] != addr || got[0].Metric["__name__"] != "meshobs_tooltest_value" {
		t.Fatalf("query = %+v, want one sample 42.5 from instance %s", got, addr)
	}
	if since := time.Since(got[0].Time); since < -time.Minute || since > time.Minute {
		t.Errorf("sample time %v is not now", got[0].Time)
	}

	// A new value shows up at a later scrape.
	g.Set(7)
	p.WaitForQuery(t, 30*time.Second, `meshobs_tooltest_value`, func(v []tooltest.PromSample) error {
		if len(v) != 1 || v[0].Value != 7 {
			return fmt.Errorf("got %+v, want 7", v)
		}
		return nil
	})
	// up is 1 for the target; a query for a missing series is an empty vector.
	if v := p.WaitForQuery(t, 10*time.Second, `up{job="tooltest"}`, nil); v[0].Value != 1 {
		t.Errorf("up = %+v", v)
	}
	if v, err := p.Query(t.Context(), `no_such_series`); err != nil || len(v) != 0 {
		t.Errorf("missing series: %+v, %v; want an empty vector", v, err)
	}
	// Scalars and syntax errors are errors.
	if _, err := p.Query(t.Context(), `1+1`); err == nil || !strings.Contains(err.Error(), "scalar") {
		t.Errorf("scalar query: %v, want a result-type error", err)
	}
	if _, err := p.Query(t.Context(), `up{`); err == nil {
		t.Error("bad PromQL did not fail")
	}
	checkListeners(t, p.Process, p.URL)

	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() {
		t.Fatal("prometheus still running after Stop")
	}
}

func TestPrometheusConfig(t *testing.T) {
	cfg, err := tooltest.PrometheusConfig(tooltest.PrometheusOptions{Targets: []string{"127.0.0.1:1", "127.0.0.1:2"}, ScrapeInterval: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`scrape_interval: 1500ms`, `job_name: "meshobs"`, `metrics_path: "/metrics"`, `- "127.0.0.1:1"`, `- "127.0.0.1:2"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if _, err := tooltest.PrometheusConfig(tooltest.PrometheusOptions{}); err == nil || !strings.Contains(err.Error(), "Targets") {
		t.Errorf("no targets: %v, want an error naming Targets", err)
	}
}
