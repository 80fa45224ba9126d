package outbound

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Protocols an OTLP exporter can speak.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// Defaults for the zero values of Config, when the environment does not
// set them either.
const (
	DefaultQueueSize      = 2048
	DefaultBatchSize      = 512
	DefaultBatchDelay     = time.Second
	DefaultMetricInterval = 10 * time.Second
	DefaultTimeout        = 10 * time.Second
	// DefaultPrometheusListen is where an enabled Prometheus exporter
	// without a listen address serves /metrics.
	DefaultPrometheusListen = "127.0.0.1:9464"
)

// Config is the `exporters:` section of the configuration file. Its zero
// value exports nothing.
//
// One rule turns exporters on: an exporter is on when its Enabled is true,
// and nothing else turns it on. An exporter that is off but has its
// endpoint (or listen address) set is named in Warnings, which New writes
// to stderr, so a forgotten `enabled: true` is not a silent no-op.
//
// A zero number or duration below means the standard OpenTelemetry
// environment variable named in its comment (OTEL_BSP_* for spans,
// OTEL_BLRP_* for log records, OTEL_METRIC_EXPORT_* for metrics; integers,
// durations in milliseconds), else the default above. A value set here
// always wins over the environment.
type Config struct {
	// QueueSize is how many spans, and how many log records, may wait for
	// export per exporter. Beyond it new spans and the oldest log records
	// are dropped and counted: a slow endpoint never slows replies.
	// Zero: OTEL_BSP_MAX_QUEUE_SIZE (spans), OTEL_BLRP_MAX_QUEUE_SIZE
	// (logs), else 2048.
	QueueSize int `yaml:"queue_size"`
	// BatchSize is the most spans or log records sent in one export
	// request. Zero: OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
	// OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, else 512; never above the queue size.
	BatchSize int `yaml:"batch_size"`
	// BatchDelay is the longest an item waits for its batch to fill.
	// Zero: OTEL_BSP_SCHEDULE_DELAY, OTEL_BLRP_SCHEDULE_DELAY, else 1s.
	BatchDelay time.Duration `yaml:"batch_delay"`
	// MetricInterval is how often metrics are collected and pushed by the
	// otlp, jaeger and stdout exporters (Prometheus is scraped instead).
	// Zero: OTEL_METRIC_EXPORT_INTERVAL, else 10s.
	MetricInterval time.Duration `yaml:"metric_interval"`

	// OTLP sends spans, metrics and logs to any OTLP endpoint.
	OTLP OTLP `yaml:"otlp"`
	// Jaeger sends spans (by default only spans) to a Jaeger's OTLP receiver.
	Jaeger Jaeger `yaml:"jaeger"`
	// Stdout pretty-prints all three signals on stderr (stdout carries the protocol).
	Stdout Stdout `yaml:"stdout"`
	// Prometheus serves the metrics for scraping.
	Prometheus Prometheus `yaml:"prometheus"`
}

// OTLP configures the generic OTLP exporter. A key left empty (or zero) is
// taken from the standard OTEL_EXPORTER_OTLP_* environment variables, as
// the OpenTelemetry specification says, and otherwise from its default.
type OTLP struct {
	// Enabled turns the exporter on; nothing else does.
	Enabled bool `yaml:"enabled"`
	// Endpoint is host:port, or a URL (http:// is plaintext, https:// TLS).
	// With http/protobuf a URL is a base: /v1/traces, /v1/metrics and
	// /v1/logs are appended. Empty: OTEL_EXPORTER_OTLP_ENDPOINT (or the
	// per-signal variables), else localhost:4317 (grpc) or :4318 (http).
	Endpoint string `yaml:"endpoint"`
	// Protocol is grpc or http/protobuf. Empty: OTEL_EXPORTER_OTLP_PROTOCOL,
	// else http/protobuf.
	Protocol string `yaml:"protocol"`
	// Insecure sends plaintext to a host:port endpoint. False: TLS, unless
	// OTEL_EXPORTER_OTLP_INSECURE or an http:// endpoint says otherwise.
	Insecure bool `yaml:"insecure"`
	// Headers are sent with every export request, e.g. an API key. Empty:
	// OTEL_EXPORTER_OTLP_HEADERS.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one export request, retries included. Zero:
	// OTEL_EXPORTER_OTLP_TIMEOUT, else 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Compression is gzip or none. Empty: OTEL_EXPORTER_OTLP_COMPRESSION, else none.
	Compression string `yaml:"compression"`
	// Signals lists what to send: traces, metrics, logs. Empty: all three.
	Signals []string `yaml:"signals"`
}

// Jaeger is a shorthand for OTLP to a Jaeger collector, which speaks OTLP
// natively: plaintext unless the endpoint is an https:// URL.
type Jaeger struct {
	// Enabled turns the exporter on; nothing else does.
	Enabled bool `yaml:"enabled"`
	// Endpoint is host:port of Jaeger's OTLP receiver (gRPC 4317, HTTP 4318)
	// or a URL. Empty: localhost:4317 (grpc) or localhost:4318 (http/protobuf).
	Endpoint string `yaml:"endpoint"`
	// Protocol is grpc (default) or http/protobuf.
	Protocol string `yaml:"protocol"`
	// Timeout bounds one export request, retries included. Zero: 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Signals lists what to send: traces, metrics, logs. Empty: traces
	// only, since a stock Jaeger (no config of its own) accepts only traces.
	Signals []string `yaml:"signals"`
}

// Stdout configures the pretty-printing exporter.
type Stdout struct {
	// Enabled turns it on. Its output goes to stderr, never stdout.
	Enabled bool `yaml:"enabled"`
}

// Prometheus configures the scrape endpoint.
type Prometheus struct {
	// Enabled turns the endpoint on; nothing else does.
	Enabled bool `yaml:"enabled"`
	// Listen is the host:port serving /metrics. Empty: 127.0.0.1:9464.
	Listen string `yaml:"listen"`
}

// withDefaults returns a copy of c with the exporters' empty keys replaced
// by defaults; the batch and metric settings are resolved by settings,
// since the environment decides those first.
func (c Config) withDefaults() Config {
	if c.Jaeger.Protocol == "" {
		c.Jaeger.Protocol = ProtocolGRPC
	}
	if c.Jaeger.Endpoint == "" {
		c.Jaeger.Endpoint = "localhost:4317"
		if c.Jaeger.Protocol == ProtocolHTTPProtobuf {
			c.Jaeger.Endpoint = "localhost:4318"
		}
	}
	if len(c.Jaeger.Signals) == 0 {
		c.Jaeger.Signals = []string{SignalTraces}
	}
	if c.Prometheus.Listen == "" {
		c.Prometheus.Listen = DefaultPrometheusListen
	}
	return c
}

// Enabled reports whether any exporter is on.
func (c *Config) Enabled() bool {
	return c.OTLP.Enabled || c.Jaeger.Enabled || c.Stdout.Enabled || c.Prometheus.Enabled
}

// Warnings names what is configured on an exporter that is off: an
// endpoint or listen address set without `enabled: true`, which would
// otherwise export nothing without a word. New writes them to stderr.
func (c *Config) Warnings() []string {
	var out []string
	off := func(exporter string, keys ...string) {
		if len(keys) == 0 {
			return
		}
		for i, k := range keys {
			keys[i] = "exporters." + exporter + "." + k
		}
		verb := "is"
		if len(keys) > 1 {
			verb = "are"
		}
		out = append(out, fmt.Sprintf("%s %s set but exporters.%s.enabled is false: the %s exporter is off (add enabled: true to turn it on)",
			strings.Join(keys, ", "), verb, exporter, exporter))
	}
	if !c.OTLP.Enabled {
		var set []string
		for _, k := range []struct {
			key string
			set bool
		}{
			{"endpoint", c.OTLP.Endpoint != ""}, {"protocol", c.OTLP.Protocol != ""},
			{"insecure", c.OTLP.Insecure}, {"headers", len(c.OTLP.Headers) > 0},
			{"timeout", c.OTLP.Timeout != 0}, {"compression", c.OTLP.Compression != ""},
		} {
			if k.set {
				set = append(set, k.key)
			}
		}
		off("otlp", set...)
	}
	if !c.Jaeger.Enabled && c.Jaeger.Endpoint != "" {
		off("jaeger", "endpoint")
	}
	if !c.Prometheus.Enabled && c.Prometheus.Listen != "" {
		off("prometheus", "listen")
	}
	return out
}

// Validate reports every invalid value, naming its key (exporters.…), in
// the order of the keys.
func (c *Config) Validate() error {
	var errs []error
	fail := func(key string, err error) { errs = append(errs, fmt.Errorf("exporters.%s: %w", key, err)) }

	if c.QueueSize < 0 {
		fail("queue_size", fmt.Errorf("must not be negative, not %d", c.QueueSize))
	}
	if c.BatchSize < 0 {
		fail("batch_size", fmt.Errorf("must not be negative, not %d", c.BatchSize))
	}
	if c.BatchSize > 0 && c.QueueSize > 0 && c.BatchSize > c.QueueSize {
		fail("batch_size", fmt.Errorf("must not exceed queue_size (%d), not %d", c.QueueSize, c.BatchSize))
	}
	for _, d := range []struct {
		key string
		d   time.Duration
	}{
		{"batch_delay", c.BatchDelay}, {"metric_interval", c.MetricInterval},
		{"otlp.timeout", c.OTLP.Timeout}, {"jaeger.timeout", c.Jaeger.Timeout},
	} {
		if d.d < 0 {
			fail(d.key, fmt.Errorf("must not be negative, not %s", d.d))
		}
	}

	if c.OTLP.Endpoint != "" {
		if err := checkEndpoint(c.OTLP.Endpoint); err != nil {
			fail("otlp.endpoint", err)
		}
	}
	if err := checkProtocol(c.OTLP.Protocol); err != nil {
		fail("otlp.protocol", err)
	}
	for _, k := range slices.Sorted(maps.Keys(c.OTLP.Headers)) {
		if strings.TrimSpace(k) == "" {
			fail("otlp.headers", errors.New("a header name must not be empty"))
		}
	}
	switch c.OTLP.Compression {
	case "", "none", "gzip":
	default:
		fail("otlp.compression", fmt.Errorf("must be gzip or none, not %q", c.OTLP.Compression))
	}
	if err := checkSignals(c.OTLP.Signals); err != nil {
		fail("otlp.signals", err)
	}

	if c.Jaeger.Endpoint != "" {
		if err := checkEndpoint(c.Jaeger.Endpoint); err != nil {
			fail("jaeger.endpoint", err)
		}
	}
	if err := checkProtocol(c.Jaeger.Protocol); err != nil {
		fail("jaeger.protocol", err)
	}
	if err := checkSignals(c.Jaeger.Signals); err != nil {
		fail("jaeger.signals", err)
	}

	if c.Prometheus.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Prometheus.Listen); err != nil {
			fail("prometheus.listen", fmt.Errorf("must be host:port, not %q", c.Prometheus.Listen))
		}
	}
	return errors.Join(errs...)
}

// Signal names, as Signals lists them.
const (
	SignalTraces  = "traces"
	SignalMetrics = "metrics"
	SignalLogs    = "logs"
)

// checkSignals accepts distinct signal names.
func checkSignals(signals []string) error {
	seen := map[string]bool{}
	for _, s := range signals {
		switch s {
		case SignalTraces, SignalMetrics, SignalLogs:
		default:
			return fmt.Errorf("must list traces, metrics or logs, not %q", s)
		}
		if seen[s] {
			return fmt.Errorf("lists %q twice", s)
		}
		seen[s] = true
	}
	return nil
}

// sends reports whether signals (empty: all) includes signal.
func sends(signals []string, signal string) bool {
	return len(signals) == 0 || slices.Contains(signals, signal)
}

// checkProtocol accepts a protocol name, or empty for the default.
func checkProtocol(p string) error {
	switch p {
	case "", ProtocolGRPC, ProtocolHTTPProtobuf:
		return nil
	}
	return fmt.Errorf("must be %s or %s, not %q", ProtocolGRPC, ProtocolHTTPProtobuf, p)
}

// checkEndpoint accepts host:port or an http(s) URL with a host.
func checkEndpoint(e string) error {
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil {
			return fmt.Errorf("not a URL: %v", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("URL scheme must be http or https, not %q", u.Scheme)
		}
		if u.Host == "" {
			return fmt.Errorf("URL %q has no host", e)
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(e); err != nil {
		return fmt.Errorf("must be host:port or a URL, not %q", e)
	}
	return nil
}
