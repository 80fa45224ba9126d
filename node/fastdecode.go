package node

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// decoder decodes request lines, keeping a cache of the strings it has
// decoded lately so that the service names, types, methods and paths that
// every line repeats are not allocated again for each line.
type decoder struct {
	strs stringCache
	keys keyPredictor
	vals [numFields]string // each field's string value on the last line that had one

	// last is the line the previous decode filled on the fast path, set
	// the fields it filled (see fastDecode): what decode must reset when
	// it is given last again.
	last *wireLine
	set  [2]uint32
}

// decode parses one line into w, as decodeLine does. Lines of the plain
// shape every client sends (see fastDecode) take a single pass; every other
// line, the malformed ones included, goes through decodeLine.
func (d *decoder) decode(line []byte, w *wireLine) (rerr *Error, framed bool) {
	// Reset w to emptyLine: when the fast path filled it last, only the
	// fields it filled, instead of copying all of emptyLine (about 1 KB,
	// half of it pointers that the write barrier visits while the
	// collector marks).
	if w == d.last {
		clearFields(&w.wireBody, w, d.set[0])
		clearFields(&w.Body, nil, d.set[1])
		w.envelope = false
	} else {
		*w = emptyLine
	}
	d.last = nil
	set, ok := fastDecode(line, w, d)
	if ok {
		d.last, d.set = w, set
		return nil, true
	}
	return decodeLine(line, w)
}

// clearFields sets the fields of body (and of top, the line, when body is
// its own) that set marks, one bit per field, back to emptyLine's.
func clearFields(body *wireBody, top *wireLine, set uint32) {
	for ; set != 0; set &= set - 1 {
		switch bits.TrailingZeros32(set) {
		case fType:
			body.Type = absentStr
		case fMsgID:
			body.MsgID = msgID{}
		case fNodeID:
			body.NodeID = absentStr
		case fService:
			body.Service = absentStr
		case fDurationMs:
			body.DurationMs = emptyBody.DurationMs
		case fStatus:
			body.Status = emptyBody.Status
		case fStatusCode:
			body.StatusCode = emptyBody.StatusCode
		case fTargetService:
			body.TargetService = absentStr
		case fTarget:
			body.Target = absentStr
		case fDestinationService:
			body.DestinationService = absentStr
		case fDestination:
			body.Destination = absentStr
		case fSourceService:
			body.SourceService = absentStr
		case fSource:
			body.Source = absentStr
		case fMethod:
			body.Method = absentStr
		case fPath:
			body.Path = absentStr
		case fProtocol:
			body.Protocol = absentStr
		case fTraceID:
			body.TraceID = absentStr
		case fSpanID:
			body.SpanID = absentStr
		case fTimestamp:
			body.Timestamp = nil
		case fOperation:
			body.Operation = absentStr
		case fParentSpanID:
			body.ParentSpanID = absentStr
		case fKind:
			body.Kind = absentStr
		case fDetail:
			body.Detail = false
		case fRaw:
			body.Raw = false
		case fLimit:
			body.Limit = emptyBody.Limit
		case fFormat:
			body.Format = absentStr
		case fFilter:
			body.Filter = nil
		case fSrc:
			top.Src = absentStr
		case fDest:
			top.Dest = absentStr
		case fBody: // the body's fields have their own set
		}
	}
}

// fastDecode decodes line into w, which must hold emptyLine, when line is a
// JSON object of the plain shape: object keys that are field names exactly,
// each at most once per object, with no escapes; string values of printable
// ASCII without escapes; numbers; true, false and null; and a "body" that is
// such an object or null; a "filter" that is an object of such members, or
// null. node_ids and attributes are not read here. For such a line it
// fills w exactly as goccy/go-json and encoding/json do (FuzzFastDecode
// checks it against decodeLine) and returns true, with the fields it
// filled: set[0] of the line's (w's own wireBody, src and dest), set[1] of
// its body, one bit per field. For anything else it returns false, having
// perhaps changed w: decodeLine then decodes the line, or explains what is
// wrong with it.
func fastDecode(line []byte, w *wireLine, dec *decoder) (set [2]uint32, ok bool) {
	d := fastDec{b: line, strs: &dec.strs, keys: &dec.keys, vals: &dec.vals}
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return set, false
	}
	i = d.object(i, &w.wireBody, w)
	return d.set, i >= 0 && skipWS(line, i) == len(line)
}

// fastDec is the state of one fastDecode.
type fastDec struct {
	b    []byte
	strs *stringCache
	keys *keyPredictor
	vals *[numFields]string // each field's string value of the last line
	set  [2]uint32          // the fields filled, of the line and of its body
}

// keyPredictor remembers, for each object level (the line's, and a body
// inside it) and each key, the key that followed it last time: a client
// writes its keys in the same order on every line, so the next key is
// mostly known, and matching its quoted name and colon at once replaces
// scanning the key, looking it up and finding the colon. The zero value
// predicts nothing yet.
type keyPredictor [2][numFields + 1]int8 // [nested][previous field + 1] = next field + 1

// predict returns the key expected after field prev (-1: the object's
// first key) at an object level, or -1.
func (k *keyPredictor) predict(nested bool, prev int) int {
	return int(k[b2i(nested)][prev+1]) - 1
}

// learn records that field f followed field prev.
func (k *keyPredictor) learn(nested bool, prev, f int) { k[b2i(nested)][prev+1] = int8(f + 1) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Field numbers, for the duplicate check: one bit each.
const (
	fType = iota
	fMsgID
	fNodeID
	fService
	fDurationMs
	fStatus
	fStatusCode
	fTargetService
	fTarget
	fDestinationService
	fDestination
	fSourceService
	fSource
	fMethod
	fPath
	fProtocol
	fTraceID
	fSpanID
	fTimestamp
	fOperation
	fParentSpanID
	fKind
	fDetail
	fRaw
	fLimit
	fFormat
	fFilter
	fSrc
	fDest
	fBody
	numFields
)

// fieldKeys are the fields' keys as a compact line writes them: quoted,
// with the colon. fieldOf(key) of each is its field.
var fieldKeys = func() (k [numFields]string) {
	for f, name := range [numFields]string{fType: "type", fMsgID: "msg_id", fNodeID: "node_id", fService: "service",
		fDurationMs: "duration_ms", fStatus: "status", fStatusCode: "status_code", fTargetService: "target_service",
		fTarget: "target", fDestinationService: "destination_service", fDestination: "destination",
		fSourceService: "source_service", fSource: "source", fMethod: "method", fPath: "path", fProtocol: "protocol",
		fTraceID: "trace_id", fSpanID: "span_id", fTimestamp: "timestamp", fOperation: "operation",
		fParentSpanID: "parent_span_id", fKind: "kind", fDetail: "detail", fRaw: "raw", fLimit: "limit",
		fFormat: "format", fFilter: "filter", fSrc: "src", fDest: "dest", fBody: "body"} {
		k[f] = `"` + name + `":`
	}
	return k
}()

// object reads the object at d.b[i] == '{' into body, and returns the index
// after it, or -1. top is the line itself when this is the top-level object
// (src, dest and body are its fields), else nil.
func (d *fastDec) object(i int, body *wireBody, top *wireLine) int {
	b := d.b
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	var seen uint32
	nested, prev := top == nil, -1
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		var f int
		if p := d.keys.predict(nested, prev); p >= 0 && keyWords[p].at(b, i) {
			f, i = p, i+len(fieldKeys[p])
		} else {
			// The key: plain ASCII, no escapes.
			end := plainString(b, i)
			if end < 0 {
				return -1
			}
			key := b[i+1 : end-1]
			i = skipWS(b, end)
			if i >= len(b) || b[i] != ':' {
				return -1
			}
			i++
			if f = fieldOf(key, top != nil); f >= 0 {
				d.keys.learn(nested, prev, f)
			}
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return -1
		}
		if f < 0 || seen&(1<<f) != 0 {
			return -1
		}
		seen |= 1 << f
		prev = f
		switch f {
		case fType:
			i = d.str(i, &body.Type, fType)
		case fMsgID:
			i = d.msgID(i, &body.MsgID)
		case fNodeID:
			i = d.str(i, &body.NodeID, fNodeID)
		case fService:
			i = d.str(i, &body.Service, fService)
		case fDurationMs:
			i = d.num(i, &body.DurationMs)
		case fStatus:
			i = d.num(i, &body.Status)
		case fStatusCode:
			i = d.num(i, &body.StatusCode)
		case fTargetService:
			i = d.str(i, &body.TargetService, fTargetService)
		case fTarget:
			i = d.str(i, &body.Target, fTarget)
		case fDestinationService:
			i = d.str(i, &body.DestinationService, fDestinationService)
		case fDestination:
			i = d.str(i, &body.Destination, fDestination)
		case fSourceService:
			i = d.str(i, &body.SourceService, fSourceService)
		case fSource:
			i = d.str(i, &body.Source, fSource)
		case fMethod:
			i = d.str(i, &body.Method, fMethod)
		case fPath:
			i = d.str(i, &body.Path, fPath)
		case fProtocol:
			i = d.str(i, &body.Protocol, fProtocol)
		case fTraceID:
			i = d.str(i, &body.TraceID, fTraceID)
		case fSpanID:
			i = d.str(i, &body.SpanID, fSpanID)
		case fTimestamp:
			i = d.raw(i, &body.Timestamp)
		case fOperation:
			i = d.str(i, &body.Operation, fOperation)
		case fParentSpanID:
			i = d.str(i, &body.ParentSpanID, fParentSpanID)
		case fKind:
			i = d.str(i, &body.Kind, fKind)
		case fDetail:
			i = d.boolean(i, &body.Detail)
		case fRaw:
			i = d.boolean(i, &body.Raw)
		case fLimit:
			i = d.num(i, &body.Limit)
		case fFormat:
			i = d.str(i, &body.Format, fFormat)
		case fFilter:
			i = d.filter(i, &body.Filter)
		case fSrc:
			i = d.str(i, &top.Src, fSrc)
		case fDest:
			i = d.str(i, &top.Dest, fDest)
		case fBody:
			switch b[i] {
			case '{':
				i = d.object(i, &top.Body, nil)
				top.envelope = true
			case 'n':
				i = scanLiteral(b, i, "null")
			default:
				return -1
			}
		}
		if i < 0 {
			return -1
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '}':
			d.set[b2i(nested)] = seen
			return i + 1
		case ',':
			i = skipWS(b, i+1)
		default:
			return -1
		}
	}
}

// keyWords are fieldKeys as words, for a comparison without a call: a
// quoted key with its colon is at most 24 bytes.
var keyWords = func() (k [numFields]wordPattern) {
	for f, key := range fieldKeys {
		k[f] = newWordPattern(key)
	}
	return k
}()

// wordPattern is a string of at most 24 bytes as three little-endian
// words, with masks for the bytes it has.
type wordPattern struct {
	s    string
	w, m [3]uint64
}

func newWordPattern(s string) wordPattern {
	p := wordPattern{s: s}
	for j := range len(s) {
		p.w[j/8] |= uint64(s[j]) << (8 * (j % 8))
		p.m[j/8] |= 0xff << (8 * (j % 8))
	}
	return p
}

// at reports whether b holds the pattern at i.
func (p *wordPattern) at(b []byte, i int) bool {
	if len(b)-i < 24 { // near the end of the line: bytes, not words
		return len(b)-i >= len(p.s) && string(b[i:i+len(p.s)]) == p.s
	}
	b = b[i : i+24]
	return (binary.LittleEndian.Uint64(b)^p.w[0])&p.m[0]|
		(binary.LittleEndian.Uint64(b[8:])^p.w[1])&p.m[1]|
		(binary.LittleEndian.Uint64(b[16:])^p.w[2])&p.m[2] == 0
}

// fieldOf returns the field a key names, or -1 for a key fastDecode leaves
// to decodeLine (unknown keys among them). src, dest and body are fields of
// the top-level object only.
func fieldOf(key []byte, top bool) int {
	switch string(key) {
	case "type":
		return fType
	case "msg_id":
		return fMsgID
	case "node_id":
		return fNodeID
	case "service":
		return fService
	case "duration_ms":
		return fDurationMs
	case "status":
		return fStatus
	case "status_code":
		return fStatusCode
	case "target_service":
		return fTargetService
	case "target":
		return fTarget
	case "destination_service":
		return fDestinationService
	case "destination":
		return fDestination
	case "source_service":
		return fSourceService
	case "source":
		return fSource
	case "method":
		return fMethod
	case "path":
		return fPath
	case "protocol":
		return fProtocol
	case "trace_id":
		return fTraceID
	case "span_id":
		return fSpanID
	case "timestamp":
		return fTimestamp
	case "operation":
		return fOperation
	case "parent_span_id":
		return fParentSpanID
	case "kind":
		return fKind
	case "detail":
		return fDetail
	case "raw":
		return fRaw
	case "limit":
		return fLimit
	case "format":
		return fFormat
	case "filter":
		return fFilter
	}
	if top {
		switch string(key) {
		case "src":
			return fSrc
		case "dest":
			return fDest
		case "body":
			return fBody
		}
	}
	return -1
}

// filter reads a query's filter object, or null, into f.
func (d *fastDec) filter(i int, f **wireFilter) int {
	b := d.b
	if b[i] == 'n' {
		return scanLiteral(b, i, "null")
	}
	if b[i] != '{' {
		return -1
	}
	wf := &wireFilter{}
	*f = wf
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	var seen uint8
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		end := plainString(b, i)
		if end < 0 {
			return -1
		}
		key := b[i+1 : end-1]
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return -1
		}
		var bit uint8
		var sp **string
		switch string(key) {
		case "source_service":
			bit, sp = 1, &wf.SourceService
		case "target_service":
			bit, sp = 2, &wf.TargetService
		case "status_class":
			bit, sp = 4, &wf.StatusClass
		case "status":
			bit = 8
		default:
			return -1
		}
		if seen&bit != 0 {
			return -1
		}
		seen |= bit
		switch {
		case b[i] == 'n':
			i = scanLiteral(b, i, "null") // the pointer stays nil
		case sp != nil && b[i] == '"':
			end := plainString(b, i)
			if end < 0 {
				return -1
			}
			v := d.strs.get(b[i+1 : end-1])
			*sp, i = &v, end
		case sp == nil:
			var v num
			if i = d.num(i, &v); i >= 0 {
				fv := float64(v)
				wf.Status = &fv
			}
		default:
			return -1
		}
		if i < 0 {
			return -1
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '}':
			return i + 1
		case ',':
			i = skipWS(b, i+1)
		default:
			return -1
		}
	}
}

// plainString returns the end of the string at b[i] == '"' (the index after
// its closing quote) when it holds printable ASCII only, no escapes; else -1.
func plainString(b []byte, i int) int {
	// Eight bytes at a time while eight are left (the closing quote and
	// the rest of the line mostly are), then byte by byte.
	for i++; i+8 <= len(b); i += 8 {
		if m := stopBytes(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			if b[i] == '"' {
				return i + 1
			}
			return -1
		}
	}
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20 || c >= 0x7f || c == '\\':
			return -1
		}
	}
	return -1
}

// Bytes repeated over a word, for the word-at-a-time scans.
const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// stopBytes marks, with its high bit, each byte of the eight in x (little
// endian) that plainString stops at: '"', '\\', a control character, or
// 0x7f and above. A mark above a marked byte may be false (the borrows of
// the zero-byte test), but the lowest mark is exact: the first byte to
// stop at is byte bits.TrailingZeros64(m)>>3.
func stopBytes(x uint64) uint64 {
	q := x ^ (lowBits * '"')
	bs := x ^ (lowBits * '\\')
	del := x ^ (lowBits * 0x7f)
	ctl := x - lowBits*0x20 // marks < 0x20, and >= 0xa0 (stops anyway)
	return (ctl | x | (q-lowBits)&^q | (bs-lowBits)&^bs | (del-lowBits)&^del) & highBits
}

// str reads a string or null into s, the value of field f.
func (d *fastDec) str(i int, s *str, f int) int {
	switch d.b[i] {
	case '"':
		// A field mostly repeats its value of the last line (a type, the
		// envelope's ends, a method): its bytes and closing quote, found
		// at once, are a plain string equal to it.
		if v := d.vals[f]; len(v) > 0 && len(d.b)-i > len(v)+1 && d.b[i+1+len(v)] == '"' && string(d.b[i+1:i+1+len(v)]) == v {
			*s = str(v)
			return i + 2 + len(v)
		}
		end := plainString(d.b, i)
		if end < 0 {
			return -1
		}
		v := d.strs.get(d.b[i+1 : end-1])
		d.vals[f] = v
		*s = str(v)
		return end
	case 'n':
		return scanLiteral(d.b, i, "null")
	}
	return -1
}

// num reads a number in float64 range, or null, into f.
func (d *fastDec) num(i int, f *num) int {
	if d.b[i] == 'n' {
		return scanLiteral(d.b, i, "null")
	}
	if end, v, ok := decimalAt(d.b, i); ok {
		*f = num(v)
		return end
	}
	end := scanNumber(d.b, i)
	if end < 0 {
		return -1
	}
	if v, ok := smallDecimal(d.b[i:end]); ok {
		*f = num(v)
		return end
	}
	v, err := strconv.ParseFloat(string(d.b[i:end]), 64)
	if err != nil {
		return -1 // out of range: an error decodeLine words
	}
	*f = num(v)
	return end
}

// decimalAt scans and converts, in one pass, the number at b[i] when it
// is one smallDecimal converts: at most 15 digits, without exponent. It
// returns the index after it and its value, or ok false for anything else
// (scanNumber and smallDecimal then say what it is).
func decimalAt(b []byte, i int) (end int, v float64, ok bool) {
	j := i
	neg := j < len(b) && b[j] == '-'
	if neg {
		j++
	}
	var m uint64
	start := j
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			m = m*10 + uint64(b[j]-'0')
			j++
		}
	default:
		return 0, 0, false
	}
	digits, frac := j-start, 0
	if j < len(b) && b[j] == '.' {
		j++
		fstart := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			m = m*10 + uint64(b[j]-'0')
			j++
		}
		if frac = j - fstart; frac == 0 {
			return 0, 0, false
		}
		digits += frac
	}
	if digits > 15 || (j < len(b) && (b[j] == 'e' || b[j] == 'E')) {
		return 0, 0, false
	}
	v = float64(m)
	if frac > 0 {
		v /= exactPow10[frac]
	}
	if neg {
		v = -v
	}
	return j, v, true
}

// exactPow10 are the powers of ten a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// smallDecimal converts a JSON number without exponent and with at most 15
// digits, the numbers requests carry (200, 14.55), as strconv.ParseFloat
// does: such a mantissa and the power of ten are exact float64s, and one
// IEEE division rounds correctly. ok is false for any other number.
func smallDecimal(b []byte) (v float64, ok bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var m uint64
	digits, frac := 0, -1 // frac: digits after the point, -1 before it
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.':
			frac = 0
		default: // an exponent
			return 0, false
		}
	}
	if digits > 15 {
		return 0, false
	}
	v = float64(m)
	if frac > 0 {
		v /= exactPow10[frac]
	}
	if neg {
		v = -v
	}
	return v, true
}

// boolean reads true, false or null into v.
func (d *fastDec) boolean(i int, v *bool) int {
	switch d.b[i] {
	case 't':
		*v = true
		return scanLiteral(d.b, i, "true")
	case 'f':
		*v = false
		return scanLiteral(d.b, i, "false")
	case 'n':
		return scanLiteral(d.b, i, "null")
	}
	return -1
}

// scalar returns the end of the number, plain string or literal at i, or -1.
func (d *fastDec) scalar(i int) int {
	switch c := d.b[i]; {
	case c == '"':
		return plainString(d.b, i)
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(d.b, i)
	case c == 't':
		return scanLiteral(d.b, i, "true")
	case c == 'f':
		return scanLiteral(d.b, i, "false")
	case c == 'n':
		return scanLiteral(d.b, i, "null")
	}
	return -1
}

// msgID reads a scalar into id as its UnmarshalJSON does: anything but an
// integer or null makes it bad.
func (d *fastDec) msgID(i int, id *msgID) int {
	// Mostly a positive integer of a few digits, followed by ',' or '}'.
	b := d.b
	if j := i; b[j] >= '1' && b[j] <= '9' {
		var v int64
		for j < len(b) && j-i < 18 && b[j] >= '0' && b[j] <= '9' {
			v = v*10 + int64(b[j]-'0')
			j++
		}
		if j < len(b) && (b[j] == ',' || b[j] == '}') {
			id.v, id.set = v, true
			return j
		}
	}
	end := d.scalar(i)
	if end < 0 {
		return -1
	}
	if v, ok := smallInt(d.b[i:end]); ok {
		id.v, id.set = v, true
		return end
	}
	_ = id.UnmarshalJSON(d.b[i:end])
	return end
}

// smallInt parses 1 to 18 digits, as strconv.ParseInt would; ok is false
// for anything else.
func smallInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// raw keeps the JSON text of a scalar in r, as its UnmarshalJSON does.
func (d *fastDec) raw(i int, r *rawValue) int {
	end := d.scalar(i)
	if end >= 0 {
		_ = r.UnmarshalJSON(d.b[i:end])
	}
	return end
}

// stringCache hands out strings for byte slices, reusing the string of an
// equal slice seen lately: a direct-mapped cache of cacheSlots strings of at
// most cacheMaxLen bytes, so its memory is bounded whatever arrives, and a
// stream of distinct values only evicts, never grows it. The zero value is
// ready to use.
type stringCache struct {
	slots *[cacheSlots]string
}

const (
	cacheSlots  = 1 << cacheBits
	cacheBits   = 11
	cacheMaxLen = 128
)

func (c *stringCache) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > cacheMaxLen {
		return string(b)
	}
	if c.slots == nil {
		c.slots = new([cacheSlots]string)
	}
	slot := &c.slots[slotOf(b)]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}

// slotOf hashes b, 1 to cacheMaxLen bytes, from its length and its first
// and last 8 bytes: constant time, and different enough for the names and
// paths of a mesh. Values that collide only evict each other.
func slotOf(b []byte) uint64 {
	var h uint64
	if len(b) >= 8 {
		h = binary.LittleEndian.Uint64(b) ^ bits64(binary.LittleEndian.Uint64(b[len(b)-8:]))
	} else {
		for _, c := range b {
			h = h<<8 | uint64(c)
		}
	}
	h ^= uint64(len(b)) << 56
	return (h * 0x9e3779b97f4a7c15) >> (64 - cacheBits)
}

// bits64 mixes the last 8 bytes so that a string whose first and last 8
// bytes are equal does not hash to 0.
func bits64(x uint64) uint64 { return x*0xff51afd7ed558ccd ^ x>>29 }
