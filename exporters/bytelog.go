package exporters

// logChunk is the size of a byteLog's chunks: large enough that a span
// rarely straddles two, small enough that a small store wastes little.
const logChunk = 64 << 10

// maxSpareChunks bounds the chunks a byteLog keeps for reuse.
const maxSpareChunks = 4

// byteLog is an append-only sequence of bytes whose oldest part can be
// released, for records that are removed oldest first (the span store's
// ring): each record appends its bytes and remembers their position, and
// releases what precedes the oldest record still held. The bytes live in
// fixed-size chunks, reused as they are released, so a log in steady
// state allocates nothing; they hold no pointers, so the garbage
// collector never scans them.
//
// Written bytes never change until released: a string made from them by
// copy stays valid. It is not safe for concurrent use.
type byteLog struct {
	chunks [][]byte // chunks[i] holds positions [(base+i)*logChunk, (base+i+1)*logChunk)
	base   uint64   // chunk number of chunks[0]
	end    uint64   // position of the next byte appended
	spare  [][]byte // released chunks, ready for reuse
}

// append appends b and returns the position of its first byte.
func (l *byteLog) append(b []byte) uint64 {
	pos := l.end
	for len(b) > 0 {
		off := int(l.end % logChunk)
		if off == 0 && l.end/logChunk-l.base == uint64(len(l.chunks)) {
			l.grow()
		}
		n := copy(l.chunks[l.end/logChunk-l.base][off:], b)
		b = b[n:]
		l.end += uint64(n)
	}
	return pos
}

// tail returns the free bytes of the chunk the next append writes into,
// as an empty slice whose capacity they are: a caller may append to it in
// place, then commit what it wrote.
func (l *byteLog) tail() []byte {
	off := int(l.end % logChunk)
	if off == 0 && l.end/logChunk-l.base == uint64(len(l.chunks)) {
		l.grow()
	}
	return l.chunks[l.end/logChunk-l.base][off:off]
}

// commit appends the n bytes written into tail's slice and returns their
// position.
func (l *byteLog) commit(n int) uint64 {
	pos := l.end
	l.end += uint64(n)
	return pos
}

func (l *byteLog) grow() {
	var c []byte
	if n := len(l.spare); n > 0 {
		c, l.spare = l.spare[n-1], l.spare[:n-1]
	} else {
		c = make([]byte, logChunk)
	}
	if len(l.chunks) == 0 {
		l.base = l.end / logChunk
	}
	l.chunks = append(l.chunks, c)
}

// release lets go of the bytes before position upTo.
func (l *byteLog) release(upTo uint64) {
	for len(l.chunks) > 0 && (l.base+1)*logChunk <= upTo {
		if len(l.spare) < maxSpareChunks {
			l.spare = append(l.spare, l.chunks[0])
		}
		l.chunks[0] = nil
		l.chunks = l.chunks[1:]
		l.base++
	}
}

// appendTo appends the n bytes at position pos to dst.
func (l *byteLog) appendTo(dst []byte, pos uint64, n int) []byte {
	for n > 0 {
		c := l.chunks[pos/logChunk-l.base][pos%logChunk:]
		if len(c) > n {
			c = c[:n]
		}
		dst = append(dst, c...)
		pos += uint64(len(c))
		n -= len(c)
	}
	return dst
}

// view returns the n bytes at position pos: the log's own when they are
// in one chunk (valid until released), else a copy appended to scratch.
func (l *byteLog) view(pos uint64, n int, scratch []byte) []byte {
	if off := pos % logChunk; off+uint64(n) <= logChunk {
		return l.chunks[pos/logChunk-l.base][off : off+uint64(n)]
	}
	return l.appendTo(scratch[:0], pos, n)
}

// string returns the n bytes at position pos as a string.
func (l *byteLog) string(pos uint64, n int) string {
	if n == 0 {
		return ""
	}
	if off := pos % logChunk; off+uint64(n) <= logChunk {
		return string(l.chunks[pos/logChunk-l.base][off : off+uint64(n)])
	}
	return string(l.appendTo(make([]byte, 0, n), pos, n))
}
