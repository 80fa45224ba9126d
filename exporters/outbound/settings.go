package outbound

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// batching is one signal's batch processor settings, resolved.
type batching struct {
	queueSize, batchSize int
	delay                time.Duration
	// timeout is the environment's bound on one export (OTEL_BSP_EXPORT_TIMEOUT,
	// OTEL_BLRP_EXPORT_TIMEOUT); 0: the exporter's own.
	timeout time.Duration
}

// settings are the batch processors' and metric readers' settings, from
// the config, else the standard environment variables, else the defaults.
type settings struct {
	spans, logs    batching
	metricInterval time.Duration
	metricTimeout  time.Duration // OTEL_METRIC_EXPORT_TIMEOUT; 0: the exporter's own
}

// settings resolves c's zero batch and metric keys from the environment,
// as the OpenTelemetry specification names and measures them (integers;
// durations in milliseconds), then from the defaults. An environment value
// that is not a positive integer is ignored, as the specification says,
// and named in the returned warnings.
func (c Config) settings(getenv func(string) string) (settings, []string) {
	var warnings []string
	env := func(name string) (int, bool) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			warnings = append(warnings, fmt.Sprintf("%s=%q is not a positive integer: ignored", name, getenv(name)))
			return 0, false
		}
		return n, true
	}
	count := func(configured int, name string, def int) int {
		if configured > 0 {
			return configured
		}
		if n, ok := env(name); ok {
			return n
		}
		return def
	}
	millis := func(configured time.Duration, name string, def time.Duration) time.Duration {
		if configured > 0 {
			return configured
		}
		if n, ok := env(name); ok {
			return time.Duration(n) * time.Millisecond
		}
		return def
	}
	batch := func(prefix string) batching {
		b := batching{
			queueSize: count(c.QueueSize, prefix+"_MAX_QUEUE_SIZE", DefaultQueueSize),
			batchSize: count(c.BatchSize, prefix+"_MAX_EXPORT_BATCH_SIZE", DefaultBatchSize),
			delay:     millis(c.BatchDelay, prefix+"_SCHEDULE_DELAY", DefaultBatchDelay),
			timeout:   millis(0, prefix+"_EXPORT_TIMEOUT", 0),
		}
		b.batchSize = min(b.batchSize, b.queueSize) // as the SDK's processors do
		return b
	}
	s := settings{
		spans:          batch("OTEL_BSP"),
		logs:           batch("OTEL_BLRP"),
		metricInterval: millis(c.MetricInterval, "OTEL_METRIC_EXPORT_INTERVAL", DefaultMetricInterval),
		metricTimeout:  millis(0, "OTEL_METRIC_EXPORT_TIMEOUT", 0),
	}
	return s, warnings
}

// exportTimeouts are the bounds the span and log processors and the metric
// reader of one exporter put on one export.
type exportTimeouts struct{ spans, logs, metrics time.Duration }

// timeouts returns an exporter's per-signal export bounds: its configured
// timeout (0: none) wins, then the signal's environment variable, then
// fallback.
func (s settings) timeouts(configured, fallback time.Duration) exportTimeouts {
	pick := func(env time.Duration) time.Duration {
		switch {
		case configured > 0:
			return configured
		case env > 0:
			return env
		}
		return fallback
	}
	return exportTimeouts{spans: pick(s.spans.timeout), logs: pick(s.logs.timeout), metrics: pick(s.metricTimeout)}
}
