package graph_test

import (
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
)

// callLog is a CallObserver that keeps every call; the graph's lock
// serialises its calls.
type callLog []graph.Call

func (l *callLog) ObserveCall(c graph.Call) { *l = append(*l, c) }

// sums adds the observed calls up per edge: calls and errors.
func (l callLog) sums() map[[2]string][2]int64 {
	out := map[[2]string][2]int64{}
	for _, c := range l {
		k := [2]string{c.Source, c.Target}
		s := out[k]
		s[0]++
		if c.Failed {
			s[1]++
		}
		out[k] = s
	}
	return out
}

func edgeSums(g *graph.Graph) map[[2]string][2]int64 {
	out := map[[2]string][2]int64{}
	for _, e := range g.Edges() {
		out[[2]string{e.Source, e.Target}] = [2]int64{e.Calls, e.Errors}
	}
	return out
}

func TestCallObserverSeesAccessLogsWithTheReportingSide(t *testing.T) {
	var calls callLog
	g := graph.New(graph.WithCallObserver(&calls))
	for _, a := range []exporters.AccessLog{
		{Service: "web", Source: "web", Target: "api", Status: 200, DurationMs: 12.5, Side: exporters.SideClient},
		{Service: "api", Source: "web", Target: "api", Status: 503, DurationMs: 2, Side: exporters.SideServer},
		{Service: "mesh", Source: "web", Target: "api", Status: 200, DurationMs: 7},
		{Service: "batch", Status: 200, DurationMs: 1}, // no edge: no call
	} {
		g.ObserveAccessLog(a)
	}
	want := callLog{
		{Source: "web", Target: "api", ClientLatency: 12500 * time.Microsecond, HasClient: true},
		{Source: "web", Target: "api", Failed: true, ServerLatency: 2 * time.Millisecond, HasServer: true},
		{Source: "web", Target: "api"},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("observed\n%+v\nwant\n%+v", calls, want)
	}
	if got, w := calls.sums(), edgeSums(g); !reflect.DeepEqual(got, w) {
		t.Fatalf("observed sums %v, graph %v", got, w)
	}
}

func TestCallObserverSeesOverflowEdge(t *testing.T) {
	var calls callLog
	g := graph.New(graph.WithMaxEdges(1), graph.WithCallObserver(&calls))
	g.AddCall(graph.Call{Source: "a", Target: "b"})
	g.AddCall(graph.Call{Source: "a", Target: "c", Failed: true})
	g.ObserveAccessLog(exporters.AccessLog{Service: "a", Source: "a", Target: "d", Status: 500})
	if got, w := calls.sums(), edgeSums(g); !reflect.DeepEqual(got, w) || len(w) != 2 {
		t.Fatalf("observed sums %v, graph %v", got, w)
	}
	if c := calls[2]; c.Source != "meshobs.overflow" || c.Target != "meshobs.overflow" || !c.Failed {
		t.Fatalf("overflow call %+v", c)
	}
}

// span is a stored span of service, kind and duration, child of parent.
func span(tid trace.TraceID, id, parent byte, service string, kind trace.SpanKind, d time.Duration, attrs ...attribute.KeyValue) exporters.Span {
	t0 := time.Unix(1_700_000_000, 0)
	s := exporters.Span{TraceID: tid, SpanID: trace.SpanID{id}, Service: service, Name: "op",
		Kind: kind, Start: t0, End: t0.Add(d), Attributes: attrs}
	if parent != 0 {
		s.Parent = trace.SpanID{parent}
	}
	return s
}

func TestCallObserverConnectionTypes(t *testing.T) {
	var calls callLog
	g := graph.New(graph.WithCallObserver(&calls))
	b := graph.NewSpanBuilder(g) // every rule on, as the connector
	tid := trace.TraceID{1}
	root := span(tid, 1, 0, "web", trace.SpanKindServer, 50*time.Millisecond)
	client := span(tid, 2, 1, "web", trace.SpanKindClient, 30*time.Millisecond)
	server := span(tid, 3, 2, "api", trace.SpanKindServer, 20*time.Millisecond)
	server.Status = codes.Error
	db := span(tid, 4, 3, "api", trace.SpanKindClient, 4*time.Millisecond, attribute.String("db.system", "postgresql"))
	producer := span(tid, 5, 3, "api", trace.SpanKindProducer, time.Millisecond)
	consumer := span(tid, 6, 5, "worker", trace.SpanKindConsumer, 9*time.Millisecond)
	payments := span(tid, 7, 6, "worker", trace.SpanKindClient, 3*time.Millisecond, attribute.String("peer.service", "payments"))

	b.ObserveSpan(&root, nil)
	b.ObserveSpan(&server, nil) // waits for its client
	b.ObserveSpan(&client, &root)
	b.ObserveSpan(&db, &server)
	b.ObserveSpan(&producer, &server)
	b.ObserveSpan(&consumer, &producer)
	b.ObserveSpan(&payments, &consumer)
	b.Flush() // payments never answers: a virtual node

	want := callLog{
		{Source: "user", Target: "web", Type: graph.ConnectionVirtualNode, ServerLatency: 50 * time.Millisecond, HasServer: true},
		{Source: "web", Target: "api", Failed: true, ClientLatency: 30 * time.Millisecond, HasClient: true,
			ServerLatency: 20 * time.Millisecond, HasServer: true},
		{Source: "api", Target: "postgresql", Type: graph.ConnectionDatabase, ClientLatency: 4 * time.Millisecond, HasClient: true},
		{Source: "api", Target: "worker", Type: graph.ConnectionMessaging, ClientLatency: time.Millisecond, HasClient: true,
			ServerLatency: 9 * time.Millisecond, HasServer: true},
		{Source: "worker", Target: "payments", Type: graph.ConnectionVirtualNode, ClientLatency: 3 * time.Millisecond, HasClient: true},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("observed\n%+v\nwant\n%+v", calls, want)
	}
	if got, w := calls.sums(), edgeSums(g); !reflect.DeepEqual(got, w) {
		t.Fatalf("observed sums %v, graph %v", got, w)
	}
}
