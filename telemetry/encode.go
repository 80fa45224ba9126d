package telemetry

import (
	"encoding/base64"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// One encoder for every reply, so that the stdio node and the HTTP API
// write the same value the same way: strings as encoding/json escapes them
// (without HTML escaping), numbers as encoding/json formats them. Replies
// are appended by hand: through encoding/json's reflection, generate cost
// 60% of its time at 1,000 services.

// Reply is one answer of the query layer: the body of a stdio reply and
// of an HTTP API answer.
type Reply interface {
	// Type is the reply's "type" field, e.g. "service_graph".
	Type() string
	// AppendFields appends the reply's fields, each as `,"name":value`, to
	// an open JSON object.
	AppendFields(b []byte) []byte
}

// AppendReply appends r as a whole JSON object: {"type":T,fields...}.
func AppendReply(b []byte, r Reply) []byte {
	b = AppendHeader(b, r.Type())
	b = r.AppendFields(b)
	return append(b, '}')
}

// AppendHeader opens a reply body: {"type":T. The stdio node adds
// in_reply_to after it.
func AppendHeader(b []byte, typ string) []byte {
	b = append(b, `{"type":`...)
	return AppendString(b, typ)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped as encoding/json escapes
// it without HTML escaping (\b, \f, \n, \r, \t, \uXXXX for other controls,
// U+2028 and U+2029), invalid UTF-8 replaced with U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time past those that need nothing: printable
		// ASCII but '"' and '\\'.
		if i+8 <= len(s) {
			m := escapeBytes(load64(s[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else if len(s) >= 8 && escapeBytes(load64(s[len(s)-8:])) == 0 {
			break // the last eight bytes, overlapping plain ones, are plain too
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Bytes repeated over a word, for the word-at-a-time scan.
const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// escapeBytes marks, with its high bit, each byte of the eight in x
// (little endian) that AppendString cannot copy as it is: '"', '\\', a
// control character, or one of UTF-8 (0x80 and above). A mark above a
// marked byte may be false (the borrows of the zero-byte test), but the
// lowest mark is exact: the first such byte is byte bits.TrailingZeros64(m)>>3.
func escapeBytes(x uint64) uint64 {
	q := x ^ (lowBits * '"')
	bs := x ^ (lowBits * '\\')
	ctl := x - lowBits*0x20 // marks < 0x20, and >= 0xa0 (marked anyway)
	return (ctl | x | (q-lowBits)&^q | (bs-lowBits)&^bs) & highBits
}

// load64 reads the first eight bytes of s, little endian.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendFloat formats f as encoding/json does; NaN and infinities, which
// JSON cannot carry, are written as null.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// appendKey appends `,"name":` (or `"name":` first in an object when first).
func appendKey(b []byte, name string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = AppendString(b, name)
	return append(b, ':')
}

// appendStrings appends a JSON array of strings; nil is [].
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// appendAttributes appends attributes as one JSON object, keys sorted (as
// encoding/json sorts map keys); of duplicate keys the last wins.
func appendAttributes(b []byte, kvs []attribute.KeyValue) []byte {
	sorted := slices.Clone(kvs)
	slices.SortStableFunc(sorted, func(x, y attribute.KeyValue) int {
		switch {
		case x.Key < y.Key:
			return -1
		case x.Key > y.Key:
			return 1
		}
		return 0
	})
	b = append(b, '{')
	first := true
	for i, kv := range sorted {
		if i+1 < len(sorted) && sorted[i+1].Key == kv.Key {
			continue
		}
		b = appendKey(b, string(kv.Key), first)
		first = false
		b = appendValue(b, kv.Value)
	}
	return append(b, '}')
}

func appendValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return appendBool(b, v.AsBool())
	case attribute.INT64:
		return appendInt(b, v.AsInt64())
	case attribute.FLOAT64:
		return appendFloat(b, v.AsFloat64())
	case attribute.STRING:
		return AppendString(b, v.AsString())
	case attribute.BOOLSLICE:
		return appendSlice(b, v.AsBoolSlice(), appendBool)
	case attribute.INT64SLICE:
		return appendSlice(b, v.AsInt64Slice(), appendInt)
	case attribute.FLOAT64SLICE:
		return appendSlice(b, v.AsFloat64Slice(), appendFloat)
	case attribute.STRINGSLICE:
		return appendSlice(b, v.AsStringSlice(), AppendString)
	case attribute.BYTESLICE:
		// as encoding/json writes []byte: base64
		return AppendString(b, base64.StdEncoding.EncodeToString(v.AsByteSlice()))
	case attribute.SLICE:
		return appendSlice(b, v.AsSlice(), appendValue)
	case attribute.MAP:
		return appendAttributes(b, v.AsMap())
	case attribute.EMPTY:
		return append(b, "null"...)
	}
	return AppendString(b, v.Emit())
}

func appendSlice[T any](b []byte, vs []T, f func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = f(b, v)
	}
	return append(b, ']')
}
