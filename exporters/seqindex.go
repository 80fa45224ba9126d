package exporters

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"
)

// seqIndex is a hash index from a key (a span's ids, a trace id) to the
// sequence number of a record in a ring, for the span store: an
// open-addressing table of 8-byte entries, each a tag (32 bits of the
// key's hash, which also give its home slot) and the low 32 bits of the
// sequence number. The keys themselves stay in the records: a tag match is
// confirmed by reading the record.
//
// An entry whose record has left the ring is stale: the ring's sequence
// numbers tell, without reading anything, and lookups skip it; an insert
// takes its slot. So records leave the ring without touching the index,
// and the index is rebuilt, without its stale entries, when half its
// slots are taken, or after 2^31 entries were written. A rebuild sizes
// the table for the live entries, four slots each: the next comes after
// at least as many inserts as it moved entries, and the table follows the
// number of keys (a trace index stays small when traces are large). Between
// two rebuilds fewer than 2^32 records pass, so the low 32 bits of a
// sequence number tell a held record from a stale entry.
//
// The table is a fraction of a Go map's size for the same records and
// holds no pointer.
type seqIndex struct {
	slots []uint64
	mask  uint64
	used  int      // slots not empty, stale entries included
	puts  int      // entries written since the last rebuild
	live  []uint64 // scratch of rebuild
}

// minIndexSlots is the size of an empty seqIndex.
const minIndexSlots = 16

// sizeFor returns the number of slots for n live entries: a power of two,
// four slots an entry.
func sizeFor(n int) int {
	size := minIndexSlots
	for size < 4*n {
		size <<= 1
	}
	return size
}

func newSeqIndex() seqIndex {
	return seqIndex{slots: make([]uint64, minIndexSlots), mask: minIndexSlots - 1}
}

// tagOf is the tag of a hash: never zero, so that an entry never is.
func tagOf(h uint64) uint64 { return h>>32 | 1<<31 }

func (x *seqIndex) home(tag uint64) uint64 { return tag & x.mask }

// slotFor finds where an insert under tag goes: the slot of the held entry
// whose sequence number match accepts (found, with that number), else the
// first stale slot the probe passed, else the empty slot that ended it
// (fresh). held gives the sequence number of an entry's low 32 bits when
// its record is held; match is asked only of held entries with the tag.
func (x *seqIndex) slotFor(tag uint64, held func(uint32) (uint64, bool), match func(uint64) bool) (i, seq uint64, found, fresh bool) {
	var free uint64
	hasFree := false
	for i = x.home(tag); ; i = (i + 1) & x.mask {
		e := x.slots[i]
		if e == 0 {
			if hasFree {
				return free, 0, false, false
			}
			return i, 0, false, true
		}
		seq, ok := held(uint32(e))
		switch {
		case !ok:
			if !hasFree {
				free, hasFree = i, true
			}
		case e>>32 == tag && match(seq):
			return i, seq, true, false
		}
	}
}

// put writes an entry into slot i, which is empty (fresh) or stale.
func (x *seqIndex) put(i uint64, tag uint64, seq uint64, fresh bool) {
	x.slots[i] = tag<<32 | seq&0xffffffff
	x.puts++
	if fresh {
		x.used++
	}
}

// full reports whether the index must be rebuilt before an insert: when
// half its slots are taken, or when a stale entry might have lived
// through 2^31 sequence numbers (inserts into stale slots do not fill it).
func (x *seqIndex) full() bool { return 2*(x.used+1) > len(x.slots) || x.puts >= 1<<31 }

// rebuild drops the stale entries; held tells a held sequence number from
// the low 32 bits of one.
func (x *seqIndex) rebuild(held func(uint32) bool) {
	live := x.live[:0]
	for _, e := range x.slots {
		if e != 0 && held(uint32(e)) {
			live = append(live, e)
		}
	}
	if n := sizeFor(len(live)); n != len(x.slots) {
		x.slots, x.mask = make([]uint64, n), uint64(n-1)
	} else {
		clear(x.slots)
	}
	for _, e := range live {
		i := x.home(e >> 32)
		for x.slots[i] != 0 {
			i = (i + 1) & x.mask
		}
		x.slots[i] = e
	}
	x.used, x.puts = len(live), 0
	x.live = live[:0]
}

// hashSeed keys the index hashes, so that senders cannot choose ids that
// pile up in one part of the table.
type hashSeed [4]uint64

func newHashSeed() hashSeed {
	return hashSeed{rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64()}
}

// mix is wyhash's mixing step.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (s *hashSeed) trace(t trace.TraceID) uint64 {
	h := mix(binary.LittleEndian.Uint64(t[:8])^s[0], binary.LittleEndian.Uint64(t[8:])^s[1])
	return mix(h^s[2], s[3])
}

func (s *hashSeed) span(t trace.TraceID, id trace.SpanID) uint64 {
	h := mix(binary.LittleEndian.Uint64(t[:8])^s[0], binary.LittleEndian.Uint64(t[8:])^s[1])
	return mix(h^s[2], binary.LittleEndian.Uint64(id[:])^s[3])
}
