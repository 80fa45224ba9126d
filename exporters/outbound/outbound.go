package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Set is the outbound exporters built from a Config: processors and readers
// to register with the SDK providers, and the counters behind Stats.
//
// The caller owns the processors and readers: it registers them and shuts
// them down (their Shutdown flushes what is queued, bounded by its context).
// Set.Shutdown then stops what Set runs itself, the Prometheus server.
// Stats and Report are safe to call concurrently with exports.
type Set struct {
	spanProcessors []sdktrace.SpanProcessor
	logProcessors  []sdklog.Processor
	readers        []sdkmetric.Reader
	// metricExporters are the readers' exporters, for ExportMetrics.
	metricExporters []countingMetricExporter
	counters        []*counter
	prometheus      *promServer
}

// Option configures New.
type Option func(*options)

type options struct {
	stderr io.Writer
	getenv func(string) string
}

// WithStderr sets where the stdout exporter and New's warnings are written
// (default os.Stderr).
func WithStderr(w io.Writer) Option { return func(o *options) { o.stderr = w } }

// WithGetenv replaces os.Getenv for the variables New reads itself:
// OTEL_EXPORTER_OTLP_PROTOCOL and OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_BSP_*,
// OTEL_BLRP_* and OTEL_METRIC_EXPORT_*. The OTLP exporters read the other
// OTEL_EXPORTER_OTLP_* variables from the process environment themselves.
func WithGetenv(f func(string) string) Option { return func(o *options) { o.getenv = f } }

// New builds the exporters cfg turns on. It opens no connection (OTLP
// exporters connect on first export) except the Prometheus listener, so an
// unreachable endpoint is not an error here. cfg must be valid.
//
// New writes a warning line to stderr (WithStderr) for each of
// cfg.Warnings and for each OTEL_BSP_*, OTEL_BLRP_* or OTEL_METRIC_EXPORT_*
// variable it ignores as invalid.
func New(ctx context.Context, cfg Config, opts ...Option) (*Set, error) {
	o := options{stderr: os.Stderr, getenv: os.Getenv}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	warnings := cfg.Warnings()
	cfg = cfg.withDefaults()
	var st settings
	if cfg.OTLP.Enabled || cfg.Jaeger.Enabled || cfg.Stdout.Enabled { // Prometheus is scraped: no batches
		var envWarnings []string
		st, envWarnings = cfg.settings(o.getenv)
		warnings = append(warnings, envWarnings...)
	}
	for _, w := range warnings {
		fmt.Fprintf(o.stderr, "meshobs: warning: %s\n", w)
	}
	s := &Set{}
	var err error
	if cfg.OTLP.Enabled {
		t := cfg.OTLP.target(o.getenv)
		err = s.addOTLP(ctx, "otlp", st, t, st.timeouts(t.timeout, otlpEnvTimeout(o.getenv)))
	}
	if err == nil && cfg.Jaeger.Enabled {
		t := cfg.Jaeger.target()
		err = s.addOTLP(ctx, "jaeger", st, t, st.timeouts(t.timeout, otlpEnvTimeout(o.getenv)))
	}
	if err == nil && cfg.Stdout.Enabled {
		err = s.addStdout(st, o.stderr)
	}
	if err == nil && cfg.Prometheus.Enabled {
		s.prometheus, err = newPromServer(cfg.Prometheus.Listen)
		if err == nil {
			s.readers = append(s.readers, s.prometheus.reader)
		}
	}
	if err != nil {
		// Nothing was exported yet: an immediate shutdown loses nothing.
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return nil, errors.Join(err, s.shutdownAll(sctx))
	}
	return s, nil
}

// addOTLP adds span, log and metric exporters (those of t.signals) for one
// OTLP destination.
func (s *Set) addOTLP(ctx context.Context, name string, st settings, t otlpTarget, to exportTimeouts) error {
	if sends(t.signals, SignalTraces) {
		e, err := t.spanExporter(ctx)
		if err != nil {
			return fmt.Errorf("outbound: %s traces: %w", name, err)
		}
		s.addSpanExporter(name, st.spans, to.spans, e)
	}
	if sends(t.signals, SignalLogs) {
		e, err := t.logExporter(ctx)
		if err != nil {
			return fmt.Errorf("outbound: %s logs: %w", name, err)
		}
		s.addLogExporter(name, st.logs, to.logs, e)
	}
	if sends(t.signals, SignalMetrics) {
		e, err := t.metricExporter(ctx)
		if err != nil {
			return fmt.Errorf("outbound: %s metrics: %w", name, err)
		}
		s.addMetricExporter(name, st.metricInterval, to.metrics, e)
	}
	return nil
}

func (s *Set) addStdout(st settings, w io.Writer) error {
	to := st.timeouts(0, DefaultTimeout)
	se, err := stdouttrace.New(stdouttrace.WithWriter(w), stdouttrace.WithPrettyPrint())
	if err != nil {
		return fmt.Errorf("outbound: stdout traces: %w", err)
	}
	s.addSpanExporter("stdout", st.spans, to.spans, se)
	le, err := stdoutlog.New(stdoutlog.WithWriter(w), stdoutlog.WithPrettyPrint())
	if err != nil {
		return fmt.Errorf("outbound: stdout logs: %w", err)
	}
	s.addLogExporter("stdout", st.logs, to.logs, le)
	me, err := stdoutmetric.New(stdoutmetric.WithWriter(w), stdoutmetric.WithPrettyPrint())
	if err != nil {
		return fmt.Errorf("outbound: stdout metrics: %w", err)
	}
	s.addMetricExporter("stdout", st.metricInterval, to.metrics, me)
	return nil
}

// Spans go through a batch processor that drops (never blocks) when its
// queue is full; each export is bounded by timeout.
func (s *Set) addSpanExporter(name string, b batching, timeout time.Duration, e sdktrace.SpanExporter) {
	c := newCounter(name, SignalTraces, timeout)
	s.counters = append(s.counters, c)
	bsp := sdktrace.NewBatchSpanProcessor(countingSpanExporter{e, c},
		sdktrace.WithMaxQueueSize(b.queueSize),
		sdktrace.WithMaxExportBatchSize(b.batchSize),
		sdktrace.WithBatchTimeout(b.delay),
		sdktrace.WithExportTimeout(timeout))
	s.spanProcessors = append(s.spanProcessors, countingSpanProcessor{bsp, c})
}

// Log records go through a batch processor whose full queue drops the
// oldest records; OnEmit never blocks.
func (s *Set) addLogExporter(name string, b batching, timeout time.Duration, e sdklog.Exporter) {
	c := newCounter(name, SignalLogs, timeout)
	s.counters = append(s.counters, c)
	blp := sdklog.NewBatchProcessor(countingLogExporter{e, c},
		sdklog.WithMaxQueueSize(b.queueSize),
		sdklog.WithExportMaxBatchSize(b.batchSize),
		sdklog.WithExportInterval(b.delay),
		sdklog.WithExportTimeout(timeout))
	s.logProcessors = append(s.logProcessors, countingLogProcessor{blp, c})
}

// Metrics are cumulative sums and histograms kept by the SDK, so a failed
// push loses no count: the next one carries it. A reader collects and
// exports on its own goroutine, one export at a time.
func (s *Set) addMetricExporter(name string, interval, timeout time.Duration, e sdkmetric.Exporter) {
	c := newCounter(name, SignalMetrics, timeout)
	s.counters = append(s.counters, c)
	s.metricExporters = append(s.metricExporters, countingMetricExporter{e, c})
	s.readers = append(s.readers, sdkmetric.NewPeriodicReader(countingMetricExporter{e, c},
		sdkmetric.WithInterval(interval),
		sdkmetric.WithTimeout(timeout)))
}

// ExportMetrics sends metric data that did not come from the SDK's own
// meter provider (metrics received over OTLP) to every metric exporter
// that pushes (otlp, jaeger, stdout; Prometheus is scraped from the SDK
// only), counted like the rest, each bounded by its exporter's timeout.
func (s *Set) ExportMetrics(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	var errs []error
	for _, e := range s.metricExporters {
		ectx, cancel := context.WithTimeout(ctx, e.c.timeout)
		errs = append(errs, e.Export(ectx, rm))
		cancel()
	}
	return errors.Join(errs...)
}

// SpanProcessors returns the processors to register with every TracerProvider.
func (s *Set) SpanProcessors() []sdktrace.SpanProcessor {
	return append([]sdktrace.SpanProcessor(nil), s.spanProcessors...)
}

// LogProcessors returns the processors to register with every LoggerProvider.
func (s *Set) LogProcessors() []sdklog.Processor {
	return append([]sdklog.Processor(nil), s.logProcessors...)
}

// MetricReaders returns the readers to register with the MeterProvider.
func (s *Set) MetricReaders() []sdkmetric.Reader {
	return append([]sdkmetric.Reader(nil), s.readers...)
}

// PrometheusAddr returns the address the Prometheus endpoint listens on
// (useful with port 0), or "" when it is off.
func (s *Set) PrometheusAddr() string {
	if s.prometheus == nil {
		return ""
	}
	return s.prometheus.addr()
}

// Stats returns each exporter's counts per signal, in config order
// (otlp, jaeger, stdout; traces, logs, metrics). Empty when none is on.
func (s *Set) Stats() []Stat {
	out := make([]Stat, len(s.counters))
	for i, c := range s.counters {
		out[i] = c.stat()
	}
	return out
}

// Shutdown stops the Prometheus server, bounded by ctx. Call it after the
// providers holding the processors and readers have been shut down.
func (s *Set) Shutdown(ctx context.Context) error {
	if s.prometheus == nil {
		return nil
	}
	return s.prometheus.shutdown(ctx)
}

// shutdownAll stops everything, for a Set that was never handed out.
func (s *Set) shutdownAll(ctx context.Context) error {
	var errs []error
	for _, p := range s.spanProcessors {
		errs = append(errs, p.Shutdown(ctx))
	}
	for _, p := range s.logProcessors {
		errs = append(errs, p.Shutdown(ctx))
	}
	for _, r := range s.readers {
		if s.prometheus != nil && r == s.prometheus.reader {
			continue
		}
		errs = append(errs, r.Shutdown(ctx))
	}
	errs = append(errs, s.Shutdown(ctx))
	return errors.Join(errs...)
}
