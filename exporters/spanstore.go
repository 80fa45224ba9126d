package exporters

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var (
	_ sdktrace.SpanProcessor = (*SpanStore)(nil)
	_ sdktrace.SpanExporter  = (*SpanStore)(nil)
)

// Span is the store's copy of one ended span.
type Span struct {
	// TraceID is the span's trace.
	TraceID trace.TraceID
	// SpanID is the span's own id.
	SpanID trace.SpanID
	// Parent is the parent span's id; zero for a root span.
	Parent trace.SpanID
	// Service is the span's resource service.name.
	Service string
	// Scope is the name of the instrumentation scope that made the span.
	Scope string
	// Name is the operation.
	Name string
	// Kind is the span kind (server, client, ...).
	Kind trace.SpanKind
	// Start and End are when the span started and ended.
	Start, End time.Time
	// Status is the span status code.
	Status codes.Code
	// StatusDescription is the status message.
	StatusDescription string
	// Attributes is the store's own copy of the span attributes.
	Attributes []attribute.KeyValue
}

// Duration returns how long the span lasted.
func (s *Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// SpanObserver is told of every span a SpanStore ingests, in ingest order,
// with the span's parent when the store holds it (nil otherwise). It is
// called while the store holds its lock: it must not call back into the
// store, nor keep the pointers, nor modify what they point to. The parent's
// Attributes may be nil: the store does not copy them out for observers.
type SpanObserver interface {
	ObserveSpan(span, parent *Span)
}

type spanKey struct {
	trace trace.TraceID
	span  trace.SpanID
}

type traceIndex struct {
	seqs []uint64 // ring sequence numbers of the trace's spans, in ingest order
	root uint64   // sequence number of the root span, 0 when not held
}

// SpanStore captures ended spans from the OTel Trace SDK.
//
// Register it as a span processor (synchronous, cheapest) with
// sdktrace.WithSpanProcessor(store), or as an exporter behind
// sdktrace.WithSyncer or a batch processor. The newest spans are kept in a
// ring of fixed capacity, indexed by trace id and span id.
type SpanStore struct {
	mu       sync.Mutex
	spans    *ring[Span]
	bySpan   map[spanKey]uint64
	byTrace  map[trace.TraceID]*traceIndex
	names    serviceNames
	observer SpanObserver
}

// SpanStoreOption configures a SpanStore.
type SpanStoreOption func(*SpanStore)

// WithSpanCapacity sets how many of the newest spans are kept (default DefaultRetention).
func WithSpanCapacity(n int) SpanStoreOption {
	return func(s *SpanStore) { s.spans = newRing[Span](n) }
}

// WithSpanObserver registers o to be told of every ingested span.
func WithSpanObserver(o SpanObserver) SpanStoreOption {
	return func(s *SpanStore) { s.observer = o }
}

// NewSpanStore returns an empty SpanStore.
func NewSpanStore(opts ...SpanStoreOption) *SpanStore {
	s := &SpanStore{
		bySpan:  make(map[spanKey]uint64),
		byTrace: make(map[trace.TraceID]*traceIndex),
		names:   serviceNames{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.spans == nil {
		s.spans = newRing[Span](DefaultRetention)
	}
	// Sized up front for twice a full ring: under constant insert/delete
	// churn a map sized for its live entries keeps growing (measured: the
	// span index tripled between 1M and 5M benchmark messages), while one
	// with this headroom stays put (peak RSS 124, 126, 127 MiB at 1M, 5M, 10M).
	n := cap(s.spans.buf)
	s.bySpan = make(map[spanKey]uint64, 2*n)
	s.byTrace = make(map[trace.TraceID]*traceIndex, 2*n)
	return s
}

// OnStart does nothing: only ended spans are stored.
func (s *SpanStore) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd ingests one ended span synchronously; the SDK calls it from span.End.
func (s *SpanStore) OnEnd(span sdktrace.ReadOnlySpan) {
	s.mu.Lock()
	s.ingest(span)
	s.mu.Unlock()
}

// ExportSpans ingests a batch of spans; the store does not keep the slice.
func (s *SpanStore) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range spans {
		s.ingest(sp)
	}
	return nil
}

// Shutdown does nothing: the captured data stays readable.
func (s *SpanStore) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: ingestion is synchronous.
func (s *SpanStore) ForceFlush(context.Context) error { return nil }

// ingest must be called with s.mu held.
func (s *SpanStore) ingest(ro sdktrace.ReadOnlySpan) {
	sc := ro.SpanContext()
	st := ro.Status()
	sp := Span{
		TraceID:           sc.TraceID(),
		SpanID:            sc.SpanID(),
		Parent:            ro.Parent().SpanID(),
		Service:           s.names.of(ro.Resource()),
		Scope:             ro.InstrumentationScope().Name,
		Name:              ro.Name(),
		Kind:              ro.SpanKind(),
		Start:             ro.StartTime(),
		End:               ro.EndTime(),
		Status:            st.Code,
		StatusDescription: st.Description,
	}
	if attrs := ro.Attributes(); len(attrs) > 0 {
		sp.Attributes = slices.Clone(attrs)
	}
	seq, old, evicted := s.spans.push(sp)
	if evicted {
		s.forget(&old, seq-uint64(cap(s.spans.buf)))
	}
	s.bySpan[spanKey{sp.TraceID, sp.SpanID}] = seq
	ti := s.byTrace[sp.TraceID]
	if ti == nil {
		ti = &traceIndex{}
		s.byTrace[sp.TraceID] = ti
	}
	ti.seqs = append(ti.seqs, seq)
	if !ro.Parent().IsValid() && ti.root == 0 {
		ti.root = seq
	}
	if s.observer != nil {
		var parent *Span
		if sp.Parent.IsValid() {
			if p, ok := s.lookup(sp.TraceID, sp.Parent); ok {
				parent = p
			}
		}
		held, _ := s.spans.get(seq) // the ring's copy: &sp would escape
		s.observer.ObserveSpan(held, parent)
	}
}

// forget drops the indexes of the evicted span old, whose sequence number was seq.
func (s *SpanStore) forget(old *Span, seq uint64) {
	k := spanKey{old.TraceID, old.SpanID}
	if s.bySpan[k] == seq {
		// A later span with the same ids (a re-export) keeps its own entry.
		delete(s.bySpan, k)
	}
	ti := s.byTrace[old.TraceID]
	if ti == nil {
		return
	}
	// Spans leave the ring oldest first, so the evicted one heads its trace's list.
	if i := slices.Index(ti.seqs, seq); i >= 0 {
		ti.seqs = slices.Delete(ti.seqs, i, i+1)
	}
	if ti.root == seq {
		ti.root = 0
	}
	if len(ti.seqs) == 0 {
		delete(s.byTrace, old.TraceID)
	}
}

func (s *SpanStore) lookup(t trace.TraceID, id trace.SpanID) (*Span, bool) {
	seq, ok := s.bySpan[spanKey{t, id}]
	if !ok {
		return nil, false
	}
	return s.spans.get(seq)
}

// Trace returns copies of the held spans of trace id, ordered by start time,
// and false when the store holds none of them.
func (s *SpanStore) Trace(id trace.TraceID) ([]Span, bool) {
	s.mu.Lock()
	ti := s.byTrace[id]
	if ti == nil {
		s.mu.Unlock()
		return nil, false
	}
	out := make([]Span, 0, len(ti.seqs))
	for _, seq := range ti.seqs {
		if sp, ok := s.spans.get(seq); ok {
			c := *sp
			c.Attributes = slices.Clone(sp.Attributes)
			out = append(out, c)
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out, true
}

// Span returns a copy of one held span.
func (s *SpanStore) Span(t trace.TraceID, id trace.SpanID) (Span, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp, ok := s.lookup(t, id)
	if !ok {
		return Span{}, false
	}
	c := *sp
	c.Attributes = slices.Clone(sp.Attributes)
	return c, true
}

// Root returns the id and service of the held root span of trace t.
func (s *SpanStore) Root(t trace.TraceID) (id trace.SpanID, service string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ti := s.byTrace[t]
	if ti == nil || ti.root == 0 {
		return trace.SpanID{}, "", false
	}
	sp, ok := s.spans.get(ti.root)
	if !ok {
		return trace.SpanID{}, "", false
	}
	return sp.SpanID, sp.Service, true
}

// Len returns the number of spans currently held.
func (s *SpanStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans.len()
}
