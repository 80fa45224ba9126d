package outbound

import (
	"errors"
	"fmt"
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

// Defaults for the zero values of Config.
const (
	DefaultQueueSize      = 2048
	DefaultBatchSize      = 512
	DefaultBatchDelay     = time.Second
	DefaultMetricInterval = 10 * time.Second
	DefaultTimeout        = 10 * time.Second
)

// Config is the `exporters:` section of the configuration file. Its zero
// value exports nothing; zero numbers and durations mean the defaults above.
type Config struct {
	// QueueSize is how many spans, and how many log records, may wait for
	// export per exporter. Beyond it new spans and the oldest log records
	// are dropped and counted: a slow endpoint never slows replies.
	QueueSize int `yaml:"queue_size"`
	// BatchSize is the most spans or log records sent in one export request.
	BatchSize int `yaml:"batch_size"`
	// BatchDelay is the longest an item waits for its batch to fill.
	BatchDelay time.Duration `yaml:"batch_delay"`
	// MetricInterval is how often metrics are collected and pushed by the
	// otlp, jaeger and stdout exporters (Prometheus is scraped instead).
	MetricInterval time.Duration `yaml:"metric_interval"`

	// OTLP sends all three signals to any OTLP endpoint.
	OTLP OTLP `yaml:"otlp"`
	// Jaeger sends all three signals to a Jaeger's OTLP receiver.
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
	// Enabled turns the exporter on.
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
	// Endpoint is host:port of Jaeger's OTLP receiver (gRPC 4317, HTTP 4318)
	// or a URL; empty turns the exporter off.
	Endpoint string `yaml:"endpoint"`
	// Protocol is grpc (default) or http/protobuf.
	Protocol string `yaml:"protocol"`
	// Timeout bounds one export request, retries included. Zero: 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Signals lists what to send: traces, metrics, logs. Empty: all three.
	// A stock Jaeger (no config of its own) accepts only traces.
	Signals []string `yaml:"signals"`
}

// Stdout configures the pretty-printing exporter.
type Stdout struct {
	// Enabled turns it on. Its output goes to stderr, never stdout.
	Enabled bool `yaml:"enabled"`
}

// Prometheus configures the scrape endpoint.
type Prometheus struct {
	// Listen is the host:port serving /metrics; empty turns it off.
	Listen string `yaml:"listen"`
}

// withDefaults returns a copy of c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.BatchSize == 0 {
		c.BatchSize = min(DefaultBatchSize, c.QueueSize)
	}
	if c.BatchDelay == 0 {
		c.BatchDelay = DefaultBatchDelay
	}
	if c.MetricInterval == 0 {
		c.MetricInterval = DefaultMetricInterval
	}
	if c.Jaeger.Protocol == "" {
		c.Jaeger.Protocol = ProtocolGRPC
	}
	return c
}

// Enabled reports whether any exporter is on.
func (c *Config) Enabled() bool {
	return c.OTLP.Enabled || c.Jaeger.Endpoint != "" || c.Stdout.Enabled || c.Prometheus.Listen != ""
}

// Validate reports every invalid value, naming its key (exporters.…).
func (c *Config) Validate() error {
	var errs []error
	fail := func(key string, err error) { errs = append(errs, fmt.Errorf("exporters.%s: %w", key, err)) }

	if c.QueueSize < 0 {
		fail("queue_size", fmt.Errorf("must not be negative, not %d", c.QueueSize))
	}
	if c.BatchSize < 0 {
		fail("batch_size", fmt.Errorf("must not be negative, not %d", c.BatchSize))
	}
	if d := c.withDefaults(); c.BatchSize > 0 && c.BatchSize > d.QueueSize {
		fail("batch_size", fmt.Errorf("must not exceed queue_size (%d), not %d", d.QueueSize, c.BatchSize))
	}
	for key, d := range map[string]time.Duration{
		"batch_delay": c.BatchDelay, "metric_interval": c.MetricInterval,
		"otlp.timeout": c.OTLP.Timeout, "jaeger.timeout": c.Jaeger.Timeout,
	} {
		if d < 0 {
			fail(key, fmt.Errorf("must not be negative, not %s", d))
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
	for k := range c.OTLP.Headers {
		if strings.TrimSpace(k) == "" {
			fail("otlp.headers", errors.New("a header name must not be empty"))
		}
	}
	switch c.OTLP.Compression {
	case "", "none", "gzip":
	default:
		fail("otlp.compression", fmt.Errorf("must be gzip or none, not %q", c.OTLP.Compression))
	}

	if c.Jaeger.Endpoint != "" {
		if err := checkEndpoint(c.Jaeger.Endpoint); err != nil {
			fail("jaeger.endpoint", err)
		}
	}
	if err := checkProtocol(c.Jaeger.Protocol); err != nil {
		fail("jaeger.protocol", err)
	}

	for key, sig := range map[string][]string{"otlp.signals": c.OTLP.Signals, "jaeger.signals": c.Jaeger.Signals} {
		if err := checkSignals(sig); err != nil {
			fail(key, err)
		}
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
