package meshobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/meshobs/meshobs/api"
	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/node"
	"github.com/meshobs/meshobs/otlptrace"
	"github.com/meshobs/meshobs/receiver"
	"github.com/meshobs/meshobs/telemetry"
)

// Instance is one meshobs built from a Config: the SDK pipeline with its
// stores and graph rules (the write side), its query layer (the read side),
// the outbound exporters, and the front doors: the stdio node, and the
// network ones the Config turns on.
//
// Build it with New, run a front door, then Shutdown.
type Instance struct {
	cfg       Config
	stderr    io.Writer
	log       *slog.Logger
	pipeline  *telemetry.Pipeline
	out       *outbound.Set
	receivers *receiver.Receivers       // nil when none is configured
	api       *api.Server               // nil when not configured
	node      atomic.Pointer[node.Node] // the stdio node, once Node made it
}

// Option configures New.
type Option func(*options)

type options struct {
	stderr    io.Writer
	getenv    func(string) string
	telemetry []telemetry.Option
}

// WithStderr sets where diagnostics go (default os.Stderr).
func WithStderr(w io.Writer) Option { return func(o *options) { o.stderr = w } }

// WithGetenv replaces os.Getenv for the OTEL_* variables New reads.
func WithGetenv(f func(string) string) Option { return func(o *options) { o.getenv = f } }

// WithTelemetry adds pipeline options after those New derives from the
// Config, e.g. telemetry.WithClock in tests.
func WithTelemetry(opts ...telemetry.Option) Option {
	return func(o *options) { o.telemetry = append(o.telemetry, opts...) }
}

// New builds everything cfg describes. It starts no network front door
// (see Start) and opens no connection, except the Prometheus exporter's
// listener. cfg must be valid (LoadConfig and DefaultConfig validate).
func New(cfg Config, opts ...Option) (*Instance, error) {
	o := options{stderr: os.Stderr, getenv: os.Getenv}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	in := &Instance{cfg: cfg, stderr: o.stderr, log: slog.New(slog.NewTextHandler(o.stderr, nil))}

	ctx := context.Background()
	// Each service's providers add their own service.name over this base.
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil { // a malformed OTEL_RESOURCE_ATTRIBUTES: keep what parsed
		fmt.Fprintf(o.stderr, "meshobs: resource: %v\n", err)
	}
	if in.out, err = outbound.New(ctx, cfg.Exporters, outbound.WithStderr(o.stderr), outbound.WithGetenv(o.getenv)); err != nil {
		return nil, err
	}
	if cfg.Exporters.Enabled() {
		// One line per failed batch for as long as an endpoint is down
		// would drown stderr; the exit report has the counts.
		otel.SetErrorHandler(outbound.NewErrorHandler(o.stderr, 5))
	}

	topts := []telemetry.Option{
		telemetry.WithDefaultService(cmpOr(o.getenv("OTEL_SERVICE_NAME"), cfg.DefaultService)),
		telemetry.WithRetention(cfg.Retention.AccessLogs, cfg.Retention.Spans),
		telemetry.WithLimits(cfg.Limits.MaxServices, cfg.Limits.MaxEdges, cfg.Limits.MaxMetricSeries),
		telemetry.WithSpanGraph(
			graph.WithClientServer(cfg.Graph.ClientServer),
			graph.WithMessaging(cfg.Graph.Messaging),
			graph.WithVirtualNodes(cfg.Graph.VirtualNodes),
			graph.WithUserNode(cfg.Graph.UserNode)),
		telemetry.WithReceivedSpanGraph(
			graph.WithClientServer(cfg.Graph.Received.ClientServer),
			graph.WithMessaging(cfg.Graph.Received.Messaging),
			graph.WithVirtualNodes(cfg.Graph.Received.VirtualNodes),
			graph.WithUserNode(cfg.Graph.Received.UserNode)),
		telemetry.WithExportStats(in.out.Stats),
		telemetry.WithReceiverStats(in.receiverStats),
		telemetry.WithMetricForwarder(in.out.ExportMetrics),
		telemetry.WithErrorLog(func(err error) { in.log.Warn(err.Error()) }),
	}
	if res != nil {
		topts = append(topts, telemetry.WithResource(res))
	}
	for _, sp := range in.out.SpanProcessors() {
		topts = append(topts, telemetry.WithSpanProcessor(sp))
	}
	for _, lp := range in.out.LogProcessors() {
		topts = append(topts, telemetry.WithLogProcessor(lp))
	}
	for _, r := range in.out.MetricReaders() {
		topts = append(topts, telemetry.WithMetricReader(r))
	}
	if in.pipeline, err = telemetry.New(append(topts, o.telemetry...)...); err != nil {
		return nil, errors.Join(err, in.out.Shutdown(ctx))
	}
	if cfg.Receivers.Enabled() {
		if in.receivers, err = receiver.New(cfg.Receivers, consumer{in.pipeline}, receiver.WithLogger(in.log)); err != nil {
			return nil, errors.Join(err, in.pipeline.Shutdown(ctx), in.out.Shutdown(ctx))
		}
	}
	if cfg.API.Enabled() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(api.NewSelfCollector(api.Sources{
			Replies:   in.replies,
			Receivers: in.receiverStats,
			Exports:   in.out.Stats,
			Retained:  in.pipeline.Query().Retained,
		}))
		in.api, err = api.New(cfg.API, in.pipeline.Query(), api.WithLogger(in.log), api.WithMetrics(reg),
			api.WithReady(in.ready))
		if err != nil {
			return nil, errors.Join(err, in.pipeline.Shutdown(ctx), in.out.Shutdown(ctx))
		}
	}
	return in, nil
}

// replies are the stdio node's reply and rejected-line counts, for /metrics.
func (in *Instance) replies() (replies, rejected int64) {
	if n := in.node.Load(); n != nil {
		return n.Counts()
	}
	return 0, 0
}

// ready reports whether the receivers, if any, are listening (/readyz).
func (in *Instance) ready() bool { return in.receivers == nil || in.receivers.Ready() }

// receiverStats are the receivers' counts for stats replies.
func (in *Instance) receiverStats() []telemetry.ReceiverStat {
	if in.receivers == nil {
		return nil
	}
	stats := in.receivers.Stats()
	out := make([]telemetry.ReceiverStat, len(stats))
	for i, s := range stats {
		out[i] = telemetry.ReceiverStat(s)
	}
	return out
}

// consumer hands what the receivers decode to the pipeline.
type consumer struct{ p *telemetry.Pipeline }

var (
	_ receiver.TraceRequestConsumer = consumer{}
	_ receiver.StringRetainer       = consumer{}
)

func (c consumer) ConsumeTraceRequest(ctx context.Context, req *otlptrace.Request) (receiver.Outcome, error) {
	o, err := c.p.ConsumeTraceRequest(ctx, req)
	return receiver.Outcome(o), unavailable(err)
}

// RetainsStrings: see receiver.StringRetainer.
func (c consumer) RetainsStrings() bool { return c.p.RetainsReceivedStrings() }

func (c consumer) ConsumeTraces(ctx context.Context, td ptrace.Traces) (receiver.Outcome, error) {
	o, err := c.p.ConsumeTraces(ctx, td)
	return receiver.Outcome(o), unavailable(err)
}

func (c consumer) ConsumeLogs(ctx context.Context, ld plog.Logs) (receiver.Outcome, error) {
	o, err := c.p.ConsumeLogs(ctx, ld)
	return receiver.Outcome(o), unavailable(err)
}

func (c consumer) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) (receiver.Outcome, error) {
	o, err := c.p.ConsumeMetrics(ctx, md)
	return receiver.Outcome(o), unavailable(err)
}

// unavailable makes a pipeline that is shutting down a retryable refusal.
func unavailable(err error) error {
	if errors.Is(err, telemetry.ErrShutdown) {
		return fmt.Errorf("%w: %w", receiver.ErrUnavailable, err)
	}
	return err
}

// ServeDefaults returns cfg as `meshobs serve` runs it: the OTLP receivers
// on 127.0.0.1:4317 (gRPC) and 127.0.0.1:4318 (HTTP), and the HTTP API and
// web UI on 127.0.0.1:4319, each unless cfg configures it itself.
func ServeDefaults(cfg Config) Config {
	if !cfg.Receivers.Enabled() {
		cfg.Receivers = receiver.ServeDefaults()
	}
	if !cfg.API.Enabled() {
		cfg.API.Endpoint = api.DefaultEndpoint
	}
	return cfg
}

// cmpOr returns the first non-empty string (cmp.Or for two).
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Config returns the configuration the instance was built from.
func (in *Instance) Config() Config { return in.cfg }

// Pipeline returns the write side: the SDK pipeline every front door feeds.
func (in *Instance) Pipeline() *telemetry.Pipeline { return in.pipeline }

// Query returns the read side every front door answers from.
func (in *Instance) Query() *telemetry.Query { return in.pipeline.Query() }

// Exporters returns the outbound exporters.
func (in *Instance) Exporters() *outbound.Set { return in.out }

// Node returns the stdio node on the instance's pipeline, made on first use.
func (in *Instance) Node(opts ...node.Option) *node.Node {
	if n := in.node.Load(); n != nil {
		return n
	}
	n := node.New(in.pipeline, append([]node.Option{
		node.WithMaxLineBytes(in.cfg.MaxLineBytes), node.WithLogger(in.log)}, opts...)...)
	if !in.node.CompareAndSwap(nil, n) {
		return in.node.Load()
	}
	return n
}

// API returns the HTTP API server, nil when none is configured.
func (in *Instance) API() *api.Server { return in.api }

// Receivers returns the OTLP receivers, nil when none is configured.
func (in *Instance) Receivers() *receiver.Receivers { return in.receivers }

// Start starts the network front doors the Config turns on. It returns
// once they listen, or with the first that could not.
func (in *Instance) Start(ctx context.Context) error {
	if in.receivers != nil {
		if err := in.receivers.Start(ctx); err != nil {
			return err
		}
		a := in.receivers.Addrs()
		in.log.Info("receiving OTLP", "grpc", a.GRPC, "http", a.HTTP)
	}
	if in.api != nil {
		if err := in.api.Start(ctx); err != nil {
			return err
		}
		in.log.Info("serving the HTTP API and web UI", "url", "http://"+in.api.Addr()+"/")
	}
	return nil
}

// Shutdown stops the front doors (they refuse new requests and finish
// those in flight), then flushes and stops the pipeline and the outbound
// exporters, all within ctx, and writes the exporters' report on stderr.
// The stores stay readable.
func (in *Instance) Shutdown(ctx context.Context) error {
	var errs []error
	if in.receivers != nil {
		errs = append(errs, in.receivers.Shutdown(ctx))
	}
	if in.api != nil {
		errs = append(errs, in.api.Shutdown(ctx))
	}
	errs = append(errs, in.pipeline.Shutdown(ctx), in.out.Shutdown(ctx))
	in.out.Report(in.stderr)
	return errors.Join(errs...)
}

// ShutdownTimeout returns a context bounded by the Config's shutdown_timeout.
func (in *Instance) ShutdownTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), in.cfg.ShutdownTimeout)
}
