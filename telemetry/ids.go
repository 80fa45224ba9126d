package telemetry

import (
	"context"
	"crypto/rand"
	mrand "math/rand/v2"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var _ sdktrace.IDGenerator = (*idGenerator)(nil)

type forcedTraceIDKey struct{}

// withTraceID asks the id generator to give the next root span trace id t:
// the SDK offers no other way to start a parentless span in a known trace.
func withTraceID(ctx context.Context, t trace.TraceID) context.Context {
	return context.WithValue(ctx, forcedTraceIDKey{}, t)
}

// idGenerator makes W3C trace and span ids from a ChaCha8 stream seeded from
// crypto/rand, honouring a trace id forced through the context.
type idGenerator struct {
	mu  sync.Mutex
	rng *mrand.ChaCha8
}

func newIDGenerator() *idGenerator {
	var seed [32]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails on supported platforms.
	return &idGenerator{rng: mrand.NewChaCha8(seed)}
}

func (g *idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, forced := ctx.Value(forcedTraceIDKey{}).(trace.TraceID)
	if !forced || !t.IsValid() {
		for !t.IsValid() {
			_, _ = g.rng.Read(t[:])
		}
	}
	return t, g.spanID()
}

func (g *idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.spanID()
}

func (g *idGenerator) spanID() trace.SpanID {
	var s trace.SpanID
	for !s.IsValid() {
		_, _ = g.rng.Read(s[:])
	}
	return s
}
