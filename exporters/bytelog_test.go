package exporters

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestByteLogKeepsWhatIsHeld appends records of every size (some larger
// than a chunk, many straddling two), releases them oldest first as a ring
// would, and reads every held one back; the chunks held stay within what
// the held bytes need.
func TestByteLogKeepsWhatIsHeld(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type rec struct {
		pos  uint64
		data []byte
	}
	var l byteLog
	var held []rec
	heldBytes := 0
	for i := range 5000 {
		n := rng.IntN(2000)
		switch {
		case i%500 == 7:
			n = 3*logChunk + rng.IntN(logChunk)
		case i%97 == 0:
			n = 0
		}
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		held = append(held, rec{l.append(data), data})
		heldBytes += n
		for len(held) > 40 || heldBytes > 8*logChunk {
			heldBytes -= len(held[0].data)
			held = held[1:]
			l.release(held[0].pos)
		}
		for _, r := range held {
			if got := l.appendTo(nil, r.pos, len(r.data)); !bytes.Equal(got, r.data) {
				t.Fatalf("record %d at %d: read back wrong", i, r.pos)
			}
			if got := l.string(r.pos, len(r.data)); got != string(r.data) {
				t.Fatalf("record %d at %d: string wrong", i, r.pos)
			}
		}
		if max := (int(l.end-held[0].pos)+logChunk-1)/logChunk + 1; len(l.chunks) > max {
			t.Fatalf("%d chunks held for %d bytes", len(l.chunks), l.end-held[0].pos)
		}
		if len(l.spare) > maxSpareChunks {
			t.Fatalf("%d spare chunks", len(l.spare))
		}
	}
}
