package telemetry

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/graph"
)

func graphString(g *graph.Graph) string {
	s := fmt.Sprint(g.Nodes())
	for _, e := range g.Edges() {
		s += fmt.Sprintf(" %s->%s:%d/%d", e.Source, e.Target, e.Calls, e.Errors)
	}
	return s
}

// The trace path feeds the same SpanBuilder an embedder uses: by default
// with Jaeger's rule alone (docs/protocol.md), and with the connector's rules
// when WithSpanGraph turns them on.
func TestPipelineSpanGraph(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"stdio defaults", nil, "[frontend payments] frontend->payments:1/1"},
		{"connector rules", []Option{WithSpanGraph(graph.WithUserNode(true), graph.WithVirtualNodes(true), graph.WithClientServer(true))},
			"[user frontend payments stripe] user->frontend:1/0 frontend->payments:1/1 frontend->stripe:1/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			root, err := p.StartSpan(ctx, &SpanRequest{Operation: "GET /checkout", Service: "frontend"})
			if err != nil {
				t.Fatal(err)
			}
			call, _ := p.StartSpan(ctx, &SpanRequest{Operation: "POST", Service: "frontend", Kind: trace.SpanKindClient,
				TraceID: root.TraceID(), ParentSpanID: root.SpanID(), Attributes: []attribute.KeyValue{attribute.String("peer.service", "payments")}})
			// The server side of that client span: one call, whichever rules see it.
			_, _ = p.StartSpan(ctx, &SpanRequest{Operation: "POST /pay", Service: "payments", Kind: trace.SpanKindServer,
				TraceID: root.TraceID(), ParentSpanID: call.SpanID(), Status: 503})
			// A client span whose peer is not instrumented.
			_, _ = p.StartSpan(ctx, &SpanRequest{Operation: "POST", Service: "frontend", Kind: trace.SpanKindClient,
				TraceID: root.TraceID(), ParentSpanID: root.SpanID(), Attributes: []attribute.KeyValue{attribute.String("peer.service", "stripe")}})
			p.spanGraph.stdio.Flush()
			if got := graphString(p.graph); got != tc.want {
				t.Errorf("graph %s, want %s", got, tc.want)
			}
		})
	}
}
