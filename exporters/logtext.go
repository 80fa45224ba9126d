package exporters

import (
	"math"
	"math/bits"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// logEntry is an AccessLog as the log store's ring holds it: without a
// single pointer, so that the garbage collector never scans the ring (100k
// entries by default, where six strings and two times each would be 800k
// pointers to trace on every cycle). Its strings are bytes in the store's
// textArena; its times are Unix seconds and nanoseconds.
type logEntry struct {
	text textRef
	// The times as unixTime values, their fields side by side so that
	// no padding comes between them.
	tsSec, obsSec   int64
	tsNsec, obsNsec int32
	status          int64
	duration        float64
	traceID         trace.TraceID
	spanID          trace.SpanID
	side            Side
}

// The strings of an entry, in the order they are laid out in the arena.
const (
	fieldService = iota
	fieldSource
	fieldTarget
	fieldMethod
	fieldPath
	fieldProtocol
	numTextFields
)

// textRef locates an entry's strings in the arena: they lie one after the
// other from off, the i-th n[i] bytes long.
type textRef struct {
	off uint64
	n   [numTextFields]uint32
}

// size returns the number of bytes of all the strings.
func (t *textRef) size() uint64 {
	var s uint64
	for _, n := range t.n {
		s += uint64(n)
	}
	return s
}

// unixTime is a time.Time without its location (and monotonic reading):
// the instant is kept exactly, and read back in UTC.
type unixTime struct {
	sec  int64
	nsec int32
}

func unixTimeOf(t time.Time) unixTime { return unixTime{sec: t.Unix(), nsec: int32(t.Nanosecond())} }

// time returns the instant in UTC; the zero time.Time comes back as the zero time.Time.
func (u unixTime) time() time.Time { return time.Unix(u.sec, int64(u.nsec)).UTC() }

// maxTextLen is the longest string an entry keeps (its lengths are uint32s).
var maxTextLen uint64 = math.MaxUint32

// minTextBytes is the smallest arena: it grows as the entries need.
const minTextBytes = 4 << 10

// textArena holds the strings of the store's entries as bytes in one
// buffer without pointers. The ring evicts its oldest entry first, so the
// arena is a byte FIFO: an entry's strings are at [off, off+size) of an
// offset space that only grows, stored at off modulo the buffer's length (a
// power of two) and never across the buffer's end (the bytes before the end
// are skipped instead). The bytes from tail to head are in use. The buffer
// grows when a new entry does not fit and shrinks when the bytes in use fill
// less than an eighth of it; both move the strings of the entries held to
// its start and rewrite their offsets.
//
// It is not safe for concurrent use; the store guards it with its mutex.
type textArena struct {
	buf  []byte
	tail uint64 // end of the strings of the last entry evicted
	head uint64 // offset of the next byte
}

// place returns the offset n bytes would be written at: head, or the
// start of the buffer when they would cross its end.
func (t *textArena) place(n uint64) uint64 {
	size := uint64(len(t.buf))
	start := t.head
	if p := start & (size - 1); p+n > size {
		start += size - p
	}
	return start
}

// at returns the n bytes at offset off.
func (t *textArena) at(off, n uint64) []byte {
	p := off & uint64(len(t.buf)-1)
	return t.buf[p : p+n : p+n]
}

// textSize returns the power-of-two buffer length for live bytes: room
// for a quarter more, and at least minTextBytes.
func textSize(live uint64) int {
	want := live + live/4
	if want <= minTextBytes {
		return minTextBytes
	}
	return 1 << bits.Len64(want-1)
}

// pushLog adds a to the ring: its strings into the arena, the rest into a
// pointer-free entry, evicting the oldest entry when the ring is full. It
// must be called with s.mu held.
func (s *LogStore) pushLog(a *AccessLog) {
	strs := [numTextFields]string{a.Service, a.Source, a.Target, a.Method, a.Path, a.Protocol}
	var text textRef
	var n uint64
	for i, v := range strs {
		if uint64(len(v)) > maxTextLen { // an attribute of 4 GiB: keep what a length holds
			strs[i] = v[:maxTextLen]
		}
		text.n[i] = uint32(len(strs[i]))
		n += uint64(text.n[i])
	}
	_, e, evicted := s.entries.reserve()
	t := &s.text
	if evicted {
		t.tail = e.text.off + e.text.size()
	}
	start := t.place(n)
	if size := uint64(len(t.buf)); start+n-t.tail > size || (size > minTextBytes && 8*(t.head-t.tail+n) < size) {
		s.relocate(t.head - t.tail + n)
		start = t.place(n)
	}
	b := t.at(start, n)[:0]
	for _, v := range strs {
		b = append(b, v...)
	}
	text.off = start
	t.head = start + n
	ts, obs := unixTimeOf(a.Timestamp), unixTimeOf(a.Observed)
	*e = logEntry{
		text:  text,
		tsSec: ts.sec, tsNsec: ts.nsec, obsSec: obs.sec, obsNsec: obs.nsec,
		status: int64(a.Status), duration: a.DurationMs,
		traceID: a.TraceID, spanID: a.SpanID, side: a.Side,
	}
}

// relocate moves the strings of the entries held, but the newest (whose
// slot is being filled), to the start of a new buffer sized for live
// bytes, and rewrites their offsets. It must be called with s.mu held.
func (s *LogStore) relocate(live uint64) {
	old := s.text
	s.text = textArena{buf: make([]byte, textSize(live))}
	r := s.entries
	for seq := r.oldest(); seq < r.next-1; seq++ {
		e, _ := r.get(seq)
		n := e.text.size()
		s.text.head += uint64(copy(s.text.buf[s.text.head:], old.at(e.text.off, n)))
		e.text.off = s.text.head - n
	}
}

// field returns the bytes of one of an entry's strings (a field* constant).
func (s *LogStore) field(e *logEntry, f int) []byte {
	off := e.text.off
	for _, n := range e.text.n[:f] {
		off += uint64(n)
	}
	return s.text.at(off, uint64(e.text.n[f]))
}

// accessLog returns the entry as an AccessLog: its strings share one copy
// of the entry's bytes. It must be called with s.mu held.
func (s *LogStore) accessLog(e *logEntry) AccessLog {
	all := string(s.text.at(e.text.off, e.text.size()))
	var strs [numTextFields]string
	for i, n := range e.text.n {
		strs[i], all = all[:n], all[n:]
	}
	return AccessLog{
		Timestamp: unixTime{e.tsSec, e.tsNsec}.time(), Observed: unixTime{e.obsSec, e.obsNsec}.time(),
		Service: strs[fieldService], Source: strs[fieldSource], Target: strs[fieldTarget],
		Method: strs[fieldMethod], Path: strs[fieldPath], Protocol: strs[fieldProtocol],
		Status: int(e.status), DurationMs: e.duration,
		TraceID: e.traceID, SpanID: e.spanID, Side: e.side,
	}
}
