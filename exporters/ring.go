package exporters

// ring is a fixed-capacity FIFO that overwrites its oldest element when full.
// Every element gets a sequence number (starting at 1) so that indexes can
// refer to an element and tell whether it has been overwritten since.
// It is not safe for concurrent use; the stores guard it with their mutex.
type ring[T any] struct {
	buf  []T
	next uint64 // sequence number of the next element pushed
}

func newRing[T any](capacity int) *ring[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &ring[T]{buf: make([]T, 0, capacity), next: 1}
}

// push appends v and returns its sequence number, together with the element it
// evicted (if the ring was full) so that callers can update their indexes.
func (r *ring[T]) push(v T) (seq uint64, evicted T, didEvict bool) {
	seq = r.next
	r.next++
	c := uint64(cap(r.buf))
	if uint64(len(r.buf)) < c {
		r.buf = append(r.buf, v)
		return seq, evicted, false
	}
	i := (seq - 1) % c
	evicted = r.buf[i]
	r.buf[i] = v
	return seq, evicted, true
}

// reserve makes room for the next element and returns its sequence number
// and its slot, which holds the element it evicts when evicted is true
// (the caller reads it, then overwrites the slot).
func (r *ring[T]) reserve() (seq uint64, slot *T, evicted bool) {
	seq = r.next
	r.next++
	if n := len(r.buf); n < cap(r.buf) {
		r.buf = r.buf[:n+1]
		return seq, &r.buf[n], false
	}
	return seq, &r.buf[(seq-1)%uint64(cap(r.buf))], true
}

// oldest returns the sequence number of the oldest element held.
func (r *ring[T]) oldest() uint64 { return r.next - uint64(len(r.buf)) }

// get returns the element with sequence number seq, if it is still held.
func (r *ring[T]) get(seq uint64) (*T, bool) {
	if seq == 0 || seq >= r.next || seq < r.oldest() {
		return nil, false
	}
	return &r.buf[(seq-1)%uint64(cap(r.buf))], true
}

// len returns the number of elements held.
func (r *ring[T]) len() int { return len(r.buf) }

// newestFirst calls f on held elements from the newest to the oldest until f returns false.
func (r *ring[T]) newestFirst(f func(*T) bool) {
	for seq := r.next - 1; seq >= r.oldest() && seq > 0; seq-- {
		if !f(&r.buf[(seq-1)%uint64(cap(r.buf))]) {
			return
		}
	}
}
