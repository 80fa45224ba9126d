package telemetry

import (
	"context"

	"github.com/meshobs/meshobs/semconv"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/graph"
)

// DefaultService is the service of spans that name none, unless configured.
const DefaultService = "meshobs"

// OverflowService stands for every service name beyond the service limit.
const OverflowService = semconv.OverflowService

// Default limits: generous for a real mesh, small enough that a flood of
// distinct names cannot exhaust memory.
const (
	DefaultMaxServices = 10_000
	DefaultMaxEdges    = 100_000
	DefaultMaxSeries   = 100_000
)

type config struct {
	now            func() time.Time
	defaultService string
	logRetention   int
	spanRetention  int
	base           *resource.Resource
	spanProcessors []sdktrace.SpanProcessor
	logProcessors  []sdklog.Processor
	metricReaders  []sdkmetric.Reader
	maxServices    int
	maxEdges       int
	maxSeries      int
	spanGraph      []graph.SpanBuilderOption
	receivedGraph  []graph.SpanBuilderOption
	exportStats    func() []outbound.Stat
	forwardMetrics func(context.Context, *metricdata.ResourceMetrics) error
	logError       func(error)
	receiverStats  func() []ReceiverStat
}

func newConfig(opts []Option) config {
	c := config{
		defaultService: DefaultService,
		logRetention:   100_000,
		spanRetention:  100_000,
		maxServices:    DefaultMaxServices,
		maxEdges:       DefaultMaxEdges,
		maxSeries:      DefaultMaxSeries,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.logError == nil {
		c.logError = func(error) {}
	}
	if c.base == nil {
		c.base = resource.Empty()
	}
	return c
}

// Option configures a Pipeline.
type Option func(*config)

// WithClock sets the clock used for timestamps and rate windows (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// clock is the configured clock: time.Now unless WithClock set one.
func (c *config) clock() func() time.Time {
	if c.now == nil {
		return time.Now
	}
	return c.now
}

// WithDefaultService names the service of spans that name none.
func WithDefaultService(name string) Option {
	return func(c *config) {
		if name != "" {
			c.defaultService = name
		}
	}
}

// WithRetention sets how many access-log entries and spans the in-memory stores keep.
func WithRetention(logs, spans int) Option {
	return func(c *config) { c.logRetention, c.spanRetention = logs, spans }
}

// WithResource sets the resource every provider starts from; each service's
// providers add their own service.name to it.
func WithResource(r *resource.Resource) Option { return func(c *config) { c.base = r } }

// WithSpanProcessor adds an outbound span processor shared by every service's TracerProvider.
// The pipeline shuts it down once, in Shutdown.
func WithSpanProcessor(p sdktrace.SpanProcessor) Option {
	return func(c *config) { c.spanProcessors = append(c.spanProcessors, p) }
}

// WithLogProcessor adds an outbound log processor shared by every service's LoggerProvider.
// The pipeline shuts it down once, in Shutdown.
func WithLogProcessor(p sdklog.Processor) Option {
	return func(c *config) { c.logProcessors = append(c.logProcessors, p) }
}

// WithMetricReader adds an outbound metric reader (periodic OTLP, Prometheus).
func WithMetricReader(r sdkmetric.Reader) Option {
	return func(c *config) { c.metricReaders = append(c.metricReaders, r) }
}

// WithLimits caps the distinct service names (beyond: OverflowService), the
// graph and access-log edges (beyond: folded into one overflow edge) and the
// metric series (beyond: the SDK's overflow series). Values < 1 keep the default.
func WithLimits(services, edges, series int) Option {
	return func(c *config) {
		if services > 0 {
			c.maxServices = services
		}
		if edges > 0 {
			c.maxEdges = edges
		}
		if series > 0 {
			c.maxSeries = series
		}
	}
}

// StdioSpanGraph are the span-graph rules of a Pipeline unless WithSpanGraph
// changes them: Jaeger's rule alone (a span whose parent belongs to another
// service is one call parent -> child), as docs/protocol.md specifies for the
// stdio node, so a root span invents no user edge and a client span no
// virtual node.
var StdioSpanGraph = []graph.SpanBuilderOption{
	graph.WithParentChild(true),
	graph.WithClientServer(false),
	graph.WithMessaging(false),
	graph.WithVirtualNodes(false),
	graph.WithUserNode(false),
}

// WithSpanGraph adds span-graph rules over StdioSpanGraph, for instance
// graph.WithUserNode(true) and graph.WithVirtualNodes(true) to build the
// graph as the servicegraph connector does.
func WithSpanGraph(opts ...graph.SpanBuilderOption) Option {
	return func(c *config) { c.spanGraph = append(c.spanGraph, opts...) }
}

// WithExportStats makes stats replies carry the outbound exporters' counts,
// as f returns them (e.g. (*outbound.Set).Stats), in an "exports" field
// present when f returns any.
func WithExportStats(f func() []outbound.Stat) Option {
	return func(c *config) { c.exportStats = f }
}

// WithReceiverStats makes stats replies carry the receivers' counts, as f
// returns them, in a "receivers" field present when f returns any.
func WithReceiverStats(f func() []ReceiverStat) Option {
	return func(c *config) { c.receiverStats = f }
}

// ReceivedSpanGraph are the span-graph rules of spans received over OTLP
// (ConsumeTraces) unless WithReceivedSpanGraph changes them: Jaeger's rule
// and the servicegraph connector's (client/server pairs counted once,
// messaging, virtual nodes for databases and uninstrumented peers), without
// the user node. Spans a meshobs stdio node made (scope semconv.ScopeName)
// keep the stdio rules wherever they are received, so that a node receiving
// another node's export draws the same graph.
var ReceivedSpanGraph = []graph.SpanBuilderOption{
	graph.WithParentChild(true),
	graph.WithClientServer(true),
	graph.WithMessaging(true),
	graph.WithVirtualNodes(true),
	graph.WithUserNode(false),
}

// WithReceivedSpanGraph adds span-graph rules over ReceivedSpanGraph for
// spans received over OTLP.
func WithReceivedSpanGraph(opts ...graph.SpanBuilderOption) Option {
	return func(c *config) { c.receivedGraph = append(c.receivedGraph, opts...) }
}

// WithMetricForwarder sends the metrics ConsumeMetrics receives to f,
// e.g. (*outbound.Set).ExportMetrics: the outbound exporters.
func WithMetricForwarder(f func(context.Context, *metricdata.ResourceMetrics) error) Option {
	return func(c *config) { c.forwardMetrics = f }
}

// WithErrorLog sets where the pipeline reports failures that belong to no
// request, e.g. a metric forward that failed (default: dropped).
func WithErrorLog(f func(error)) Option { return func(c *config) { c.logError = f } }
