package node

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
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

// TestFieldKeys checks that each predicted key is its field's, as fieldOf
// reads it, and that every field has one.
func TestFieldKeys(t *testing.T) {
	for f, k := range fieldKeys {
		if len(k) < 4 || k[0] != '"' || k[len(k)-2:] != `":` {
			t.Fatalf("field %d: key %q is not quoted with a colon", f, k)
		}
		if got := fieldOf([]byte(k[1:len(k)-2]), true); got != f {
			t.Errorf("key %s: fieldOf says %d, want %d", k, got, f)
		}
	}
}

// TestKeyPredictionFollowsTheLine decodes lines whose keys come in one
// order, then in others, then with spaces: every line must decode as
// decodeLine decodes it, whatever the predictor learnt before.
func TestKeyPredictionFollowsTheLine(t *testing.T) {
	lines := []string{
		`{"src":"c1","dest":"n1","body":{"type":"record","msg_id":2,"service":"a","target_service":"b","duration_ms":1.5,"status":200,"method":"GET","path":"/x"}}`,
		`{"src":"c1","dest":"n1","body":{"type":"record","msg_id":3,"service":"a","target_service":"b","duration_ms":2,"status":201,"method":"GET","path":"/y"}}`,
		`{"dest":"n1","src":"c1","body":{"msg_id":4,"type":"record","status":500,"service":"c","duration_ms":3}}`,
		`{"body":{"type":"trace","msg_id":5,"operation":"op","service":"c"},"src":"c1","dest":"n1"}`,
		`{"type":"record","msg_id":6,"service":"a","duration_ms":1,"status":200}`,
		`{"src" : "c1", "dest":"n1","body":{"type" :"record","msg_id": 7,"service":"a","duration_ms":1,"status":200}}`,
		`{"src":"c1","dest":"n1","body":{"type":"record","msg_id":8,"msg_id":9}}`,
		`{"src":"c1","dest":"n1","body":{"type":"record","src":"x"}}`,
		`{"src":"c1","dest":"n1","body":{"type":"record","msg_id":10,"service":"a","target_service":"b","duration_ms":1.5,"status":200,"method":"GET","path":"/x"}}`,
	}
	var d decoder
	for round := range 3 {
		for _, line := range lines {
			var got, want wireLine
			gerr, gframed := d.decode([]byte(line), &got)
			werr, wframed := decodeLine([]byte(line), &want)
			if (gerr == nil) != (werr == nil) || gframed != wframed || (gerr == nil && (!sameRequest(got, want) || got.envelope != want.envelope)) {
				t.Fatalf("round %d, %s:\n got %+v (%v)\nwant %+v (%v)", round, line, got, gerr, want, werr)
			}
		}
	}
}

// TestWordPattern checks the word comparison against the byte one, at
// every position of lines of every length around the 24-byte window.
func TestWordPattern(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, key := range fieldKeys {
		if len(key) > 24 {
			t.Fatalf("key %s is longer than a pattern", key)
		}
		p := newWordPattern(key)
		for range 2000 {
			b := make([]byte, rng.IntN(60))
			for j := range b {
				b[j] = "\"abcdeirstuy_:"[rng.IntN(14)]
			}
			if len(b) >= len(key) && rng.IntN(2) == 0 {
				copy(b[rng.IntN(len(b)-len(key)+1):], key)
			}
			for i := 0; i <= len(b); i++ {
				want := len(b)-i >= len(key) && string(b[i:i+len(key)]) == key
				if got := p.at(b, i); got != want {
					t.Fatalf("%s at %d of %q: %v, want %v", key, i, b, got, want)
				}
			}
		}
	}
}

// TestDecodeIntoReusedLine decodes every pair of lines, one after the
// other, into one wireLine, as the node does: the second must come out as
// decodeLine decodes it alone, whichever fields the first one filled (the
// fast path resets only those). Each field gets a line of its own.
func TestDecodeIntoReusedLine(t *testing.T) {
	lines := append(append([]string{}, decodeSeeds...), fastSeeds...)
	for f, key := range fieldKeys {
		v := `"v"`
		switch f {
		case fMsgID, fDurationMs, fStatus, fStatusCode, fLimit:
			v = "7"
		case fDetail, fRaw:
			v = "true"
		case fFilter:
			v = `{"source_service":"a","status":404}`
		case fTimestamp:
			v = `"2026-01-02T03:04:05Z"`
		case fBody:
			v = `{"type":"record","path":"/p","filter":{"target_service":"b"}}`
		}
		lines = append(lines, "{"+key+v+"}", `{"src":"c","dest":"n","body":{`+key+v+"}}")
	}
	var d decoder
	var w wireLine
	for _, first := range lines {
		for _, second := range lines {
			d.decode([]byte(first), &w)
			rerr, framed := d.decode([]byte(second), &w)
			var want wireLine
			wrerr, wframed := decodeLine([]byte(second), &want)
			if fmt.Sprint(rerr) != fmt.Sprint(wrerr) || framed != wframed || !sameRequest(w, want) || w.envelope != want.envelope {
				t.Fatalf("%s after %s:\n got %v %+v\nwant %v %+v", second, first, rerr, w, wrerr, want)
			}
		}
	}
}

// TestDecimalAt checks the one-pass conversion against scanNumber and
// smallDecimal, which it stands in front of: same end, same bits, and it
// declines what smallDecimal declines.
func TestDecimalAt(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const chars = "-0123456789.eE+x,}"
	for n := range 300_000 {
		var b []byte
		if n%2 == 0 { // mostly well-formed: -?int(.frac)?
			if rng.IntN(4) == 0 {
				b = append(b, '-')
			}
			b = strconv.AppendUint(b, rng.Uint64N(1<<uint(rng.IntN(60)+1)), 10)
			if rng.IntN(2) == 0 {
				b = append(b, '.')
				b = strconv.AppendUint(b, rng.Uint64N(1<<uint(rng.IntN(40)+1)), 10)
			}
		}
		for range rng.IntN(4) {
			b = append(b, chars[rng.IntN(len(chars))])
		}
		if len(b) == 0 {
			continue
		}
		end, v, ok := decimalAt(b, 0)
		wantEnd := scanNumber(b, 0)
		var want float64
		wantOK := wantEnd > 0
		if wantOK {
			want, wantOK = smallDecimal(b[:wantEnd])
		}
		if ok != wantOK || ok && (end != wantEnd || math.Float64bits(v) != math.Float64bits(want)) {
			t.Fatalf("decimalAt(%q) = %d, %v, %v; scanNumber and smallDecimal: %d, %v, %v", b, end, v, ok, wantEnd, want, wantOK)
		}
	}
}
