package node

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// isStop is the byte plainString stops at, one byte at a time.
func isStop(c byte) bool { return c < 0x20 || c >= 0x7f || c == '"' || c == '\\' }

// TestStopBytes checks the word-at-a-time scan against isStop: every byte
// value at every position of words of plain bytes, then random words
// whose stop bytes are many, with the lowest mark always the first stop.
func TestStopBytes(t *testing.T) {
	check := func(w [8]byte) {
		t.Helper()
		m := stopBytes(binary.LittleEndian.Uint64(w[:]))
		first := 8
		for i, c := range w {
			if isStop(c) {
				first = i
				break
			}
		}
		if got := bits.TrailingZeros64(m) >> 3; got != first {
			t.Fatalf("% x: first stop at %d, stopBytes says %d (mask %016x)", w, first, got, m)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			w := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			w[pos] = byte(c)
			check(w)
			for below := range pos { // a stop below, and junk above it
				w[below] = '"'
				check(w)
				w[below] = 'x'
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		check(w)
		for i := range w { // mostly plain, a few stop bytes
			if rng.IntN(4) > 0 {
				w[i] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		check(w)
	}
}

// TestPlainString checks plainString against the byte-by-byte rule for
// strings ending at every distance from the end of the line.
func TestPlainString(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200_000 {
		n := rng.IntN(40)
		b := make([]byte, 0, n+2)
		b = append(b, '"')
		for range n {
			switch rng.IntN(30) {
			case 0:
				b = append(b, byte(rng.IntN(256)))
			case 1:
				b = append(b, '"')
			default:
				b = append(b, byte(0x20+rng.IntN(0x5f)))
			}
		}
		want := -1
		for i := 1; i < len(b); i++ {
			if b[i] == '"' {
				want = i + 1
				break
			}
			if isStop(b[i]) {
				break
			}
		}
		if got := plainString(b, 0); got != want {
			t.Fatalf("plainString(%q) = %d, want %d", b, got, want)
		}
	}
}
