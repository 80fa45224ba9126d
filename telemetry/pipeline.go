package telemetry

import (
	"context"
	"errors"
	"fmt"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"math"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/semconv"
)

// Pipeline turns validated requests into OpenTelemetry SDK calls. Every
// service gets its own TracerProvider and LoggerProvider (resource
// service.name = the service), created on first use and sharing one set of
// processors; metrics go through one MeterProvider whose points carry the
// service as an attribute, since a metric reader can serve only one provider.
//
// A Pipeline is safe for concurrent use.
type Pipeline struct {
	cfg config

	// The stores are the read side's (Query): what the SDK emitted,
	// captured. The graph holds every aggregate (service tallies, edges);
	// the log and span stores the newest individual entries.
	logs      *exporters.LogStore     // every access log the SDK emits
	spans     *exporters.SpanStore    // every span the SDK ends
	metrics   *exporters.MetricReader // the SDK's aggregated metrics
	graph     *graph.Graph            // fed by logs and, through spanGraph, spans
	spanGraph spanRouter              // turns the spans of spans into calls on graph

	ids            *idGenerator
	meterProvider  *sdkmetric.MeterProvider
	requests       metric.Int64ObservableCounter // reports the series' tallies
	duration       metric.Float64Histogram
	spanProcessors []sdktrace.SpanProcessor // registered with every TracerProvider
	logProcessors  []sdklog.Processor       // registered with every LoggerProvider

	mu          sync.Mutex
	services    map[string]*serviceProviders
	names       map[string]*admitted // admitted service names
	recentNames recentNames
	overflow    *admitted // what names past the service limit count as
	series      map[seriesKey]*seriesOptions
	tallies     tallies
	values      interner // operations
	closed      bool

	forward  forwarders     // providers re-emitting received logs unchanged
	received receivedShared // what received data shares across requests
}

type serviceProviders struct {
	tracerProvider *sdktrace.TracerProvider
	tracer         trace.Tracer
	loggerProvider *sdklog.LoggerProvider
	logger         otellog.Logger
	// storeLogger emits to the log store only: the access logs recognised
	// in received records, whose originals are what gets exported.
	storeProvider *sdklog.LoggerProvider
	storeLogger   otellog.Logger
}

// seriesOptions are the measurement options of one metric series, built
// once: the attribute set as the histogram's Record takes it, and the
// series' count of requests.
//
// The requests counter is observable, like the service-graph counters
// (see counted): counting a request is an atomic add, where a synchronous
// SDK counter costs as much as a histogram record, and a callback reports
// every tally at each collection: the same cumulative sums.
type seriesOptions struct {
	record []metric.RecordOption
	tally  *counted
}

// tallies are the requests counter's series, in the order they appeared,
// the overflow's among them once there is one.
type tallies struct {
	mu       sync.Mutex // guards list; taken with Pipeline.mu held or alone, never the other way
	list     []*counted
	overflow *counted // the series past the limit count as one, as the SDK folds them
}

func (t *tallies) add(c *counted) {
	t.mu.Lock()
	t.list = append(t.list, c)
	t.mu.Unlock()
}

// observe reports every tally: the requests counter's callback.
func (t *tallies) observe(_ context.Context, o metric.Int64Observer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.list {
		o.Observe(c.calls.Load(), c.observe...)
	}
	return nil
}

// admitted is a service name the pipeline knows, with a small id so that
// series keys hash as integers, and its providers once built.
type admitted struct {
	name      string
	id        uint32
	providers *serviceProviders
	series    seriesCache // the series this service reported lately
}

// seriesCache is a small cache, per service, of the series in
// Pipeline.series: a request's series is mostly one its service reported
// before, and a look here costs less than hashing a seriesKey. It is
// two-way set associative: a series may sit in either slot of its pair,
// the one used last first.
type seriesCache [32]seriesSlot

// seriesSlot is one cached series of a service: o is nil while empty.
type seriesSlot struct {
	source, target uint32
	status         int
	o              *seriesOptions
}

// lookup returns the cached options of a series of the service, or nil.
func (c *seriesCache) lookup(source, target uint32, status int) *seriesOptions {
	pair := c.pair(source, target, status)
	for i := range pair {
		if e := pair[i]; e.o != nil && e.source == source && e.target == target && e.status == status {
			if i == 1 {
				pair[0], pair[1] = e, pair[0]
			}
			return e.o
		}
	}
	return nil
}

// add caches the options of a series, evicting the one of its pair used least lately.
func (c *seriesCache) add(source, target uint32, status int, o *seriesOptions) {
	pair := c.pair(source, target, status)
	pair[1] = pair[0]
	pair[0] = seriesSlot{source: source, target: target, status: status, o: o}
}

func (c *seriesCache) pair(source, target uint32, status int) *[2]seriesSlot {
	h := (source*0x9e3779b1 ^ target*0x85ebca6b ^ uint32(status)*0xc2b2ae35) * 0x27d4eb2f
	i := (h >> 28) * 2
	return (*[2]seriesSlot)(c[i : i+2])
}

// seriesKey identifies a metric series by admitted-name ids (0: no edge).
type seriesKey struct {
	service, source, target uint32
	status                  int
}

// ErrShutdown is returned for requests that arrive after Shutdown.
var ErrShutdown = errors.New("telemetry: pipeline is shut down")

// New builds a Pipeline with its in-memory stores.
func New(opts ...Option) (*Pipeline, error) {
	cfg := newConfig(opts)
	p := &Pipeline{
		cfg:      cfg,
		metrics:  exporters.NewMetricReader(),
		ids:      newIDGenerator(),
		services: make(map[string]*serviceProviders),
		names:    make(map[string]*admitted),
		overflow: &admitted{name: OverflowService, id: math.MaxUint32},
		series:   make(map[seriesKey]*seriesOptions),
		values:   newInterner(2*cfg.maxServices, maxInternedBytes),
	}
	graphMetrics, spanMetrics := newTraceMetrics(cfg.maxSeries)
	p.graph = graph.New(graph.WithMaxEdges(cfg.maxEdges), graph.WithCallObserver(graphMetrics))
	p.logs = exporters.NewLogStore(exporters.WithLogCapacity(cfg.logRetention), exporters.WithAccessLogObserver(p.graph))
	clock := graph.WithBuilderClock(cfg.now) // nil: the real clock
	p.spanGraph = spanRouter{
		graph:    p.graph,
		stdio:    graph.NewSpanBuilder(p.graph, slices.Concat([]graph.SpanBuilderOption{clock}, StdioSpanGraph, cfg.spanGraph)...),
		received: graph.NewSpanBuilder(p.graph, slices.Concat([]graph.SpanBuilderOption{clock}, ReceivedSpanGraph, cfg.receivedGraph)...),
		now:      cfg.clock(),
	}
	p.spans = exporters.NewSpanStore(exporters.WithSpanCapacity(cfg.spanRetention), exporters.WithSpanObserver(spanObservers{p.spanGraph, spanMetrics}))

	p.spanProcessors = []sdktrace.SpanProcessor{sharedSpanProcessor{p.spans}}
	for _, sp := range cfg.spanProcessors {
		p.spanProcessors = append(p.spanProcessors, sharedSpanProcessor{sp})
	}
	p.logProcessors = []sdklog.Processor{sharedLogProcessor{p.logs}}
	for _, lp := range cfg.logProcessors {
		p.logProcessors = append(p.logProcessors, sharedLogProcessor{lp})
	}

	res, err := p.resource(cfg.defaultService)
	if err != nil {
		return nil, err
	}
	mopts := []sdkmetric.Option{
		sdkmetric.WithResource(res),
		sdkmetric.WithReader(p.metrics),
		sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter),
		sdkmetric.WithCardinalityLimit(cfg.maxSeries),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Name: semconv.RequestDurationName},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: exporters.ExpHistogramMaxSize, MaxScale: exporters.ExpHistogramMaxScale}},
		)),
	}
	mopts = append(mopts, traceMetricViews()...)
	for _, r := range cfg.metricReaders {
		mopts = append(mopts, sdkmetric.WithReader(r))
	}
	p.meterProvider = sdkmetric.NewMeterProvider(mopts...)
	meter := p.meterProvider.Meter(semconv.ScopeName)
	if p.requests, err = meter.Int64ObservableCounter(semconv.RequestsName,
		metric.WithUnit(semconv.RequestsUnit),
		metric.WithDescription("Requests reported by sidecars."),
		metric.WithInt64Callback(p.tallies.observe)); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	if p.duration, err = meter.Float64Histogram(semconv.RequestDurationName,
		metric.WithUnit(semconv.RequestDurationUnit),
		metric.WithDescription("Duration of requests reported by sidecars.")); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	if err := initTraceMetrics(meter, graphMetrics, spanMetrics); err != nil {
		return nil, err
	}
	return p, nil
}

// DefaultService returns the service of spans that name none.
func (p *Pipeline) DefaultService() string { return p.cfg.defaultService }

func (p *Pipeline) resource(service string) (*resource.Resource, error) {
	r, err := resource.Merge(p.cfg.base, resource.NewSchemaless(otelsemconv.ServiceNameKey.String(service)))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource for %q: %w", service, err)
	}
	return r, nil
}

// admitLocked returns the pipeline's own copy of a service name, or
// OverflowService once MaxServices names are known: memory stays bounded
// however many distinct names arrive. It must be called with p.mu held.
func (p *Pipeline) admitLocked(name string) *admitted {
	c := &p.recentNames[nameSlot(name)]
	if a := *c; a != nil && a.name == name {
		return a
	}
	if a, ok := p.names[name]; ok {
		*c = a
		return a
	}
	if len(p.names) >= p.cfg.maxServices {
		return p.overflow
	}
	a := &admitted{name: strings.Clone(name), id: uint32(len(p.names)) + 1}
	p.names[a.name] = a
	*c = a
	return a
}

// recentNames is a direct-mapped cache of admitted names in front of
// Pipeline.names: comparing one name costs less than hashing it for the map.
type recentNames [256]*admitted

// nameSlot returns the slot of a name in recentNames: a hash of its length
// and its first, middle and last bytes, which tell a mesh's names apart.
func nameSlot(name string) uint32 {
	h := uint32(len(name))
	if len(name) > 0 {
		h = (h*31+uint32(name[0]))*31 + uint32(name[len(name)/2])
		h = h*31 + uint32(name[len(name)-1])
	}
	return (h * 0x9e3779b1) >> 24
}

// admitOrSame is admitLocked(name), saving the lookup when name is the
// request's service, admitted as svc. It must be called with p.mu held.
func (p *Pipeline) admitOrSame(name, service string, svc *admitted) *admitted {
	if name == service {
		return svc
	}
	return p.admitLocked(name)
}

// maxInternedBytes bounds the values an interner shares.
const maxInternedBytes = 256

// interner hands out shared copies of repeated values (span names), so
// that retained spans do not each keep their own, or pin the decoder's
// input buffer. Past max values, or for longer values, it just copies. It
// is not safe for concurrent use: the pipeline's are used with p.mu held.
//
// An access log's method, path and protocol are not interned: the log
// store copies them into its text arena, and nothing else keeps them.
type interner struct {
	m           map[string]string
	max, maxLen int
}

func newInterner(max, maxLen int) interner {
	return interner{m: make(map[string]string), max: max, maxLen: maxLen}
}

func (in *interner) intern(v string) string {
	if v == "" {
		return ""
	}
	if c, ok := in.m[v]; ok {
		return c
	}
	c := strings.Clone(v)
	if len(in.m) < in.max && len(c) <= in.maxLen {
		in.m[c] = c
	}
	return c
}

// providers returns the providers of an admitted service, creating them on
// first use. It must be called with p.mu held.
func (p *Pipeline) providersLocked(a *admitted) (*serviceProviders, error) {
	if a.providers != nil {
		return a.providers, nil
	}
	// A client may name a service "meshobs.overflow" itself: it shares the
	// overflow's providers, found by name.
	service := a.name
	if sp := p.services[service]; sp != nil {
		a.providers = sp
		return sp, nil
	}
	res, err := p.resource(service)
	if err != nil {
		return nil, err
	}
	topts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(p.ids),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
	}
	for _, sp := range p.spanProcessors {
		topts = append(topts, sdktrace.WithSpanProcessor(sp))
	}
	// Access-log attribute keys are unique by construction: skip the SDK's
	// per-attribute duplicate-key search, a third of the cost of an Emit.
	lopts := []sdklog.LoggerProviderOption{sdklog.WithResource(res), sdklog.WithAllowKeyDuplication()}
	for _, lp := range p.logProcessors {
		lopts = append(lopts, sdklog.WithProcessor(lp))
	}
	sp := &serviceProviders{
		tracerProvider: sdktrace.NewTracerProvider(topts...),
		loggerProvider: sdklog.NewLoggerProvider(lopts...),
		storeProvider: sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithAllowKeyDuplication(),
			sdklog.WithProcessor(sharedLogProcessor{p.logs})),
	}
	sp.tracer = sp.tracerProvider.Tracer(semconv.ScopeName)
	sp.logger = sp.loggerProvider.Logger(semconv.ScopeName)
	sp.storeLogger = sp.storeProvider.Logger(semconv.ScopeName)
	p.services[service] = sp
	a.providers = sp
	return sp, nil
}

// measurementLocked returns the reusable measurement options of one metric
// series. The SDK keeps maxSeries-1 series of an instrument and folds the
// rest into one overflow series; so the first maxSeries-1 series, in the
// order they appear, get their own tally, and later ones share the
// overflow's (their histogram measurements carry their own attributes,
// which the SDK folds). Only series with their own tally are cached. It
// must be called with p.mu held.
func (p *Pipeline) measurementLocked(service, source, target *admitted, status int) *seriesOptions {
	k := seriesKey{service: service.id, status: status}
	if source != nil {
		k.source, k.target = source.id, target.id
	}
	if o := service.series.lookup(k.source, k.target, status); o != nil {
		return o
	}
	if o, ok := p.series[k]; ok {
		service.series.add(k.source, k.target, status, o)
		return o
	}
	kvs := make([]attribute.KeyValue, 0, 4)
	kvs = append(kvs, semconv.Service.String(service.name))
	if source != nil {
		kvs = append(kvs, semconv.Source.String(source.name), semconv.Target.String(target.name))
	}
	kvs = append(kvs, otelsemconv.HTTPResponseStatusCodeKey.Int(status))
	if len(p.series) < max(p.cfg.maxSeries-1, 1) {
		tc := newCounted(kvs...)
		o := &seriesOptions{record: tc.record, tally: tc}
		p.tallies.add(tc)
		p.series[k] = o
		service.series.add(k.source, k.target, status, o)
		return o
	}
	if p.tallies.overflow == nil {
		p.tallies.overflow = newCounted(overflowAttribute)
		p.tallies.add(p.tallies.overflow)
	}
	return &seriesOptions{
		record: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kvs...))},
		tally:  p.tallies.overflow,
	}
}

// Record reports one request: a Counter increment, a Histogram measurement
// and an access-log record. It returns the number of requests service has
// reported so far, as captured by the log store.
//
// Service, source and target names beyond the service limit are counted as
// OverflowService; the returned count is then the overflow's.
func (p *Pipeline) Record(ctx context.Context, r *Request) (int64, error) {
	return p.record(ctx, r, true)
}

// record is Record; exported says whether its access-log record goes to
// the outbound exporters too, or to the log store only.
func (p *Pipeline) record(ctx context.Context, r *Request, exported bool) (int64, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, ErrShutdown
	}
	svc := p.admitLocked(r.Service)
	sp, err := p.providersLocked(svc)
	if err != nil {
		p.mu.Unlock()
		return 0, err
	}
	service := svc.name
	var src, tgt *admitted
	source, target, _ := r.Edge()
	if source != "" {
		src, tgt = p.admitOrSame(source, r.Service, svc), p.admitOrSame(target, r.Service, svc)
		source, target = src.name, tgt.name
	}
	m := p.measurementLocked(svc, src, tgt, r.Status)
	p.mu.Unlock()
	method, path, protocol := r.Method, r.Path, r.Protocol

	m.tally.calls.Add(1)
	p.duration.Record(ctx, r.DurationMs, m.record...)

	now := p.cfg.clock()()
	ts := r.Timestamp
	if ts.IsZero() {
		ts = now
	}
	var rec otellog.Record
	rec.SetEventName(semconv.AccessLogEventName)
	rec.SetTimestamp(ts)
	rec.SetObservedTimestamp(now)
	rec.SetSeverity(otellog.SeverityInfo)
	rec.SetSeverityText("INFO")
	var attrs [8]attribute.KeyValue // one AddAttributes call, no heap slice
	kvs := attrs[:0]
	if source != "" {
		kvs = append(kvs, semconv.Source.String(source), semconv.Target.String(target))
		if side := reportingSide(r); side != exporters.SideOf(service, source, target) {
			kvs = append(kvs, semconv.Side.String(side.String()))
		}
	}
	kvs = append(kvs, otelsemconv.HTTPResponseStatusCodeKey.Int(r.Status), semconv.DurationMs.Float64(r.DurationMs))
	if method != "" {
		kvs = append(kvs, otelsemconv.HTTPRequestMethodKey.String(method))
	}
	if path != "" {
		kvs = append(kvs, otelsemconv.URLPathKey.String(path))
	}
	if protocol != "" {
		kvs = append(kvs, otelsemconv.NetworkProtocolNameKey.String(protocol))
	}
	rec.AddAttributes(kvs...)
	lctx := ctx
	if r.TraceID.IsValid() {
		lctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: r.TraceID, SpanID: r.SpanID, TraceFlags: trace.FlagsSampled, Remote: true,
		}))
	}
	if exported {
		sp.logger.Emit(lctx, rec)
	} else {
		sp.storeLogger.Emit(lctx, rec)
	}
	return p.graph.Logged(service), nil
}

// StartSpan records one span that ended now and started r.Duration ago,
// and returns its span context.
func (p *Pipeline) StartSpan(ctx context.Context, r *SpanRequest) (trace.SpanContext, error) {
	service := r.Service
	if service == "" {
		service = p.cfg.defaultService
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return trace.SpanContext{}, ErrShutdown
	}
	svc := p.admitLocked(service)
	sp, err := p.providersLocked(svc)
	operation := p.values.intern(r.Operation)
	p.mu.Unlock()
	if err != nil {
		return trace.SpanContext{}, err
	}
	if r.TraceID.IsValid() {
		parent := r.ParentSpanID
		if !parent.IsValid() {
			parent, _, _ = p.spans.Root(r.TraceID)
		}
		if parent.IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: r.TraceID, SpanID: parent, TraceFlags: trace.FlagsSampled, Remote: true,
			}))
		} else {
			ctx = withTraceID(ctx, r.TraceID)
		}
	}
	kind := r.Kind
	if kind == trace.SpanKindUnspecified {
		kind = trace.SpanKindServer
	}
	now := p.cfg.clock()()
	attrs := r.Attributes
	if r.Status != 0 {
		attrs = append(attrs[:len(attrs):len(attrs)], otelsemconv.HTTPResponseStatusCodeKey.Int(r.Status))
	}
	opts := [3]trace.SpanStartOption{spanKindOptions[kind], trace.WithTimestamp(now.Add(-r.Duration))}
	n := 2
	if len(attrs) > 0 {
		opts[n] = trace.WithAttributes(attrs...)
		n++
	}
	_, span := sp.tracer.Start(ctx, operation, opts[:n]...)
	if r.Status >= 500 {
		span.SetStatus(codes.Error, fmt.Sprintf("HTTP %d", r.Status))
	}
	span.End(trace.WithTimestamp(now))
	return span.SpanContext(), nil
}

// spanKindOptions are the span start options of each span kind, built once.
var spanKindOptions = func() (o [trace.SpanKindConsumer + 1]trace.SpanStartOption) {
	for k := range o {
		o[k] = trace.WithSpanKind(trace.SpanKind(k))
	}
	return o
}()

// ForceFlush flushes every provider and outbound processor.
func (p *Pipeline) ForceFlush(ctx context.Context) error {
	p.mu.Lock()
	services := make([]*serviceProviders, 0, len(p.services))
	for _, sp := range p.services {
		services = append(services, sp)
	}
	p.mu.Unlock()
	var errs []error
	for _, sp := range services {
		errs = append(errs, sp.tracerProvider.ForceFlush(ctx), sp.loggerProvider.ForceFlush(ctx))
	}
	for _, sp := range p.cfg.spanProcessors { // received spans bypass the providers
		errs = append(errs, sp.ForceFlush(ctx))
	}
	for _, lp := range p.cfg.logProcessors {
		errs = append(errs, lp.ForceFlush(ctx))
	}
	errs = append(errs, p.meterProvider.ForceFlush(ctx))
	return errors.Join(errs...)
}

// Shutdown flushes and stops every provider and outbound exporter, bounded
// by ctx. The in-memory stores stay readable.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	services := p.services
	p.mu.Unlock()

	// The providers only stop admitting data (their processors are shared
	// and shut down below); then the outbound exporters flush side by side,
	// so a slow metrics endpoint cannot use up the deadline of spans and logs.
	var errs []error
	for _, sp := range services {
		errs = append(errs, sp.tracerProvider.Shutdown(ctx), sp.loggerProvider.Shutdown(ctx), sp.storeProvider.Shutdown(ctx))
	}
	flushes := []func(context.Context) error{p.meterProvider.Shutdown}
	for _, sp := range p.cfg.spanProcessors {
		flushes = append(flushes, sp.Shutdown)
	}
	for _, lp := range p.cfg.logProcessors {
		flushes = append(flushes, lp.Shutdown)
	}
	results := make([]error, len(flushes))
	var wg sync.WaitGroup
	for i, f := range flushes {
		wg.Go(func() { results[i] = f(ctx) })
	}
	wg.Wait()
	return errors.Join(append(errs, results...)...)
}
