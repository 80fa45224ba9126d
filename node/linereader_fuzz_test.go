package node

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// FuzzLineReader checks the framing against bytes.Split: every line
// (a last one without newline included) comes back whole, or as too long
// exactly when it has more than max bytes. A small bufio buffer makes the
// fuzzer cross buffer boundaries.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\r\n\nccc"), 2, 16)
	f.Add([]byte("0123456789abcdef0123\nx\n"), 5, 16)
	f.Add([]byte("0123456789abcdef0123456789abcdef01234567\n"), 40, 16)
	f.Add([]byte("0123456789abcdef0123456789abcdef012345678"), 40, 16)
	f.Fuzz(func(t *testing.T, in []byte, max, bufSize int) {
		if max < 1 || max > 1<<16 || bufSize < 16 || bufSize > 1<<16 {
			t.Skip()
		}
		lr := &lineReader{r: bufio.NewReaderSize(bytes.NewReader(in), bufSize), max: max}
		want := bytes.Split(in, []byte("\n"))
		if len(want[len(want)-1]) == 0 {
			want = want[:len(want)-1]
		}
		for i, w := range want {
			line, tooLong, err := lr.next()
			if err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			if tooLong != (len(w) > max) {
				t.Fatalf("line %d (%d bytes, max %d): tooLong = %v", i, len(w), max, tooLong)
			}
			if !tooLong && !bytes.Equal(line, w) {
				t.Fatalf("line %d: got %q, want %q", i, line, w)
			}
		}
		if _, _, err := lr.next(); err != io.EOF {
			t.Fatalf("after %d lines: %v, want EOF", len(want), err)
		}
	})
}
