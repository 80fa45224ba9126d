package exporters

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// spanModel is what a SpanStore must answer, kept the plain way: the held
// spans, oldest first, searched in full. The root of a trace is the first
// span without a parent ingested while the trace had no root held.
type spanModel struct {
	capacity int
	held     []Span
	seqs     []int // of held, their ingest numbers
	n        int
	roots    map[trace.TraceID]int // ingest number, while held
}

func (m *spanModel) ingest(sp Span) (parent *Span) {
	m.n++
	if len(m.held) == m.capacity {
		old := m.held[0]
		if m.roots[old.TraceID] == m.seqs[0] {
			delete(m.roots, old.TraceID)
		}
		m.held, m.seqs = m.held[1:], m.seqs[1:]
	}
	m.held, m.seqs = append(m.held, sp), append(m.seqs, m.n)
	if _, ok := m.roots[sp.TraceID]; !ok && !sp.Parent.IsValid() {
		m.roots[sp.TraceID] = m.n
	}
	if sp.Parent.IsValid() {
		if p, ok := m.span(sp.TraceID, sp.Parent); ok {
			p.Attributes = nil
			return &p
		}
	}
	return nil
}

func (m *spanModel) span(t trace.TraceID, id trace.SpanID) (Span, bool) {
	for i := len(m.held) - 1; i >= 0; i-- {
		if m.held[i].TraceID == t && m.held[i].SpanID == id {
			return m.held[i], true
		}
	}
	return Span{}, false
}

func (m *spanModel) trace(t trace.TraceID) ([]Span, bool) {
	var out []Span
	for _, sp := range m.held {
		if sp.TraceID == t {
			out = append(out, sp)
		}
	}
	slices.SortStableFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out, len(out) > 0
}

func (m *spanModel) root(t trace.TraceID) (trace.SpanID, string, bool) {
	r, ok := m.roots[t]
	if !ok {
		return trace.SpanID{}, "", false
	}
	i, _ := slices.BinarySearch(m.seqs, r)
	return m.held[i].SpanID, m.held[i].Service, true
}

func equalSpan(got, want Span, attrs bool) error {
	if got.TraceID != want.TraceID || got.SpanID != want.SpanID || got.Parent != want.Parent ||
		got.Service != want.Service || got.Scope != want.Scope || got.Name != want.Name || got.Kind != want.Kind ||
		got.Status != want.Status || got.StatusDescription != want.StatusDescription {
		return fmt.Errorf("got %+v\nwant %+v", got, want)
	}
	if !got.Start.Equal(want.Start) || !got.End.Equal(want.End) || got.Start.IsZero() != want.Start.IsZero() {
		return fmt.Errorf("times %v %v, want %v %v", got.Start, got.End, want.Start, want.End)
	}
	if !attrs {
		if got.Attributes != nil {
			return fmt.Errorf("attributes %v, want none", got.Attributes)
		}
		return nil
	}
	return equalValues(got.Attributes, want.Attributes)
}

type modelObserver struct {
	t      *testing.T
	model  *spanModel
	want   Span
	called int
}

func (o *modelObserver) ObserveSpan(sp, parent *Span) {
	o.called++
	if err := equalSpan(*sp, o.want, true); err != nil {
		o.t.Fatalf("observed span: %v", err)
	}
	wantParent := o.model.ingest(o.want)
	switch {
	case (parent == nil) != (wantParent == nil):
		o.t.Fatalf("observed parent %v, want %v", parent, wantParent)
	case parent != nil:
		if err := equalSpan(*parent, *wantParent, false); err != nil {
			o.t.Fatalf("observed parent: %v", err)
		}
	}
}

// TestSpanStoreMatchesModel ingests random spans (traces of many sizes,
// parents held or not, spans exported twice, roots, equal start times,
// every attribute type) through stores of small capacities, over many
// turns of the ring and rebuilds of its indexes, with sequence numbers
// starting anywhere (across 2^32 too), and compares every answer, and
// what the observer is shown, with the model's.
func TestSpanStoreMatchesModel(t *testing.T) {
	for _, tc := range []struct {
		capacity int
		firstSeq uint64
		spans    int
	}{
		{1, 1, 300},
		{3, 1, 2000},
		{17, 1, 5000},
		{64, 1<<32 - 3000, 8000},
		{200, 1<<33 - 100, 6000},
		{50, 1<<32 + 1, 3000},
	} {
		t.Run(fmt.Sprintf("capacity %d from %d", tc.capacity, tc.firstSeq), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.capacity), tc.firstSeq))
			model := &spanModel{capacity: tc.capacity, roots: map[trace.TraceID]int{}}
			obs := &modelObserver{t: t, model: model}
			s := NewSpanStore(WithSpanCapacity(tc.capacity), WithSpanObserver(obs))
			// The ring fills its slots in order from sequence number 1 on: a
			// later start must keep that slot.
			s.spans.next = tc.firstSeq - (tc.firstSeq-1)%uint64(tc.capacity)
			resources := []*resource.Resource{
				resource.NewSchemaless(otelsemconv.ServiceNameKey.String("web")),
				resource.NewSchemaless(otelsemconv.ServiceNameKey.String("db")),
				resource.NewSchemaless(), // no service name
			}
			scopes := []string{"http", "sql", ""}
			traces := make([]trace.TraceID, 2*tc.capacity+3)
			for i := range traces {
				traces[i] = trace.TraceID{byte(i), byte(i >> 8), 1}
			}
			var ids []trace.SpanContext // spans made so far
			var lastTrace trace.TraceID
			t0 := time.Unix(1_700_000_000, 0)
			for n := range tc.spans {
				tid := traces[rng.IntN(len(traces))]
				if n%5 == 0 { // a trace of the newest ones, so that traces grow
					tid = traces[rng.IntN(3)]
				}
				if n > 0 && rng.IntN(3) == 0 { // the trace of the span before: runs of a trace
					tid = lastTrace
				}
				lastTrace = tid
				stub := tracetest.SpanStub{
					Name:      fmt.Sprintf("op-%d", rng.IntN(5)),
					SpanKind:  trace.SpanKind(rng.IntN(7)),
					StartTime: t0.Add(time.Duration(rng.IntN(20)) * time.Millisecond),
					Resource:  resources[rng.IntN(len(resources))],
					InstrumentationScope: instrumentation.Scope{
						Name: scopes[rng.IntN(len(scopes))],
					},
					Attributes: randomAttributes(rng.IntN, 2),
				}
				stub.EndTime = stub.StartTime.Add(time.Duration(rng.IntN(1e6)))
				switch rng.IntN(10) {
				case 0:
					stub.StartTime, stub.EndTime = time.Time{}, time.Time{}
				case 1:
					stub.StartTime = t0.In(time.FixedZone("x", 3600)) // the same instant elsewhere
				}
				if rng.IntN(4) == 0 {
					stub.Status = sdktrace.Status{Code: codes.Error, Description: fmt.Sprintf("failed %d", rng.IntN(3))}
				} else if rng.IntN(2) == 0 {
					stub.Status = sdktrace.Status{Code: codes.Ok}
				}
				sid := trace.SpanID{byte(n), byte(n >> 8), byte(n >> 16), 1}
				if len(ids) > 0 && rng.IntN(8) == 0 { // exported again
					sc := ids[len(ids)-1-rng.IntN(min(len(ids), 3*tc.capacity))]
					tid, sid = sc.TraceID(), sc.SpanID()
				}
				stub.SpanContext = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})
				switch p := rng.IntN(4); {
				case p == 0: // a root
				case p == 1 || len(ids) == 0: // a parent never seen
					stub.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{9, byte(n)}})
				default: // a span made before, held or not, of this trace or not
					pc := ids[len(ids)-1-rng.IntN(min(len(ids), 2*tc.capacity))]
					stub.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: pc.SpanID()})
				}
				ro := stub.Snapshot()
				ids = append(ids, ro.SpanContext())
				service, _ := ro.Resource().Set().Value(otelsemconv.ServiceNameKey)
				obs.want = Span{
					TraceID: tid, SpanID: sid, Parent: ro.Parent().SpanID(), Service: service.AsString(),
					Scope: ro.InstrumentationScope().Name, Name: ro.Name(), Kind: ro.SpanKind(),
					Start: ro.StartTime(), End: ro.EndTime(), Status: ro.Status().Code,
					StatusDescription: ro.Status().Description, Attributes: ro.Attributes(),
				}
				called := obs.called
				s.OnEnd(ro)
				if obs.called != called+1 {
					t.Fatalf("span %d: observer called %d times", n, obs.called-called)
				}
				if got, want := s.Len(), len(model.held); got != want {
					t.Fatalf("span %d: Len %d, want %d", n, got, want)
				}
				check := []trace.TraceID{tid}
				if n%50 == 0 {
					check = traces
				}
				for _, id := range check {
					compareTrace(t, s, model, id, fmt.Sprintf("span %d", n))
				}
				if n%50 == 0 {
					for _, sc := range ids[max(0, len(ids)-4*tc.capacity):] {
						got, ok := s.Span(sc.TraceID(), sc.SpanID())
						want, wok := model.span(sc.TraceID(), sc.SpanID())
						if ok != wok {
							t.Fatalf("span %d: Span(%s) held %v, want %v", n, sc.SpanID(), ok, wok)
						}
						if err := equalSpan(got, want, true); ok && err != nil {
							t.Fatalf("span %d: Span(%s): %v", n, sc.SpanID(), err)
						}
					}
				}
			}
		})
	}
}

func compareTrace(t *testing.T, s *SpanStore, m *spanModel, id trace.TraceID, at string) {
	t.Helper()
	got, ok := s.Trace(id)
	want, wok := m.trace(id)
	if ok != wok || len(got) != len(want) {
		t.Fatalf("%s: Trace(%s): %v %d spans, want %v %d", at, id, ok, len(got), wok, len(want))
	}
	for i := range got {
		if err := equalSpan(got[i], want[i], true); err != nil {
			t.Fatalf("%s: Trace(%s) span %d: %v", at, id, i, err)
		}
	}
	gid, gsvc, gok := s.Root(id)
	wid, wsvc, wok := m.root(id)
	if gid != wid || gsvc != wsvc || gok != wok {
		t.Fatalf("%s: Root(%s) = %s %q %v, want %s %q %v", at, id, gid, gsvc, gok, wid, wsvc, wok)
	}
}

// TestSpanStoreEncodesAsideNearAChunkEnd: a span ingested when the log's
// chunk has little room left is encoded into the scratch buffer, whatever
// its capacity (here that of the room), and read back whole.
func TestSpanStoreEncodesAsideNearAChunkEnd(t *testing.T) {
	for _, room := range []int{1, 100, 2048, minTail - 1} {
		s := NewSpanStore(WithSpanCapacity(10))
		s.log.tail()
		s.log.commit(logChunk - room) // as if earlier spans had filled the chunk
		s.buf = make([]byte, 0, room)
		ro := tracetest.SpanStub{
			Name:        "GET /x",
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}}),
			Attributes:  []attribute.KeyValue{attribute.String("k", "v")},
		}.Snapshot()
		s.OnEnd(ro)
		got, ok := s.Span(trace.TraceID{1}, trace.SpanID{2})
		if !ok || got.Name != "GET /x" || len(got.Attributes) != 1 || got.Attributes[0] != attribute.String("k", "v") {
			t.Fatalf("room %d: got %v %+v", room, ok, got)
		}
	}
}
