package tooltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PrometheusOptions configure StartPrometheus.
type PrometheusOptions struct {
	// Targets are the host:port addresses scraped (one static job); at least one.
	Targets []string
	// MetricsPath is the path scraped on each target; default /metrics.
	MetricsPath string
	// ScrapeInterval is how often targets are scraped; default 1s.
	ScrapeInterval time.Duration
	// Job is the job label of the scraped series; default "meshobs".
	Job string
	// StartTimeout bounds the wait for /-/ready; default 60s.
	StartTimeout time.Duration
}

// PrometheusServer is a running Prometheus (the Debian package's binary)
// listening on a free loopback port.
type PrometheusServer struct {
	*Process
	// URL is the base URL, e.g. http://127.0.0.1:40123.
	URL string
	// ConfigPath is the generated prometheus.yml.
	ConfigPath string

	client *http.Client
}

// StartPrometheus starts Prometheus with a generated scrape config, its
// storage in a temporary directory and its web API on a free loopback port,
// and waits until /-/ready answers 200. Cleanup stops it.
func StartPrometheus(t testing.TB, opts PrometheusOptions) *PrometheusServer {
	t.Helper()
	bin := Binary(t, Prometheus)
	cfg, err := PrometheusConfig(opts)
	if err != nil {
		t.Fatalf("tooltest: %v", err)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatalf("tooltest: %v", err)
	}
	return startRetrying(t, "prometheus", func() (*PrometheusServer, *Process, error) {
		ports, err := freePorts(1)
		if err != nil {
			return nil, nil, err
		}
		addr := Loopback(ports[0])
		p, err := start(t, Command{
			Name: "prometheus",
			Path: bin,
			Args: []string{
				"--config.file=" + cfgPath,
				"--storage.tsdb.path=" + filepath.Join(dir, "data"),
				"--web.listen-address=" + addr,
				"--log.level=info",
			},
			Dir: dir,
		})
		if err != nil {
			return nil, nil, err
		}
		s := &PrometheusServer{Process: p, URL: "http://" + addr, ConfigPath: cfgPath, client: &http.Client{Timeout: 10 * time.Second}}
		err = p.WaitReady(opts.StartTimeout, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := httpGet(ctx, s.client, s.URL+"/-/ready")
			return err
		})
		return s, p, err
	})
}

// PrometheusConfig renders the prometheus.yml that StartPrometheus uses.
func PrometheusConfig(opts PrometheusOptions) (string, error) {
	if len(opts.Targets) == 0 {
		return "", errors.New("tooltest: prometheus: Targets: at least one target is needed")
	}
	if opts.MetricsPath == "" {
		opts.MetricsPath = "/metrics"
	}
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = time.Second
	}
	if opts.Job == "" {
		opts.Job = "meshobs"
	}
	// Prometheus durations take one unit ("1500ms"), not Go's "1m0s".
	interval := strconv.FormatInt(opts.ScrapeInterval.Milliseconds(), 10) + "ms"
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n", interval, interval, interval)
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: %s\n    metrics_path: %s\n    static_configs:\n      - targets:\n",
		strconv.Quote(opts.Job), strconv.Quote(opts.MetricsPath))
	for _, target := range opts.Targets {
		fmt.Fprintf(&b, "          - %s\n", strconv.Quote(target))
	}
	return b.String(), nil
}

// PromSample is one element of an instant vector.
type PromSample struct {
	// Metric holds the labels, __name__ included.
	Metric map[string]string
	// Value is the sample value.
	Value float64
	// Time is the evaluation time.
	Time time.Time
}

// Query evaluates an instant PromQL query now through /api/v1/query and
// returns its vector; a result of another type is an error.
func (s *PrometheusServer) Query(ctx context.Context, query string) ([]PromSample, error) {
	body, err := httpGet(ctx, s.client, s.URL+"/api/v1/query?"+url.Values{"query": {query}}.Encode())
	if err != nil {
		return nil, fmt.Errorf("tooltest: prometheus query %q: %w", query, err)
	}
	var reply struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	var vector []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"` // [unix seconds, "value"]
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return nil, fmt.Errorf("tooltest: prometheus query %q: decode: %w", query, err)
	}
	if reply.Status != "success" {
		return nil, fmt.Errorf("tooltest: prometheus query %q: status %q: %s", query, reply.Status, reply.Error)
	}
	if reply.Data.ResultType != "vector" {
		return nil, fmt.Errorf("tooltest: prometheus query %q: result type %q, want vector", query, reply.Data.ResultType)
	}
	if err := json.Unmarshal(reply.Data.Result, &vector); err != nil {
		return nil, fmt.Errorf("tooltest: prometheus query %q: decode vector: %w", query, err)
	}
	out := make([]PromSample, 0, len(vector))
	for _, r := range vector {
		ts, ok := r.Value[0].(float64)
		str, ok2 := r.Value[1].(string)
		if !ok || !ok2 {
			return nil, fmt.Errorf("tooltest: prometheus query %q: bad sample value %v", query, r.Value)
		}
		v, err := strconv.ParseFloat(str, 64) // also "NaN", "+Inf"
		if err != nil {
			return nil, fmt.Errorf("tooltest: prometheus query %q: sample value %q: %w", query, str, err)
		}
		sec, frac := math.Modf(ts)
		out = append(out, PromSample{Metric: r.Metric, Value: v, Time: time.Unix(int64(sec), int64(frac*1e9))})
	}
	return out, nil
}

// WaitForQuery polls Query until check accepts its result (a nil check
// accepts any non-empty vector), failing the test after timeout.
func (s *PrometheusServer) WaitForQuery(t testing.TB, timeout time.Duration, query string, check func([]PromSample) error) []PromSample {
	t.Helper()
	if check == nil {
		check = func(v []PromSample) error {
			if len(v) == 0 {
				return errors.New("empty vector")
			}
			return nil
		}
	}
	var got []PromSample
	Eventually(t, timeout, func(ctx context.Context) error {
		v, err := s.Query(ctx, query)
		if err != nil {
			return err
		}
		got = v
		return check(v)
	})
	return got
}
