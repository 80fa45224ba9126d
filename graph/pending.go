package graph

import (
	"errors"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// ErrTooManyItems is the reason a span is dropped when the pairing store is
// full even after expiring what was due; SpanBuilder counts such spans in
// SpanStats.Dropped.
var ErrTooManyItems = errors.New("graph: too many items waiting to be paired")

type spanKey struct {
	trace trace.TraceID
	span  trace.SpanID
}

// pendingEntry is what the pairing store knows about one span id: the span
// itself while it waits for a callee (self, when hasSelf), and the children
// that arrived before it (waiting).
type pendingEntry struct {
	key     spanKey
	expires time.Duration // on the SpanBuilder's clock
	hasSelf bool
	self    spanFacts
	waiting []spanFacts // its array is reused by the slot's next entry

	prev, next int // neighbours in insertion order, or in the free list; -1 for none
}

// maxReusedWaiting bounds the waiting array a slot keeps for its next
// entry, so that one parent with very many children does not pin their
// memory for ever.
const maxReusedWaiting = 64

// pendingStore is a bounded, insertion-ordered map of pending entries: a
// slab of entries linked in insertion order (oldest at the head) through
// their indices, free slots in a free list, and an index from span ids to
// slots, so that an entry costs no allocation once the slab has grown.
// Entries are never moved in the order, so with one TTL the head is always
// the next to expire. Times are durations on the SpanBuilder's clock (see
// SpanBuilder.elapsed), so the slab holds no time.Time and its location
// pointer. It has no lock of its own: the SpanBuilder's mutex guards it.
//
// A *pendingEntry it returns points into the slab: it stays valid until
// the next insert, and the entry of take until then too.
type pendingStore struct {
	slots      []pendingEntry
	index      map[spanKey]int
	head, tail int // oldest and newest entry, -1 when empty
	free       int // first free slot, -1 when none

	ttl      time.Duration
	maxItems int
	onExpire func(*pendingEntry)
}

func newPendingStore(ttl time.Duration, maxItems int, onExpire func(*pendingEntry)) *pendingStore {
	return &pendingStore{
		index:    make(map[spanKey]int),
		head:     -1,
		tail:     -1,
		free:     -1,
		ttl:      ttl,
		maxItems: maxItems,
		onExpire: onExpire,
	}
}

func (s *pendingStore) get(k spanKey) *pendingEntry {
	if i, ok := s.index[k]; ok {
		return &s.slots[i]
	}
	return nil
}

// upsert returns the entry of k, creating it (expiring at now+ttl) if
// needed. When the store is full it first expires what is due, and refuses
// with ErrTooManyItems only if that freed nothing.
func (s *pendingStore) upsert(k spanKey, now time.Duration) (*pendingEntry, error) {
	if i, ok := s.index[k]; ok {
		return &s.slots[i], nil
	}
	return s.insert(k, now)
}

// insert adds an entry for k, which has none.
func (s *pendingStore) insert(k spanKey, now time.Duration) (*pendingEntry, error) {
	if len(s.index) >= s.maxItems {
		s.expire(now)
		if len(s.index) >= s.maxItems {
			return nil, ErrTooManyItems
		}
	}
	i := s.free
	if i >= 0 {
		s.free = s.slots[i].next
	} else {
		i = len(s.slots)
		s.slots = append(s.slots, pendingEntry{})
	}
	e := &s.slots[i]
	waiting := e.waiting
	if cap(waiting) > maxReusedWaiting {
		waiting = nil
	}
	clear(waiting)
	*e = pendingEntry{key: k, expires: now + s.ttl, waiting: waiting[:0], prev: s.tail, next: -1}
	if s.tail >= 0 {
		s.slots[s.tail].next = i
	} else {
		s.head = i
	}
	s.tail = i
	s.index[k] = i
	return e, nil
}

// take removes the entry of k and returns it, or nil.
func (s *pendingStore) take(k spanKey) *pendingEntry {
	i, ok := s.index[k]
	if !ok {
		return nil
	}
	s.remove(i)
	return &s.slots[i]
}

// remove unlinks slot i from the order and the index and frees it; its
// content stays as it is until the slot is reused.
func (s *pendingStore) remove(i int) {
	e := &s.slots[i]
	if e.prev >= 0 {
		s.slots[e.prev].next = e.next
	} else {
		s.head = e.next
	}
	if e.next >= 0 {
		s.slots[e.next].prev = e.prev
	} else {
		s.tail = e.prev
	}
	delete(s.index, e.key)
	e.prev, e.next = -1, s.free
	s.free = i
}

// expire hands every entry due at now to onExpire, oldest first.
func (s *pendingStore) expire(now time.Duration) {
	if s.head < 0 {
		return
	}
	for i := s.head; i >= 0 && s.slots[i].expires <= now; i = s.head {
		s.remove(i)
		s.onExpire(&s.slots[i])
	}
}

// flush hands every entry to onExpire, oldest first.
func (s *pendingStore) flush() {
	for i := s.head; i >= 0; i = s.head {
		s.remove(i)
		s.onExpire(&s.slots[i])
	}
}

func (s *pendingStore) len() int { return len(s.index) }
