package graph

import (
	"container/list"
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
// itself while it waits for a callee (self), and the children that arrived
// before it (waiting).
type pendingEntry struct {
	key     spanKey
	expires time.Time
	self    *spanFacts
	waiting []spanFacts
}

// pendingStore is a bounded, insertion-ordered map of pending entries: a
// container/list (oldest at the front) plus an index. Entries are never
// moved, so with one TTL the front is always the next to expire. It has no
// lock of its own: the SpanBuilder's mutex guards it.
type pendingStore struct {
	l        *list.List
	m        map[spanKey]*list.Element
	ttl      time.Duration
	maxItems int
	onExpire func(*pendingEntry)
}

func newPendingStore(ttl time.Duration, maxItems int, onExpire func(*pendingEntry)) *pendingStore {
	return &pendingStore{
		l:        list.New(),
		m:        make(map[spanKey]*list.Element),
		ttl:      ttl,
		maxItems: maxItems,
		onExpire: onExpire,
	}
}

func (s *pendingStore) get(k spanKey) *pendingEntry {
	if el, ok := s.m[k]; ok {
		return el.Value.(*pendingEntry)
	}
	return nil
}

// upsert applies update to the entry of k, creating it (expiring at
// now+ttl) if needed. When the store is full it first expires what is due,
// and refuses with ErrTooManyItems only if that freed nothing.
func (s *pendingStore) upsert(k spanKey, now time.Time, update func(*pendingEntry)) error {
	if el, ok := s.m[k]; ok {
		update(el.Value.(*pendingEntry))
		return nil
	}
	if s.l.Len() >= s.maxItems {
		s.expire(now)
		if s.l.Len() >= s.maxItems {
			return ErrTooManyItems
		}
	}
	e := &pendingEntry{key: k, expires: now.Add(s.ttl)}
	update(e)
	s.m[k] = s.l.PushBack(e)
	return nil
}

// take removes the entry of k and returns it, or nil.
func (s *pendingStore) take(k spanKey) *pendingEntry {
	el, ok := s.m[k]
	if !ok {
		return nil
	}
	s.l.Remove(el)
	delete(s.m, k)
	return el.Value.(*pendingEntry)
}

// expire hands every entry due at now to onExpire, oldest first.
func (s *pendingStore) expire(now time.Time) {
	for el := s.l.Front(); el != nil; el = s.l.Front() {
		e := el.Value.(*pendingEntry)
		if e.expires.After(now) {
			return
		}
		s.l.Remove(el)
		delete(s.m, e.key)
		s.onExpire(e)
	}
}

// flush hands every entry to onExpire, oldest first.
func (s *pendingStore) flush() {
	for el := s.l.Front(); el != nil; el = s.l.Front() {
		e := el.Value.(*pendingEntry)
		s.l.Remove(el)
		delete(s.m, e.key)
		s.onExpire(e)
	}
}

func (s *pendingStore) len() int { return s.l.Len() }
