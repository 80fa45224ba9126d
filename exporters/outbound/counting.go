package outbound

import (
	"context"
	"sync/atomic"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The SDK's batch processors drop silently when their queue is full and do
// not expose how many they dropped. These thin wrappers count what goes in
// (accepted by the processor) and what comes out (exported OK, or lost in a
// failed export); the difference is what was dropped from a full queue or
// is still waiting.

// Stat is what one exporter did with one signal.
type Stat struct {
	// Exporter is the exporter's config key: otlp, jaeger or stdout.
	Exporter string `json:"exporter"`
	// Signal is traces, metrics or logs.
	Signal string `json:"signal"`
	// Accepted counts spans and log records handed to the export queue, or
	// metric data points handed to the exporter.
	Accepted int64 `json:"accepted"`
	// Exported counts items the endpoint accepted.
	Exported int64 `json:"exported"`
	// Failed counts items in export requests that failed (unreachable,
	// timed out, rejected); they are not sent again.
	Failed int64 `json:"failed"`
	// Dropped is Accepted - Exported: every item not delivered. While
	// running it includes items still queued; at exit they are lost.
	Dropped int64 `json:"dropped"`
}

// Queued returns the items neither exported nor failed: dropped from a full
// queue, or still waiting (at exit: never sent before the deadline).
func (s Stat) Queued() int64 { return s.Dropped - s.Failed }

// counter is one exporter's tally for one signal; safe for concurrent use.
// It also names the errors of the exports it counts (see exportError).
type counter struct {
	exporter, signal string
	timeout          time.Duration // the bound on one export, for error hints
	accepted         atomic.Int64
	exported         atomic.Int64
	failed           atomic.Int64
}

func newCounter(exporter, signal string, timeout time.Duration) *counter {
	return &counter{exporter: exporter, signal: signal, timeout: timeout}
}

func (c *counter) stat() Stat {
	// Read the outputs first: an item counted out is then always counted in.
	exported, failed := c.exported.Load(), c.failed.Load()
	accepted := c.accepted.Load()
	return Stat{
		Exporter: c.exporter, Signal: c.signal,
		Accepted: accepted, Exported: exported, Failed: failed,
		Dropped: accepted - exported,
	}
}

// done counts an export of n items and returns its error named after the
// exporter and signal, which is what the SDK then reports (ErrorHandler).
func (c *counter) done(n int, err error) error {
	if err != nil {
		c.failed.Add(int64(n))
		return c.wrap(err)
	}
	c.exported.Add(int64(n))
	return nil
}

// wrap names err after the exporter and signal; nil stays nil.
func (c *counter) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &exportError{exporter: c.exporter, signal: c.signal, timeout: c.timeout, err: err}
}

type countingSpanProcessor struct {
	sdktrace.SpanProcessor
	c *counter
}

func (p countingSpanProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() { // the batch processor ignores the others
		p.c.accepted.Add(1)
	}
	p.SpanProcessor.OnEnd(s)
}

type countingSpanExporter struct {
	sdktrace.SpanExporter
	c *counter
}

func (e countingSpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	return e.c.done(len(spans), e.SpanExporter.ExportSpans(ctx, spans))
}

type countingLogProcessor struct {
	sdklog.Processor
	c *counter
}

func (p countingLogProcessor) OnEmit(ctx context.Context, r *sdklog.Record) error {
	p.c.accepted.Add(1)
	return p.Processor.OnEmit(ctx, r)
}

type countingLogExporter struct {
	sdklog.Exporter
	c *counter
}

func (e countingLogExporter) Export(ctx context.Context, records []sdklog.Record) error {
	if len(records) == 0 { // ForceFlush and Shutdown export the empty queue
		return e.c.wrap(e.Exporter.Export(ctx, records))
	}
	return e.c.done(len(records), e.Exporter.Export(ctx, records))
}

type countingMetricExporter struct {
	sdkmetric.Exporter
	c *counter
}

func (e countingMetricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	n := dataPoints(rm)
	e.c.accepted.Add(int64(n))
	return e.c.done(n, e.Exporter.Export(ctx, rm))
}

// dataPoints counts the points of every metric in rm.
func dataPoints(rm *metricdata.ResourceMetrics) int {
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				n += len(d.DataPoints)
			case metricdata.Sum[float64]:
				n += len(d.DataPoints)
			case metricdata.Gauge[int64]:
				n += len(d.DataPoints)
			case metricdata.Gauge[float64]:
				n += len(d.DataPoints)
			case metricdata.Histogram[int64]:
				n += len(d.DataPoints)
			case metricdata.Histogram[float64]:
				n += len(d.DataPoints)
			case metricdata.ExponentialHistogram[int64]:
				n += len(d.DataPoints)
			case metricdata.ExponentialHistogram[float64]:
				n += len(d.DataPoints)
			case metricdata.Summary:
				n += len(d.DataPoints)
			default:
				n++
			}
		}
	}
	return n
}

var (
	_ sdktrace.SpanProcessor = countingSpanProcessor{}
	_ sdktrace.SpanExporter  = countingSpanExporter{}
	_ sdklog.Processor       = countingLogProcessor{}
	_ sdklog.Exporter        = countingLogExporter{}
	_ sdkmetric.Exporter     = countingMetricExporter{}
)
