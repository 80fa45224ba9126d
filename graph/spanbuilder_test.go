package graph

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
)

// fakeClock is an injectable clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testSpan(service string, t, s, p byte, kind trace.SpanKind, attrs ...attribute.KeyValue) exporters.Span {
	start := time.Unix(1767312000, 0)
	return exporters.Span{
		TraceID: trace.TraceID{t}, SpanID: trace.SpanID{s}, Parent: trace.SpanID{p},
		Service: service, Kind: kind, Start: start, End: start.Add(time.Duration(s) * time.Millisecond),
		Attributes: attrs,
	}
}

func edgeString(g *Graph) string {
	var out string
	for _, e := range g.Edges() {
		out += fmt.Sprintf("%s->%s:%d/%d ", e.Source, e.Target, e.Calls, e.Errors)
	}
	return out
}

func TestSpanBuilderExpiresByClock(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	g := New()
	b := NewSpanBuilder(g, WithBuilderClock(clk.now), WithPairingStore(time.Second, 10), WithUserNode(false))

	// A client span waits for its server side; before the TTL nothing is counted.
	{
		sp := testSpan("a", 1, 2, 0, trace.SpanKindClient, attribute.String("peer.service", "b"))
		b.ObserveSpan(&sp, nil)
	}
	clk.add(999 * time.Millisecond)
	b.Expire()
	if got := edgeString(g); got != "" {
		t.Fatalf("before the TTL: edges %q, want none", got)
	}
	if got := b.Stats().Pending; got != 1 {
		t.Fatalf("Pending = %d, want 1", got)
	}
	clk.add(time.Millisecond)
	b.Expire()
	if got, want := edgeString(g), "a->b:1/0 "; got != want {
		t.Fatalf("after the TTL: edges %q, want %q", got, want)
	}
	// The server side arriving late, after the client span was settled as a
	// virtual call, is not a second call, whether a store holds the client
	// span or not.
	client := testSpan("a", 1, 2, 0, trace.SpanKindClient, attribute.String("peer.service", "b"))
	{
		sp := testSpan("b", 1, 3, 2, trace.SpanKindServer)
		b.ObserveSpan(&sp, &client)
	}
	{
		sp := testSpan("b", 1, 4, 2, trace.SpanKindServer)
		b.ObserveSpan(&sp, nil)
	}
	b.Flush()
	if got, want := edgeString(g), "a->b:1/0 "; got != want {
		t.Fatalf("after a late server span: edges %q, want %q", got, want)
	}
	if s := b.Stats(); s.Late != 2 || s.Orphaned != 0 || s.VirtualCalls != 1 || s.Pending != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSpanBuilderStoreFull(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	b := NewSpanBuilder(New(), WithBuilderClock(clk.now), WithPairingStore(time.Second, 2))
	for i := byte(1); i <= 3; i++ {
		// Children of parents that have not arrived yet: each waits under its own parent id.
		{
			sp := testSpan("b", i, 10+i, 20+i, trace.SpanKindServer)
			b.ObserveSpan(&sp, nil)
		}
	}
	if s := b.Stats(); s.Dropped != 1 || s.Pending != 2 {
		t.Fatalf("full store: stats %+v, want 1 dropped, 2 pending", s)
	}
	if _, err := b.pending.upsert(spanKey{span: trace.SpanID{99}}, b.elapsed()); err != ErrTooManyItems {
		t.Fatalf("upsert into a full store: %v, want ErrTooManyItems", err)
	}
	// Once the TTL has passed, eviction makes room again.
	clk.add(time.Second)
	{
		sp := testSpan("b", 4, 14, 24, trace.SpanKindServer)
		b.ObserveSpan(&sp, nil)
	}
	if s := b.Stats(); s.Dropped != 1 || s.Pending != 1 || s.Orphaned != 2 {
		t.Fatalf("after expiry: stats %+v, want 1 dropped, 1 pending, 2 orphaned", s)
	}
}

func TestSpanBuilderRules(t *testing.T) {
	client := testSpan("a", 1, 2, 1, trace.SpanKindClient)
	server := testSpan("a", 1, 3, 2, trace.SpanKindServer)
	producer := testSpan("a", 2, 2, 1, trace.SpanKindProducer)
	consumer := testSpan("b", 2, 3, 2, trace.SpanKindConsumer)
	for _, tc := range []struct {
		name  string
		opts  []SpanBuilderOption
		spans [][2]exporters.Span // span, held parent (zero: none)
		want  string
	}{
		{"self-call paired", nil, [][2]exporters.Span{{client, {}}, {server, client}}, "a->a:1/0 "},
		{"self-call without pairing", []SpanBuilderOption{WithClientServer(false), WithVirtualNodes(false)},
			[][2]exporters.Span{{client, {}}, {server, client}}, ""},
		{"messaging off, Jaeger on", []SpanBuilderOption{WithMessaging(false)},
			[][2]exporters.Span{{producer, {}}, {consumer, producer}}, "a->b:1/0 "},
		{"messaging only", []SpanBuilderOption{WithParentChild(false), WithClientServer(false)},
			[][2]exporters.Span{{consumer, {}}, {producer, {}}}, "a->b:1/0 "},
		{"user node", []SpanBuilderOption{WithUserNode(true)},
			[][2]exporters.Span{{testSpan("a", 3, 1, 0, trace.SpanKindServer), {}}}, "user->a:1/0 "},
		{"no user node for a root internal span", nil,
			[][2]exporters.Span{{testSpan("a", 3, 1, 0, trace.SpanKindInternal), {}}}, ""},
		{"peer attributes in order", []SpanBuilderOption{WithPeerAttributes("server.address", "peer.service")},
			[][2]exporters.Span{{testSpan("a", 4, 1, 0, trace.SpanKindClient,
				attribute.String("peer.service", "svc"), attribute.String("server.address", "host")), {}}}, "a->host:1/0 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New()
			b := NewSpanBuilder(g, tc.opts...)
			for _, sp := range tc.spans {
				var parent *exporters.Span
				if sp[1].SpanID.IsValid() {
					parent = &sp[1]
				}
				b.ObserveSpan(&sp[0], parent)
			}
			b.Flush()
			if got := edgeString(g); got != tc.want {
				t.Errorf("edges %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSpanBuilderConcurrentSafe runs many traces through one builder from
// several goroutines, each trace's spans in end order (server, client, root):
// every call must be counted exactly once.
func TestSpanBuilderConcurrentSafe(t *testing.T) {
	g := New()
	b := NewSpanBuilder(g)
	const workers, traces = 4, 250
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range traces {
				var tid trace.TraceID
				tid[0], tid[1], tid[2] = byte(w), byte(i), byte(i>>8)
				mk := func(svc string, s, p byte, k trace.SpanKind) exporters.Span {
					sp := testSpan(svc, 0, s, p, k)
					sp.TraceID = tid
					if p == 0 {
						sp.Parent = trace.SpanID{}
					}
					return sp
				}
				{
					sp := mk("backend", 3, 2, trace.SpanKindServer)
					b.ObserveSpan(&sp, nil)
				}
				{
					sp := mk("frontend", 2, 1, trace.SpanKindClient)
					b.ObserveSpan(&sp, nil)
				}
				{
					sp := mk("frontend", 1, 0, trace.SpanKindServer)
					b.ObserveSpan(&sp, nil)
				}
				_ = g.Edges()
				_ = b.Stats()
			}
		}()
	}
	wg.Wait()
	b.Flush()
	want := fmt.Sprintf("frontend->backend:%d/0 user->frontend:%d/0 ", workers*traces, workers*traces)
	if got := edgeString(g); got != want {
		t.Fatalf("edges %q, want %q", got, want)
	}
	if s := b.Stats(); s.Pending != 0 || s.Orphaned != 0 || s.VirtualCalls != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLatencyQuantiles(t *testing.T) {
	var l Latency
	if l.Quantile(0.5) != 0 || l.Mean() != 0 {
		t.Fatal("empty summary must report zeros")
	}
	for i := 1; i <= 1000; i++ {
		l.Record(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}} {
		got := l.Quantile(tc.q)
		if rel := float64(got-tc.want) / float64(tc.want); rel < -0.1 || rel > 0.1 {
			t.Errorf("Quantile(%v) = %v, want %v within 10%%", tc.q, got, tc.want)
		}
	}
	if l.Min != time.Millisecond || l.Max != time.Second || l.Count != 1000 || l.Quantile(1) != time.Second {
		t.Errorf("exact fields wrong: %+v", l)
	}
	var tiny Latency
	tiny.Record(-time.Second)
	tiny.Record(100 * time.Hour)
	if tiny.Min != 0 || tiny.Quantile(0.99) != 100*time.Hour {
		t.Errorf("out-of-range durations: min %v, p99 %v", tiny.Min, tiny.Quantile(0.99))
	}
}

// BenchmarkSpanBuilder observes traces of three spans (server, client, root
// server) in the order an SDK ends them; one op is one span.
func BenchmarkSpanBuilder(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []SpanBuilderOption
	}{
		{"defaults", nil},
		{"jaeger-only", []SpanBuilderOption{WithClientServer(false), WithMessaging(false), WithVirtualNodes(false), WithUserNode(false)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sb := NewSpanBuilder(New(), bc.opts...)
			spans := [3]exporters.Span{
				testSpan("backend", 0, 3, 2, trace.SpanKindServer),
				testSpan("frontend", 0, 2, 1, trace.SpanKindClient, attribute.String("server.address", "127.0.0.1")),
				testSpan("frontend", 0, 1, 0, trace.SpanKindServer),
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				sp := spans[i%3]
				sp.TraceID = trace.TraceID{byte(i / 3), byte(i / 768), byte(i / 196608), byte(i / 50331648)}
				sb.ObserveSpan(&sp, nil)
			}
		})
	}
}

// volatileSpan copies sp with its service and attribute strings in buf,
// which the caller overwrites once the builder has seen the span: as an
// observer may be handed strings that are only valid during the call.
func volatileSpan(buf *[]byte, sp exporters.Span) exporters.Span {
	str := func(s string) string {
		if s == "" {
			return ""
		}
		start := len(*buf)
		*buf = append(*buf, s...)
		return unsafe.String(&(*buf)[start], len(s))
	}
	sp.Service = str(sp.Service)
	attrs := make([]attribute.KeyValue, len(sp.Attributes))
	for i, kv := range sp.Attributes {
		attrs[i] = attribute.Key(str(string(kv.Key))).String(str(kv.Value.AsString()))
	}
	sp.Attributes = attrs
	return sp
}

// TestSpanBuilderOwnsItsStrings hands the builder spans whose strings are
// overwritten after each call: what it keeps (pending spans, the graph's
// nodes and edges, the names of virtual nodes) must be its own copies.
func TestSpanBuilderOwnsItsStrings(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	g := New()
	b := NewSpanBuilder(g, WithBuilderClock(clk.now))
	buf := make([]byte, 0, 1024) // never grows: every span reuses it
	observe := func(sp exporters.Span, parent *exporters.Span) {
		buf = buf[:0]
		v := volatileSpan(&buf, sp)
		var p *exporters.Span
		if parent != nil {
			pv := volatileSpan(&buf, *parent)
			pv.Attributes = nil
			p = &pv
		}
		b.ObserveSpan(&v, p)
		for i := range buf {
			buf[i] = '#'
		}
	}
	// A server span waits for its client parent; the client span, its
	// parent held, waits for nothing; a client span with a peer waits for a
	// callee that never comes, and a database call counts at once.
	frontend := testSpan("frontend", 1, 1, 0, trace.SpanKindServer)
	client := testSpan("frontend", 1, 2, 1, trace.SpanKindClient, attribute.String("server.address", "backend.local"))
	observe(testSpan("backend", 1, 3, 2, trace.SpanKindServer), nil)
	observe(frontend, nil)
	observe(client, &frontend)
	observe(testSpan("backend", 1, 4, 3, trace.SpanKindClient, attribute.String("peer.service", "stripe")), nil)
	observe(testSpan("backend", 1, 5, 3, trace.SpanKindClient, attribute.String("db.system", "postgresql")), nil)
	b.Flush()
	want := "user->frontend:1/0 frontend->backend:1/0 backend->postgresql:1/0 backend->stripe:1/0 "
	if got := edgeString(g); got != want {
		t.Errorf("edges %q, want %q", got, want)
	}
	if got, want := fmt.Sprint(g.Nodes()), "[backend user frontend postgresql stripe]"; got != want {
		t.Errorf("nodes %s, want %s", got, want)
	}
}

// TestSpanBuilderRealClock checks the default clock, the real one, which
// the builder reads by its monotonic reading alone: an entry expires once
// its TTL has passed.
func TestSpanBuilderRealClock(t *testing.T) {
	g := New()
	b := NewSpanBuilder(g, WithPairingStore(time.Millisecond, 10))
	sp := testSpan("a", 1, 2, 1, trace.SpanKindClient, attribute.String("peer.service", "b"))
	b.ObserveSpan(&sp, nil)
	for deadline := time.Now().Add(10 * time.Second); edgeString(g) == ""; {
		if time.Now().After(deadline) {
			t.Fatalf("the entry has not expired after 10 s: stats %+v", b.Stats())
		}
		runtime.Gosched()
		b.Expire()
	}
	if got, want := edgeString(g), "a->b:1/0 "; got != want {
		t.Errorf("edges %q, want %q", got, want)
	}
}

// TestSpanBuilderPastTheNameTable makes more services than the builder's
// name table holds: the calls of those past it take the graph's own
// lookups, and pending spans still keep copies of their strings.
func TestSpanBuilderPastTheNameTable(t *testing.T) {
	g := New()
	b := NewSpanBuilder(g, WithClientServer(false), WithVirtualNodes(false), WithUserNode(false))
	const pairs = maxNames/2 + 100
	buf := make([]byte, 0, 64)
	for i := range pairs {
		tid := trace.TraceID{byte(i), byte(i >> 8), byte(i >> 16)}
		// The callee first: it waits for its parent, in another service.
		for _, sp := range []exporters.Span{
			testSpan(fmt.Sprintf("callee-%d", i), 0, 2, 1, trace.SpanKindServer),
			testSpan(fmt.Sprintf("caller-%d", i), 0, 1, 0, trace.SpanKindInternal),
		} {
			sp.TraceID = tid
			buf = buf[:0]
			v := volatileSpan(&buf, sp)
			b.ObserveSpan(&v, nil)
			for j := range buf {
				buf[j] = '#'
			}
		}
	}
	edges := g.Edges()
	if len(edges) != pairs {
		t.Fatalf("%d edges, want %d", len(edges), pairs)
	}
	for i, e := range edges {
		if want := fmt.Sprintf("caller-%d->callee-%d", i, i); e.Source+"->"+e.Target != want || e.Calls != 1 {
			t.Fatalf("edge %d: %s->%s (%d calls), want %s", i, e.Source, e.Target, e.Calls, want)
		}
	}
	if len(b.names) != maxNames+1 {
		t.Errorf("the name table holds %d names, want its bound %d", len(b.names)-1, maxNames)
	}
}
