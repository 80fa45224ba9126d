package tooltest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// OtelcolOptions configure StartOtelcol.
type OtelcolOptions struct {
	// Config is the collector's YAML config. Every listener in it should be
	// on 127.0.0.1 with a port from FreePorts. Leave out
	// service::telemetry::metrics::readers: StartOtelcol sets it so that the
	// collector's own metrics are served on a free port (MetricsURL) instead
	// of the default :8888.
	Config string
	// StartTimeout bounds the wait for readiness; default 60s.
	StartTimeout time.Duration
}

// Collector is a running tools/otelcol collector.
type Collector struct {
	*Process
	// ConfigPath is the config file written from OtelcolOptions.Config.
	ConfigPath string
	// MetricsURL serves the collector's own metrics in the Prometheus text
	// format (otelcol_receiver_accepted_spans, ...).
	MetricsURL string

	client *http.Client
}

// readyLine is what the collector logs once every pipeline has started.
const readyLine = "Everything is ready"

// StartOtelcol writes the config, starts the collector and waits until it
// logs that everything is ready and serves its own metrics. Cleanup stops it.
func StartOtelcol(t testing.TB, opts OtelcolOptions) *Collector {
	t.Helper()
	bin := Binary(t, Otelcol)
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "otelcol.yaml")
	if err := os.WriteFile(cfgPath, []byte(opts.Config), 0o644); err != nil {
		t.Fatalf("tooltest: %v", err)
	}
	return startRetrying(t, "otelcol", func() (*Collector, *Process, error) {
		ports, err := freePorts(1)
		if err != nil {
			return nil, nil, err
		}
		// A second config source, merged over the first, for the own-metrics reader.
		telemetry := fmt.Sprintf("yaml:service::telemetry::metrics::readers: "+
			"[{pull: {exporter: {prometheus: {host: '127.0.0.1', port: %d, without_scope_info: true}}}}]", ports[0])
		p, err := start(t, Command{
			Name: "otelcol",
			Path: bin,
			Args: []string{"--config=file:" + cfgPath, "--config=" + telemetry},
			Dir:  dir,
		})
		if err != nil {
			return nil, nil, err
		}
		c := &Collector{Process: p, ConfigPath: cfgPath, MetricsURL: "http://" + Loopback(ports[0]) + "/metrics",
			client: &http.Client{Timeout: 10 * time.Second}}
		err = p.WaitReady(opts.StartTimeout, func() error {
			if !strings.Contains(p.Output(), readyLine) {
				return fmt.Errorf("no %q in the log yet", readyLine)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := httpGet(ctx, c.client, c.MetricsURL)
			return err
		})
		return c, p, err
	})
}

// Metrics scrapes the collector's own metrics.
func (c *Collector) Metrics(ctx context.Context) ([]Sample, error) {
	b, err := httpGet(ctx, c.client, c.MetricsURL)
	if err != nil {
		return nil, fmt.Errorf("tooltest: otelcol metrics: %w", err)
	}
	return Samples(string(b), ""), nil
}

// AcceptedSpans is the number of spans the collector's receivers have
// accepted so far (otelcol_receiver_accepted_spans, all receivers; with the
// _total suffix where the exporter adds one).
func (c *Collector) AcceptedSpans(ctx context.Context) (float64, error) {
	s, err := c.Metrics(ctx)
	if err != nil {
		return 0, err
	}
	sum, _ := Sum(s, "otelcol_receiver_accepted_spans", nil)
	total, _ := Sum(s, "otelcol_receiver_accepted_spans_total", nil)
	return sum + total, nil
}

// WaitForAcceptedSpans waits until the receivers have accepted at least n
// spans and returns the count.
func (c *Collector) WaitForAcceptedSpans(t testing.TB, timeout time.Duration, n float64) float64 {
	t.Helper()
	var got float64
	Eventually(t, timeout, func(ctx context.Context) error {
		var err error
		if got, err = c.AcceptedSpans(ctx); err != nil {
			return err
		}
		if got < n {
			return fmt.Errorf("otelcol accepted %v spans, want %v", got, n)
		}
		return nil
	})
	return got
}
