package node

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader splits input into lines without ever holding more than max
// bytes of one: a longer line is skipped whole and reported as too long.
type lineReader struct {
	r    *bufio.Reader
	max  int
	buf  []byte
	done bool
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// lineBuffered reports whether a whole line is buffered, so that next
// will not block. A buffered partial line does not count: the rest of it
// may be a long time coming.
func (lr *lineReader) lineBuffered() bool {
	b, _ := lr.r.Peek(lr.r.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// next returns the next line without its newline. The slice is valid until
// the next call. A last line without a newline is still a line.
func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	if lr.done {
		return nil, false, io.EOF
	}
	lr.buf = lr.buf[:0]
	n := 0 // bytes of this line seen so far
	for {
		chunk, err := lr.r.ReadSlice('\n')
		n += len(chunk)
		if n > lr.max+1 { // +1: the newline itself
			tooLong = true
			lr.buf = lr.buf[:0]
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, true, nil
			}
			if len(lr.buf) == 0 {
				return chunk[:len(chunk)-1], false, nil
			}
			lr.buf = append(lr.buf, chunk...)
			return lr.buf[:len(lr.buf)-1], false, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if !tooLong {
				lr.buf = append(lr.buf, chunk...)
			}
		case errors.Is(err, io.EOF):
			lr.done = true
			if n == 0 {
				return nil, false, io.EOF
			}
			if tooLong || n > lr.max { // no newline here: n is the line's length
				return nil, true, nil
			}
			return append(lr.buf, chunk...), false, nil
		default:
			return nil, false, err
		}
	}
}
