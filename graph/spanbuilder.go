package graph

import (
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
)

var _ exporters.SpanObserver = (*SpanBuilder)(nil)

// UserNode is the node that root server spans are called from when
// WithUserNode is on: the outside world, as in the servicegraph connector.
const UserNode = "user"

// DefaultPeerAttributes are the span attributes, in order of preference,
// that name the uninstrumented peer of a client or producer span.
var DefaultPeerAttributes = []string{
	string(otelsemconv.PeerServiceKey),
	dbName, // before db.namespace (semconv 1.26), and still widely sent
	string(otelsemconv.DBNamespaceKey),
	dbSystem, // before db.system.name (semconv 1.33)
	string(otelsemconv.MessagingDestinationNameKey),
	string(otelsemconv.ServerAddressKey),
}

// Database attribute names of semantic conventions older than the ones
// package otelsemconv knows, which instrumentations still send.
const (
	dbName   = "db.name"
	dbSystem = "db.system"
)

// databaseAttributes mark a client span as a database call: databases are
// never instrumented, so such a call is counted at once, without waiting.
var databaseAttributes = []attribute.Key{dbSystem, otelsemconv.DBSystemNameKey, dbName, otelsemconv.DBNamespaceKey}

// Pairing store defaults; see WithPairingStore.
const (
	DefaultPairingTTL   = 2 * time.Second
	DefaultPairingItems = 10_000
)

type spanConfig struct {
	parentChild  bool
	clientServer bool
	messaging    bool
	virtualNodes bool
	userNode     bool
	peerAttrs    []attribute.Key
	ttl          time.Duration
	maxItems     int
	now          func() time.Time
}

// SpanBuilderOption configures a SpanBuilder.
type SpanBuilderOption func(*spanConfig)

// WithParentChild turns Jaeger's rule on or off: a span whose parent belongs
// to another service, whatever the two kinds, is one call parent -> child.
func WithParentChild(on bool) SpanBuilderOption {
	return func(c *spanConfig) { c.parentChild = on }
}

// WithClientServer turns client/server pairing on or off: a client span and
// the server span whose parent it is are one call, even within one service
// (a self-call).
func WithClientServer(on bool) SpanBuilderOption {
	return func(c *spanConfig) { c.clientServer = on }
}

// WithMessaging turns producer/consumer pairing on or off: a producer span and
// the consumer span whose parent it is are one call, even within one service.
func WithMessaging(on bool) SpanBuilderOption {
	return func(c *spanConfig) { c.messaging = on }
}

// WithVirtualNodes turns virtual nodes on or off: a client or producer span
// with no callee is one call to the peer named by its peer attributes
// (a database call at once, any other when its pairing entry expires).
func WithVirtualNodes(on bool) SpanBuilderOption {
	return func(c *spanConfig) { c.virtualNodes = on }
}

// WithUserNode turns the user node on or off: a root server span is one
// call UserNode -> its service.
func WithUserNode(on bool) SpanBuilderOption {
	return func(c *spanConfig) { c.userNode = on }
}

// WithPeerAttributes sets the attributes, in order of preference, that name
// a virtual node (default DefaultPeerAttributes).
func WithPeerAttributes(keys ...string) SpanBuilderOption {
	return func(c *spanConfig) {
		c.peerAttrs = make([]attribute.Key, len(keys))
		for i, k := range keys {
			c.peerAttrs[i] = attribute.Key(k)
		}
	}
}

// WithPairingStore bounds the spans waiting to be paired: each waits at most
// ttl (default DefaultPairingTTL) and at most maxItems span ids wait at once
// (default DefaultPairingItems). Values < 1 keep the default.
func WithPairingStore(ttl time.Duration, maxItems int) SpanBuilderOption {
	return func(c *spanConfig) {
		if ttl > 0 {
			c.ttl = ttl
		}
		if maxItems > 0 {
			c.maxItems = maxItems
		}
	}
}

// WithBuilderClock sets the clock that pairing entries expire by (default time.Now).
func WithBuilderClock(now func() time.Time) SpanBuilderOption {
	return func(c *spanConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// SpanStats counts what a SpanBuilder did with the spans it saw.
type SpanStats struct {
	// Spans is the number of spans observed.
	Spans int64
	// Calls counts calls between two spans (parent/child or client/server pairs).
	Calls int64
	// VirtualCalls counts calls to virtual nodes, UserCalls calls from UserNode.
	VirtualCalls, UserCalls int64
	// Unnamed counts client or producer spans with no callee and no peer attribute.
	Unnamed int64
	// Orphaned counts spans whose parent never arrived within the TTL.
	Orphaned int64
	// Dropped counts spans refused with ErrTooManyItems.
	Dropped int64
	// Duplicates counts spans seen again while still pending, and ignored.
	Duplicates int64
	// Late counts children of a client or producer span that had already
	// been counted as a virtual call (they came after its TTL); they are not
	// counted again.
	Late int64
	// Pending is the number of span ids waiting in the pairing store now.
	Pending int
}

// spanFacts is what pairing needs of one span.
type spanFacts struct {
	key      spanKey
	service  string
	kind     trace.SpanKind
	failed   bool
	duration time.Duration
	peer     string // the virtual node named by its attributes
	database bool
}

// SpanBuilder turns spans into calls on a Graph, the way Jaeger and the OTel
// Collector's servicegraph connector build a service graph. Register it as
// the span observer of an exporters.SpanStore: the store hands it every
// span with its parent when held.
//
// A call is counted once per (parent, child) pair of spans, whichever rules
// match it, so Jaeger's rule and client/server pairing never count the same
// call twice. A child that arrives before its parent (the usual order, as a
// server span ends before the client span around it) waits in a bounded
// pairing store until the parent arrives; so does a client span waiting for
// its server side when virtual nodes are on. What is still waiting at its
// TTL expires: a client or producer span without a callee becomes a call to
// a virtual node, and a child whose parent never came is dropped (counted in
// SpanStats.Orphaned). A callee that comes after its caller was counted as
// a virtual call is not counted again (SpanStats.Late). Expiry happens as spans arrive; call Expire to expire
// by the clock alone and Flush to settle everything, for instance before
// reading the graph at the end of a test.
//
// Each span must be observed once. A SpanBuilder is safe for concurrent use.
type SpanBuilder struct {
	cfg spanConfig
	g   *Graph

	mu      sync.Mutex
	pending *pendingStore
	stats   SpanStats
	// virtualized remembers the callers most recently counted as virtual
	// calls (a FIFO of up to maxItems), so that their callee arriving after
	// the TTL is not counted a second time.
	virtualized map[spanKey]struct{}
	virtFIFO    []spanKey
	virtNext    int
}

// NewSpanBuilder returns a SpanBuilder writing into g. Its defaults are those
// of the servicegraph connector plus Jaeger's rule: every rule on
// (WithParentChild, WithClientServer, WithMessaging, WithVirtualNodes,
// WithUserNode), DefaultPeerAttributes, a 2 s TTL and 10,000 pending span ids.
func NewSpanBuilder(g *Graph, opts ...SpanBuilderOption) *SpanBuilder {
	c := spanConfig{
		parentChild:  true,
		clientServer: true,
		messaging:    true,
		virtualNodes: true,
		userNode:     true,
		ttl:          DefaultPairingTTL,
		maxItems:     DefaultPairingItems,
		now:          time.Now,
	}
	WithPeerAttributes(DefaultPeerAttributes...)(&c)
	for _, o := range opts {
		o(&c)
	}
	b := &SpanBuilder{cfg: c, g: g}
	b.pending = newPendingStore(c.ttl, c.maxItems, b.onExpire)
	return b
}

// Graph returns the graph the builder writes into.
func (b *SpanBuilder) Graph() *Graph { return b.g }

// ObserveSpan adds one span: its service becomes a node, and every call it
// completes is counted. The SpanStore calls it with the span's parent when
// it holds it.
func (b *SpanBuilder) ObserveSpan(sp, parent *exporters.Span) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.cfg.now()
	b.pending.expire(now)
	b.stats.Spans++
	s := b.facts(sp)
	if !sp.Parent.IsValid() && b.cfg.userNode && s.kind == trace.SpanKindServer {
		// Before the span's own node, so that the source comes first.
		b.stats.UserCalls++
		b.g.AddCall(Call{Source: UserNode, Target: s.service, Type: ConnectionVirtualNode,
			Failed: s.failed, ServerLatency: s.duration, HasServer: true})
	}
	b.g.AddNode(s.service)

	// Children that arrived first were waiting for this span.
	called := false
	if e := b.pending.get(s.key); e != nil {
		if e.self != nil {
			// The same caller seen twice (exported twice): count it once.
			b.stats.Duplicates++
			return
		}
		b.pending.take(s.key)
		for i := range e.waiting {
			called = b.link(&s, &e.waiting[i]) || called
		}
	}

	pk := spanKey{s.key.trace, sp.Parent}
	_, late := b.virtualized[pk]
	switch {
	case !sp.Parent.IsValid():
		// A root span: counted above if it is a call from the user node.
	case late:
		// Its caller was already counted as a virtual call.
		b.stats.Late++
	case parent != nil:
		p := b.facts(parent)
		if b.link(&p, &s) {
			b.settled(pk)
		}
	default:
		if e := b.pending.get(pk); e != nil && e.self != nil {
			if b.link(e.self, &s) {
				b.settled(pk)
			}
			break
		}
		if err := b.pending.upsert(pk, now, func(e *pendingEntry) {
			e.waiting = append(e.waiting, s)
		}); err != nil {
			b.stats.Dropped++
		}
	}

	if called || !b.cfg.virtualNodes || !isCaller(s.kind) {
		return
	}
	if s.database && s.peer != "" {
		b.virtualCall(&s)
		return
	}
	if err := b.pending.upsert(s.key, now, func(e *pendingEntry) { e.self = &s }); err != nil {
		b.stats.Dropped++
	}
}

// link counts the call parent -> child if a rule makes one of them, and
// reports whether it did.
func (b *SpanBuilder) link(p, c *spanFacts) bool {
	pair := b.cfg.clientServer && p.kind == trace.SpanKindClient && c.kind == trace.SpanKindServer ||
		b.cfg.messaging && p.kind == trace.SpanKindProducer && c.kind == trace.SpanKindConsumer
	if !pair && !(b.cfg.parentChild && p.service != c.service) {
		return false
	}
	call := Call{Source: p.service, Target: c.service, Failed: c.failed}
	if p.kind == trace.SpanKindProducer || c.kind == trace.SpanKindConsumer {
		call.Type = ConnectionMessaging
	}
	if isCaller(p.kind) {
		call.ClientLatency, call.HasClient = p.duration, true
		call.Failed = call.Failed || p.failed
	}
	// The child runs in the callee: a server or consumer span is the callee's
	// view of the call, and so is any non-calling span of another service
	// that Jaeger's rule links (e.g. an internal or unset-kind span).
	if isCallee(c.kind) || (p.service != c.service && !isCaller(c.kind)) {
		call.ServerLatency, call.HasServer = c.duration, true
	}
	b.stats.Calls++
	b.g.AddCall(call)
	return true
}

// settled removes the entry of a caller that was waiting for its callee and has found it.
func (b *SpanBuilder) settled(k spanKey) {
	if e := b.pending.get(k); e != nil && e.self != nil {
		b.pending.take(k)
	}
}

func (b *SpanBuilder) virtualCall(s *spanFacts) {
	b.stats.VirtualCalls++
	call := Call{Source: s.service, Target: s.peer, Type: ConnectionVirtualNode, Failed: s.failed,
		ClientLatency: s.duration, HasClient: true}
	if s.database {
		call.Type = ConnectionDatabase
	}
	b.g.AddCall(call)
}

// onExpire settles one entry that waited its full TTL; b.mu is held.
func (b *SpanBuilder) onExpire(e *pendingEntry) {
	b.stats.Orphaned += int64(len(e.waiting))
	if e.self == nil {
		return
	}
	if e.self.peer == "" {
		b.stats.Unnamed++
		return
	}
	b.virtualCall(e.self)
	if b.virtualized == nil {
		b.virtualized = make(map[spanKey]struct{})
		b.virtFIFO = make([]spanKey, 0, b.cfg.maxItems)
	}
	if len(b.virtFIFO) < cap(b.virtFIFO) {
		b.virtFIFO = append(b.virtFIFO, e.key)
	} else {
		delete(b.virtualized, b.virtFIFO[b.virtNext])
		b.virtFIFO[b.virtNext] = e.key
		b.virtNext = (b.virtNext + 1) % len(b.virtFIFO)
	}
	b.virtualized[e.key] = struct{}{}
}

// Expire settles every pairing entry whose TTL has passed by the builder's clock.
func (b *SpanBuilder) Expire() {
	b.mu.Lock()
	b.pending.expire(b.cfg.now())
	b.mu.Unlock()
}

// Flush settles every pairing entry now, as if its TTL had passed: use it
// when no more spans of the pending traces will come.
func (b *SpanBuilder) Flush() {
	b.mu.Lock()
	b.pending.flush()
	b.mu.Unlock()
}

// Stats returns what the builder has counted so far.
func (b *SpanBuilder) Stats() SpanStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Pending = b.pending.len()
	return s
}

func (b *SpanBuilder) facts(sp *exporters.Span) spanFacts {
	f := spanFacts{
		key:      spanKey{sp.TraceID, sp.SpanID},
		service:  sp.Service,
		kind:     sp.Kind,
		failed:   sp.Status == codes.Error,
		duration: sp.Duration(),
	}
	if !isCaller(sp.Kind) || !b.cfg.virtualNodes {
		return f
	}
	best := len(b.cfg.peerAttrs)
	for _, kv := range sp.Attributes {
		for i, k := range b.cfg.peerAttrs[:best] {
			if kv.Key == k && kv.Value.Emit() != "" {
				f.peer, best = kv.Value.Emit(), i
				break
			}
		}
		if !f.database && sp.Kind == trace.SpanKindClient {
			for _, k := range databaseAttributes {
				if kv.Key == k {
					f.database = true
				}
			}
		}
	}
	return f
}

func isCaller(k trace.SpanKind) bool {
	return k == trace.SpanKindClient || k == trace.SpanKindProducer
}

func isCallee(k trace.SpanKind) bool {
	return k == trace.SpanKindServer || k == trace.SpanKindConsumer
}
