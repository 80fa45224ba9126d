package graph

import (
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
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
	now          func() time.Time // nil: the real clock
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

// WithBuilderClock sets the clock that pairing entries expire by (default,
// and with nil, the real clock). The builder reads it once per span; without
// this option it reads the real clock's monotonic reading alone, which costs
// half of time.Now.
func WithBuilderClock(now func() time.Time) SpanBuilderOption {
	return func(c *spanConfig) { c.now = now }
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

// spanFacts is what pairing needs of one span. Its strings are the
// span's own until the builder retains the facts (see retain).
type spanFacts struct {
	key      spanKey
	service  string
	peer     string // the virtual node named by its attributes
	duration time.Duration
	kind     trace.SpanKind
	// svc and peerID are the ids of service and peer in the builder's name
	// table: 0 until looked up, -1 when the table had no room.
	svc, peerID int32
	failed      bool
	database    bool
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
// It keeps none of the strings of the spans it is handed: what it retains
// (pending spans, names) it copies.
type SpanBuilder struct {
	cfg   spanConfig
	g     *Graph
	attrs attrTable

	mu      sync.Mutex
	pending *pendingStore
	stats   SpanStats
	// epoch is the time the pairing store measures time from: when the
	// builder was made (real clock), or the clock's first reading.
	epoch   time.Time
	started bool
	// virtualized remembers the callers most recently counted as virtual
	// calls (a FIFO of up to maxItems), so that their callee arriving after
	// the TTL is not counted a second time.
	virtualized map[spanKey]struct{}
	virtFIFO    []spanKey
	virtNext    int

	// The name table gives the services and virtual nodes the builder
	// meets a small id and an owned copy of their name (names[id], id 0
	// unused), and remembers which are nodes of the graph already; edges
	// caches the graph edge of each (source id, target id), so that a call
	// costs the graph no name lookups. Both only grow, up to maxNames and
	// maxCachedEdges: past them, calls take the graph's own lookups.
	ids     map[string]int32
	names   []string
	inGraph []bool
	edges   map[[2]int32]*Edge
	user    int32 // the id of UserNode, 0 until needed
	// recent holds the ids of recently looked-up names by a hash of a few
	// of their bytes: the spans of one service come in runs, and a string
	// comparison costs less than a map lookup.
	recent [16]int32
}

// Bounds of a SpanBuilder's name table and edge cache.
const (
	maxNames       = 1 << 14
	maxCachedEdges = 1 << 16
)

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
	}
	WithPeerAttributes(DefaultPeerAttributes...)(&c)
	for _, o := range opts {
		o(&c)
	}
	b := &SpanBuilder{
		cfg:   c,
		g:     g,
		attrs: newAttrTable(c.peerAttrs),
		ids:   make(map[string]int32),
		names: []string{""},
		edges: make(map[[2]int32]*Edge),
	}
	b.inGraph = []bool{false}
	if c.now == nil {
		b.epoch, b.started = time.Now(), true
	}
	b.pending = newPendingStore(c.ttl, c.maxItems, b.onExpire)
	return b
}

// elapsed reads the clock, as the time since the builder's epoch.
func (b *SpanBuilder) elapsed() time.Duration {
	if b.cfg.now == nil {
		return time.Since(b.epoch)
	}
	now := b.cfg.now()
	if !b.started {
		b.epoch, b.started = now, true
	}
	return now.Sub(b.epoch)
}

// Graph returns the graph the builder writes into.
func (b *SpanBuilder) Graph() *Graph { return b.g }

// ObserveSpan adds one span: its service becomes a node, and every call it
// completes is counted. The SpanStore calls it with the span's parent when
// it holds it.
func (b *SpanBuilder) ObserveSpan(sp, parent *exporters.Span) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.elapsed()
	b.pending.expire(now)
	b.stats.Spans++
	var s spanFacts
	b.facts(&s, sp)
	b.name(&s.svc, &s.service)
	if !sp.Parent.IsValid() && b.cfg.userNode && s.kind == trace.SpanKindServer {
		// Before the span's own node, so that the source comes first.
		b.stats.UserCalls++
		b.count(Call{Source: UserNode, Target: s.service, Type: ConnectionVirtualNode,
			Failed: s.failed, ServerLatency: s.duration, HasServer: true}, b.userID(), s.svc)
	}
	b.addNode(s.svc, s.service)

	// Children that arrived first were waiting for this span.
	called := false
	if e := b.pending.get(s.key); e != nil {
		if e.hasSelf {
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
	switch {
	case !sp.Parent.IsValid():
		// A root span: counted above if it is a call from the user node.
	case b.late(pk):
		// Its caller was already counted as a virtual call.
		b.stats.Late++
	case parent != nil:
		var p spanFacts
		b.parentFacts(&p, parent)
		if b.link(&p, &s) {
			b.settled(pk)
		}
	default:
		e := b.pending.get(pk)
		if e != nil && e.hasSelf {
			if b.link(&e.self, &s) {
				b.pending.take(pk)
			}
			break
		}
		if e == nil {
			var err error
			if e, err = b.pending.insert(pk, now); err != nil {
				b.stats.Dropped++
				break
			}
		}
		w := s
		w.peer = "" // a waiting child's peer is never used
		b.retain(&w)
		e.waiting = append(e.waiting, w)
	}

	if called || !b.cfg.virtualNodes || !isCaller(s.kind) {
		return
	}
	if s.database && s.peer != "" {
		b.virtualCall(&s)
		return
	}
	e, err := b.pending.upsert(s.key, now)
	if err != nil {
		b.stats.Dropped++
		return
	}
	b.retain(&s)
	e.self, e.hasSelf = s, true
}

// userID returns the id of UserNode in the name table.
func (b *SpanBuilder) userID() int32 {
	if b.user == 0 {
		name := UserNode
		b.name(&b.user, &name)
	}
	return b.user
}

// late reports whether the caller of key k was counted as a virtual call.
func (b *SpanBuilder) late(k spanKey) bool {
	if len(b.virtualized) == 0 {
		return false
	}
	_, ok := b.virtualized[k]
	return ok
}

// link counts the call parent -> child if a rule makes one of them, and
// reports whether it did.
func (b *SpanBuilder) link(p, c *spanFacts) bool {
	pair := b.cfg.clientServer && p.kind == trace.SpanKindClient && c.kind == trace.SpanKindServer ||
		b.cfg.messaging && p.kind == trace.SpanKindProducer && c.kind == trace.SpanKindConsumer
	if !pair && !(b.cfg.parentChild && p.service != c.service) {
		return false
	}
	b.name(&p.svc, &p.service)
	b.name(&c.svc, &c.service)
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
	b.count(call, p.svc, c.svc)
	return true
}

// settled removes the entry of a caller that was waiting for its callee and
// has found it. Callers wait only when virtual nodes are on.
func (b *SpanBuilder) settled(k spanKey) {
	if !b.cfg.virtualNodes {
		return
	}
	if e := b.pending.get(k); e != nil && e.hasSelf {
		b.pending.take(k)
	}
}

func (b *SpanBuilder) virtualCall(s *spanFacts) {
	b.stats.VirtualCalls++
	b.name(&s.peerID, &s.peer)
	call := Call{Source: s.service, Target: s.peer, Type: ConnectionVirtualNode, Failed: s.failed,
		ClientLatency: s.duration, HasClient: true}
	if s.database {
		call.Type = ConnectionDatabase
	}
	b.count(call, s.svc, s.peerID)
}

// count adds c to the graph; src and dst are the ids of its source and
// target (<= 0 when they have none), whose edge it resolves once.
func (b *SpanBuilder) count(c Call, src, dst int32) {
	if src <= 0 || dst <= 0 {
		b.g.AddCall(c)
		return
	}
	k := [2]int32{src, dst}
	e, ok := b.edges[k]
	b.g.addCallVia(&e, c)
	if !ok && len(b.edges) < maxCachedEdges {
		b.edges[k] = e
	}
}

// addNode adds the service with id and name to the graph, unless the
// builder knows it is there.
func (b *SpanBuilder) addNode(id int32, name string) {
	if id <= 0 {
		b.g.AddNode(name)
		return
	}
	if !b.inGraph[id] {
		b.g.AddNode(name)
		b.inGraph[id] = true
	}
}

// name looks *name up in the name table unless *id is known: *id becomes
// its id and *name the table's own copy, or -1 and unchanged when the
// table is full.
func (b *SpanBuilder) name(id *int32, name *string) {
	if *id != 0 {
		return
	}
	slot := &b.recent[quickHash(*name)%uint(len(b.recent))]
	if i := *slot; i != 0 && b.names[i] == *name {
		*id, *name = i, b.names[i]
		return
	}
	if i, ok := b.ids[*name]; ok {
		*id, *name = i, b.names[i]
		*slot = i
		return
	}
	if len(b.names) > maxNames {
		*id = -1
		return
	}
	owned := strings.Clone(*name)
	*id = int32(len(b.names))
	b.names = append(b.names, owned)
	b.inGraph = append(b.inGraph, false)
	b.ids[owned] = *id
	*name = owned
	*slot = *id
}

// quickHash hashes a name by its length and three of its bytes.
func quickHash(s string) uint {
	if s == "" {
		return 0
	}
	return uint(len(s)) + 3*uint(s[0]) + 5*uint(s[len(s)/2]) + 7*uint(s[len(s)-1])
}

// retain makes f's strings the builder's own, for f to outlive the call
// that handed over its span.
func (b *SpanBuilder) retain(f *spanFacts) {
	b.name(&f.svc, &f.service)
	if f.svc < 0 {
		f.service = strings.Clone(f.service)
	}
	if f.peer != "" {
		b.name(&f.peerID, &f.peer)
		if f.peerID < 0 {
			f.peer = strings.Clone(f.peer)
		}
	}
}

// onExpire settles one entry that waited its full TTL; b.mu is held.
func (b *SpanBuilder) onExpire(e *pendingEntry) {
	b.stats.Orphaned += int64(len(e.waiting))
	if !e.hasSelf {
		return
	}
	if e.self.peer == "" {
		b.stats.Unnamed++
		return
	}
	b.virtualCall(&e.self)
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
	b.pending.expire(b.elapsed())
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

// parentFacts fills f with what link needs of a parent span: not its
// attributes, which the store may not hand over.
func (b *SpanBuilder) parentFacts(f *spanFacts, sp *exporters.Span) {
	f.key = spanKey{sp.TraceID, sp.SpanID}
	f.service = sp.Service
	f.kind = sp.Kind
	f.failed = sp.Status == codes.Error
	f.duration = sp.Duration()
}

// facts fills f with what pairing needs of sp.
func (b *SpanBuilder) facts(f *spanFacts, sp *exporters.Span) {
	b.parentFacts(f, sp)
	if !isCaller(sp.Kind) || !b.cfg.virtualNodes {
		return
	}
	client := sp.Kind == trace.SpanKindClient
	best := len(b.cfg.peerAttrs)
	for i := range sp.Attributes {
		kv := &sp.Attributes[i]
		r, ok := b.attrs.role(kv.Key)
		if !ok {
			continue
		}
		if r.peer < best {
			if v := kv.Value.Emit(); v != "" {
				f.peer, best = v, r.peer
			}
		}
		if r.database && client {
			f.database = true
		}
	}
}

// attrRole is what an attribute key means to facts: its rank among the
// peer attributes (len(peerAttrs) if none) and whether it marks a database.
type attrRole struct {
	key      attribute.Key
	peer     int
	database bool
}

// attrTable finds the role of an attribute key with a length check and a
// string comparison or two, instead of comparing the key with every peer
// and database attribute.
type attrTable struct {
	byLen [][]attrRole // roles by key length
}

func newAttrTable(peerAttrs []attribute.Key) attrTable {
	var roles []attrRole
	find := func(k attribute.Key) *attrRole {
		for i := range roles {
			if roles[i].key == k {
				return &roles[i]
			}
		}
		roles = append(roles, attrRole{key: k, peer: len(peerAttrs)})
		return &roles[len(roles)-1]
	}
	for i, k := range peerAttrs {
		if r := find(k); i < r.peer {
			r.peer = i
		}
	}
	for _, k := range databaseAttributes {
		find(k).database = true
	}
	var t attrTable
	for _, r := range roles {
		for len(t.byLen) <= len(r.key) {
			t.byLen = append(t.byLen, nil)
		}
		t.byLen[len(r.key)] = append(t.byLen[len(r.key)], r)
	}
	return t
}

func (t *attrTable) role(k attribute.Key) (attrRole, bool) {
	if len(k) >= len(t.byLen) {
		return attrRole{}, false
	}
	for _, r := range t.byLen[len(k)] {
		if r.key == k {
			return r, true
		}
	}
	return attrRole{}, false
}

func isCaller(k trace.SpanKind) bool {
	return k == trace.SpanKindClient || k == trace.SpanKindProducer
}

func isCallee(k trace.SpanKind) bool {
	return k == trace.SpanKindServer || k == trace.SpanKindConsumer
}
