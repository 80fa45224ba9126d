package exporters

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
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
	// Start and End are when the span started and ended. The store's
	// copies have them to the nanosecond, in the local time zone, without a
	// monotonic clock reading.
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
// store, nor keep the pointers or the span's Attributes slice (the
// ingested span's own, valid during the call only), nor modify what they
// point to. It may keep strings, but those of the ingested span may share
// memory with more (a received request's buffer): it should clone what it
// keeps for long. The parent's Attributes may be nil: the store does not
// decode them for observers.
type SpanObserver interface {
	ObserveSpan(span, parent *Span)
}

// spanRecord is the store's copy of one span, without a pointer: the
// garbage collector does not scan the ring of them. Its name, status
// description and encoded attributes (appendAttributes) follow each other
// in the store's byte log from pos; its service and scope are numbers in
// the store's string table.
type spanRecord struct {
	traceID        trace.TraceID
	spanID, parent trace.SpanID
	start, end     int64 // unix nanoseconds, or zeroTime
	// prev is the sequence number of the span of the same trace ingested
	// before it (0: none), so that the newest span of a trace, which the
	// trace index finds, leads to all of them.
	prev uint64
	// root is the sequence number of the trace's root span, when it was
	// held as this span was ingested (0: none). The newest span's is the
	// trace's.
	root uint64
	pos  uint64
	kind trace.SpanKind
	// ordinal is the span's place in its trace's chain (0: the first).
	// The spans of a trace are entered in the span index once it has
	// smallTrace spans; until then a walk along the chain finds them.
	ordinal        uint32
	status         codes.Code
	nameLen        uint32
	descLen        uint32
	attrLen        uint32
	service, scope uint32
}

// size is the number of bytes of r in the log.
func (r *spanRecord) size() int { return int(r.nameLen) + int(r.descLen) + int(r.attrLen) }

// zeroTime stands for the zero time.Time, whose UnixNano is undefined.
const zeroTime = math.MinInt64

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return zeroTime
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// smallTrace is the number of spans up to which a trace's spans are
// found by walking along its chain rather than through the span index:
// most traces are smaller, and their spans were ingested together (their
// records are in the cache), while an entry in the span index costs a
// cache miss to make and one to find.
const smallTrace = 32

// minTail is the room at the log's tail under which a span's bytes are
// encoded aside and copied: past it, one may outgrow the room, and be
// copied then, but few do.
const minTail = 4 << 10

// maxResourceNames bounds the resources whose service name a store
// remembers: an application has one, a receiver a bounded cache of them,
// but nothing stops a caller from making a resource per span.
const maxResourceNames = 1024

// SpanStore captures ended spans from the OTel Trace SDK.
//
// Register it as a span processor (synchronous, cheapest) with
// sdktrace.WithSpanProcessor(store), or as an exporter behind
// sdktrace.WithSyncer or a batch processor. The newest spans are kept in a
// ring of fixed capacity, indexed by trace id and span id.
//
// A span is held as a record without pointers, its name and attributes
// encoded in a log of bytes, and the indexes hold no pointers either: the
// spans held cost the garbage collector nothing to scan. The getters
// decode what they return.
type SpanStore struct {
	mu      sync.Mutex
	spans   *ring[spanRecord]
	log     byteLog
	seed    hashSeed
	bySpan  seqIndex // by trace id and span id
	byTrace seqIndex // by trace id, to the trace's newest span
	// lastSlot is the byTrace slot the last indexed span went to: spans of
	// a trace often arrive one after another, and the next span of the
	// same trace links to it there without probing the index.
	lastSlot uint64

	strs             strTable // services and scopes
	svcIDs, scopeIDs strCache
	resNames         serviceNames
	lastRes          *resource.Resource
	lastService      string
	buf              []byte // scratch: one span's bytes
	parentNames      *nameCache
	observer         SpanObserver
	observed, parent Span // scratch: what the observer is shown
}

// SpanStoreOption configures a SpanStore.
type SpanStoreOption func(*SpanStore)

// WithSpanCapacity sets how many of the newest spans are kept (default DefaultRetention).
func WithSpanCapacity(n int) SpanStoreOption {
	return func(s *SpanStore) { s.spans = newRing[spanRecord](n) }
}

// WithSpanObserver registers o to be told of every ingested span.
func WithSpanObserver(o SpanObserver) SpanStoreOption {
	return func(s *SpanStore) { s.observer = o }
}

// NewSpanStore returns an empty SpanStore.
func NewSpanStore(opts ...SpanStoreOption) *SpanStore {
	s := &SpanStore{resNames: serviceNames{}, seed: newHashSeed(), parentNames: newNameCache()}
	for _, o := range opts {
		o(s)
	}
	if s.spans == nil {
		s.spans = newRing[spanRecord](DefaultRetention)
	}
	s.bySpan, s.byTrace = newSeqIndex(), newSeqIndex()
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
	parent := ro.Parent()
	st := ro.Status()
	name := ro.Name()
	attrs := ro.Attributes()
	if res := ro.Resource(); res != s.lastRes || s.lastRes == nil {
		if len(s.resNames) >= maxResourceNames {
			clear(s.resNames)
		}
		s.lastRes, s.lastService = res, s.resNames.of(res)
	}
	service := s.lastService
	scope := ro.InstrumentationScope().Name
	start, end := ro.StartTime(), ro.EndTime()

	seq, rec, evicted := s.spans.reserve()
	if evicted {
		// The indexes need nothing (their entries for it are now stale);
		// its bytes go before the new span's are written, for the log to
		// reuse them.
		s.strs.unref(rec.service, &s.svcIDs, &s.scopeIDs)
		s.strs.unref(rec.scope, &s.svcIDs, &s.scopeIDs)
		s.log.release(rec.pos + uint64(rec.size()))
	}
	// The bytes are written in place at the log's tail when they fit, as
	// they do but for the last span of a chunk.
	tail := s.log.tail()
	inPlace := cap(tail) >= minTail
	b := tail
	if !inPlace {
		b = s.buf[:0]
	}
	b = append(b, name...)
	b = append(b, st.Description...)
	b = appendAttributes(b, attrs)
	var pos uint64
	if inPlace && cap(b) == cap(tail) { // else b outgrew the room
		pos = s.log.commit(len(b))
	} else {
		pos = s.log.append(b)
		s.buf = b
	}
	*rec = spanRecord{
		traceID: sc.TraceID(),
		spanID:  sc.SpanID(),
		parent:  parent.SpanID(),
		start:   unixNano(start),
		end:     unixNano(end),
		pos:     pos,
		kind:    ro.SpanKind(),
		status:  st.Code,
		nameLen: uint32(len(name)),
		descLen: uint32(len(st.Description)),
		attrLen: uint32(len(b) - len(name) - len(st.Description)),
		service: s.strs.ref(service, &s.svcIDs),
		scope:   s.strs.ref(scope, &s.scopeIDs),
	}
	s.indexTrace(rec, seq, !parent.IsValid())
	if rec.ordinal >= smallTrace {
		if rec.ordinal == smallTrace {
			// The trace outgrows the walk: its spans held join the index.
			s.indexChain(rec.prev)
		}
		s.indexSpan(rec, seq)
	}
	if s.observer == nil {
		return
	}
	s.observed = Span{
		TraceID: rec.traceID, SpanID: rec.spanID, Parent: rec.parent,
		Service: service, Scope: scope, Name: name, Kind: rec.kind,
		Start: start, End: end, Status: st.Code, StatusDescription: st.Description,
		Attributes: attrs,
	}
	var held *Span
	if rec.parent.IsValid() {
		if pseq, ok := s.findInTrace(seq, rec.parent); ok {
			s.parent = s.spanOf(s.record(pseq))
			held = &s.parent
		}
	}
	s.observer.ObserveSpan(&s.observed, held)
	s.observed.Attributes = nil // the caller's
}

// record returns the record of a held sequence number.
func (s *SpanStore) record(seq uint64) *spanRecord {
	return &s.spans.buf[(seq-1)%uint64(cap(s.spans.buf))]
}

// holds reports whether the record of seq is held.
func (s *SpanStore) holds(seq uint64) bool {
	return seq != 0 && seq < s.spans.next && seq >= s.spans.oldest()
}

// heldSeq returns the sequence number whose low 32 bits are lo, when held.
func (s *SpanStore) heldSeq(lo uint32) (uint64, bool) {
	age := uint32(s.spans.next) - lo
	if age == 0 || uint64(age) > uint64(s.spans.len()) {
		return 0, false
	}
	return s.spans.next - uint64(age), true
}

func (s *SpanStore) heldLow(lo uint32) bool {
	_, ok := s.heldSeq(lo)
	return ok
}

// indexSpan enters r, the record of seq, in the span index, in place of
// an older span with the same ids (a re-export: the newer is found).
func (s *SpanStore) indexSpan(r *spanRecord, seq uint64) {
	x := &s.bySpan
	if x.full() {
		x.rebuild(s.heldLow)
	}
	tag := tagOf(s.seed.span(r.traceID, r.spanID))
	i, _, _, fresh := x.slotFor(tag, s.heldSeq, func(old uint64) bool {
		o := s.record(old)
		return o.spanID == r.spanID && o.traceID == r.traceID
	})
	x.put(i, tag, seq, fresh)
}

// indexChain enters in the span index the held spans of the trace chain
// that ends with seq, oldest first (a newer copy of a span replaces an
// older one).
func (s *SpanStore) indexChain(seq uint64) {
	var chain [smallTrace]uint64
	n := 0
	for ; s.holds(seq) && n < len(chain); seq = s.record(seq).prev {
		chain[n] = seq
		n++
	}
	for i := n - 1; i >= 0; i-- {
		s.indexSpan(s.record(chain[i]), chain[i])
	}
}

// findSpan returns the sequence number of the held span with these ids.
func (s *SpanStore) findSpan(t trace.TraceID, id trace.SpanID) (uint64, bool) {
	last, ok := s.findTrace(t)
	if !ok {
		return 0, false
	}
	return s.findInTrace(last, id)
}

// findInTrace returns the sequence number of the held span id of the trace
// whose newest span is last: a walk back along a small trace, a look-up in
// the span index for a large one.
func (s *SpanStore) findInTrace(last uint64, id trace.SpanID) (uint64, bool) {
	r := s.record(last)
	if r.ordinal >= smallTrace {
		return s.lookupSpan(r.traceID, id)
	}
	for seq := last; s.holds(seq); seq = r.prev {
		if r = s.record(seq); r.spanID == id {
			return seq, true
		}
	}
	return 0, false
}

// lookupSpan returns the sequence number of the held span with these ids
// in the span index.
func (s *SpanStore) lookupSpan(t trace.TraceID, id trace.SpanID) (uint64, bool) {
	x := &s.bySpan
	tag := tagOf(s.seed.span(t, id))
	for i := x.home(tag); ; i = (i + 1) & x.mask {
		e := x.slots[i]
		if e == 0 {
			return 0, false
		}
		if e>>32 != tag {
			continue
		}
		if seq, held := s.heldSeq(uint32(e)); held {
			if r := s.record(seq); r.spanID == id && r.traceID == t {
				return seq, true
			}
		}
	}
}

// indexTrace makes r, the record of seq, the newest span of its trace in
// the trace index, linked to the one before, and sets its root.
func (s *SpanStore) indexTrace(r *spanRecord, seq uint64, isRoot bool) {
	x := &s.byTrace
	if x.full() {
		x.rebuild(s.heldLow)
	}
	tag := tagOf(s.seed.trace(r.traceID))
	// The span before (seq-1, held: it is the newest) is of the same trace
	// and still its newest span in the index: link to it in its slot. The
	// entry names seq-1, so it is that span's whatever the index did since.
	if prev, i := seq-1, s.lastSlot&x.mask; s.holds(prev) && x.slots[i] == tag<<32|prev&0xffffffff {
		if l := s.record(prev); l.traceID == r.traceID {
			s.linkTrace(r, l, prev, seq, isRoot, i, tag)
			return
		}
	}
	i, last, found, fresh := x.slotFor(tag, s.heldSeq, func(last uint64) bool { return s.record(last).traceID == r.traceID })
	if found {
		s.linkTrace(r, s.record(last), last, seq, isRoot, i, tag)
		return
	}
	x.put(i, tag, seq, fresh)
	s.lastSlot = i
	r.prev, r.ordinal = 0, 0
	if isRoot {
		r.root = seq
	}
}

// linkTrace makes r, the record of seq, the newest span of the trace whose
// newest span so far, l (the record of last), is in slot i of byTrace
// under tag.
func (s *SpanStore) linkTrace(r, l *spanRecord, last, seq uint64, isRoot bool, i, tag uint64) {
	r.prev, r.ordinal = last, l.ordinal+1
	if r.ordinal == 0 {
		r.ordinal = math.MaxUint32 // saturated
	}
	switch {
	case s.holds(l.root):
		r.root = l.root
	case isRoot:
		r.root = seq
	}
	s.byTrace.put(i, tag, seq, false)
	s.lastSlot = i
}

// findTrace returns the sequence number of the newest held span of trace t.
func (s *SpanStore) findTrace(t trace.TraceID) (uint64, bool) {
	x := &s.byTrace
	tag := tagOf(s.seed.trace(t))
	for i := x.home(tag); ; i = (i + 1) & x.mask {
		e := x.slots[i]
		if e == 0 {
			return 0, false
		}
		if e>>32 != tag {
			continue
		}
		if seq, held := s.heldSeq(uint32(e)); held && s.record(seq).traceID == t {
			return seq, true
		}
	}
}

// spanOf returns the span of r without its attributes, for the observer.
func (s *SpanStore) spanOf(r *spanRecord) Span {
	name := s.log.view(r.pos, int(r.nameLen), s.buf)
	return Span{
		TraceID: r.traceID, SpanID: r.spanID, Parent: r.parent,
		Service: s.strs.str(r.service), Scope: s.strs.str(r.scope),
		Name: s.parentNames.get(name), Kind: r.kind,
		Start: fromUnixNano(r.start), End: fromUnixNano(r.end), Status: r.status,
		StatusDescription: s.log.string(r.pos+uint64(r.nameLen), int(r.descLen)),
	}
}

// copied returns the spans of recs without their names, status
// descriptions and attributes, and the string of all their bytes, for
// decode to complete once the lock is released. It must be called with
// s.mu held.
func (s *SpanStore) copied(recs []*spanRecord) ([]Span, []spanRecord, string) {
	n := 0
	for _, r := range recs {
		n += r.size()
	}
	b := make([]byte, 0, n)
	out := make([]Span, len(recs))
	copies := make([]spanRecord, len(recs))
	for i, r := range recs {
		b = s.log.appendTo(b, r.pos, r.size())
		out[i] = Span{
			TraceID: r.traceID, SpanID: r.spanID, Parent: r.parent,
			Service: s.strs.str(r.service), Scope: s.strs.str(r.scope),
			Kind: r.kind, Start: fromUnixNano(r.start), End: fromUnixNano(r.end), Status: r.status,
		}
		copies[i] = *r
	}
	return out, copies, string(b)
}

// decode completes the spans copied returned from its records and bytes:
// their strings are substrings of all.
func decode(out []Span, recs []spanRecord, all string) {
	at := 0
	for i := range recs {
		r := &recs[i]
		name, desc := at+int(r.nameLen), at+int(r.nameLen)+int(r.descLen)
		out[i].Name, out[i].StatusDescription = all[at:name], all[name:desc]
		d := attrDecoder{s: all[:at+r.size()], i: desc}
		out[i].Attributes = d.attributes()
		at += r.size()
	}
}

// Trace returns copies of the held spans of trace id, ordered by start time,
// and false when the store holds none of them.
func (s *SpanStore) Trace(id trace.TraceID) ([]Span, bool) {
	s.mu.Lock()
	last, ok := s.findTrace(id)
	if !ok {
		s.mu.Unlock()
		return nil, false
	}
	var recs []*spanRecord
	for seq := last; s.holds(seq); seq = s.record(seq).prev {
		recs = append(recs, s.record(seq))
	}
	slices.Reverse(recs) // ingest order
	out, copies, all := s.copied(recs)
	s.mu.Unlock()
	decode(out, copies, all)
	slices.SortStableFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out, true
}

// Span returns a copy of one held span.
func (s *SpanStore) Span(t trace.TraceID, id trace.SpanID) (Span, bool) {
	s.mu.Lock()
	seq, ok := s.findSpan(t, id)
	if !ok {
		s.mu.Unlock()
		return Span{}, false
	}
	out, copies, all := s.copied([]*spanRecord{s.record(seq)})
	s.mu.Unlock()
	decode(out, copies, all)
	return out[0], true
}

// Root returns the id and service of the held root span of trace t.
func (s *SpanStore) Root(t trace.TraceID) (id trace.SpanID, service string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.findTrace(t)
	if !ok {
		return trace.SpanID{}, "", false
	}
	root := s.record(last).root
	if !s.holds(root) {
		return trace.SpanID{}, "", false
	}
	r := s.record(root)
	return r.spanID, s.strs.str(r.service), true
}

// Len returns the number of spans currently held.
func (s *SpanStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans.len()
}
