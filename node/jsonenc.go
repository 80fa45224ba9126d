package node

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The fixed-shape replies on the hot path (metrics_recorded, trace_created)
// are appended byte by byte; the rest go through encoding/json.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does
// (without HTML escaping) and replacing invalid UTF-8 with U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
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

// appendHeader opens a reply body: {"type":T[,"in_reply_to":N]
func appendHeader(b []byte, typ string, id msgID) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, typ)
	if id.set {
		b = append(b, `,"in_reply_to":`...)
		b = strconv.AppendInt(b, id.v, 10)
	}
	return b
}

// appendFields appends the fields of the JSON object v (a struct) to an open
// object, as ",field:value...": used for replies whose body is not fixed-shape.
func appendFields(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, err
	}
	obj := bytes.TrimSpace(buf.Bytes())
	// obj is {...}; splice its members after the header.
	inner := obj[1 : len(obj)-1]
	if len(inner) > 0 {
		b = append(b, ',')
		b = append(b, inner...)
	}
	return b, nil
}
