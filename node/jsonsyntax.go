package node

import (
	stdjson "encoding/json"
	"unicode/utf8"
)

// maxJSONDepth is encoding/json's nesting limit, kept so that both decoders
// give the same verdict on deep input.
const maxJSONDepth = 10000

// syntax is what checkSyntax learns of a line.
type syntax struct {
	// valid: the line is exactly one JSON value (see checkSyntax).
	valid bool
	// ascii: the line is plain ASCII, so that callers can skip UTF-8 checks.
	ascii bool
	// envelope: the line is an object whose (last) "body" member is an
	// object: a Maelstrom envelope.
	envelope bool
}

// checkSyntax reports whether b is exactly one JSON value by RFC 8259 as
// encoding/json reads it: no leading zeros, no trailing commas, no raw
// control characters in strings, only valid escapes, nothing but JSON
// whitespace after the value, at most maxJSONDepth levels of nesting.
// Invalid UTF-8 inside strings is valid here, as for encoding/json, which
// reads each invalid byte as U+FFFD (see sanitizeUTF8).
//
// goccy/go-json accepts much of what this rejects (leading zeros, "1.",
// trailing commas in skipped values, control characters in strings, bytes
// after the value); it runs only on lines that pass here.
func checkSyntax(b []byte) syntax {
	var stackBuf [32]byte // '{' or '[' per open level
	stack := stackBuf[:0]
	s := syntax{ascii: true}
	bodyNext := false // the value about to be read is a top-level "body"
	i := 0
	// Each turn of the loop reads one value, then the separators after it.
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return syntax{ascii: s.ascii}
		}
		if bodyNext {
			s.envelope, bodyNext = b[i] == '{', false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack) >= maxJSONDepth {
				return syntax{ascii: s.ascii}
			}
			stack = append(stack, c)
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' or ']': empty
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				start := i
				var a bool
				if i, a = scanKey(b, i); i < 0 {
					return syntax{ascii: s.ascii}
				}
				s.ascii = s.ascii && a
				bodyNext = len(stack) == 1 && isBodyKey(b[start:i])
			}
			continue
		case c == '"':
			var a bool
			if i, a = scanString(b, i); i < 0 {
				return syntax{ascii: s.ascii}
			}
			s.ascii = s.ascii && a
		case c == '-' || (c >= '0' && c <= '9'):
			if i = scanNumber(b, i); i < 0 {
				return syntax{ascii: s.ascii}
			}
		case c == 't':
			if i = scanLiteral(b, i, "true"); i < 0 {
				return syntax{ascii: s.ascii}
			}
		case c == 'f':
			if i = scanLiteral(b, i, "false"); i < 0 {
				return syntax{ascii: s.ascii}
			}
		case c == 'n':
			if i = scanLiteral(b, i, "null"); i < 0 {
				return syntax{ascii: s.ascii}
			}
		default:
			return syntax{ascii: s.ascii}
		}
		// After a value: close levels, or a comma and the next member.
		for {
			i = skipWS(b, i)
			if len(stack) == 0 {
				s.valid = i == len(b)
				if !s.valid {
					s.envelope = false
				}
				return s
			}
			if i >= len(b) {
				return syntax{ascii: s.ascii}
			}
			open := stack[len(stack)-1]
			if b[i] == open+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return syntax{ascii: s.ascii}
			}
			i++
			if open == '{' {
				start := skipWS(b, i)
				var a bool
				if i, a = scanKey(b, start); i < 0 {
					return syntax{ascii: s.ascii}
				}
				s.ascii = s.ascii && a
				bodyNext = len(stack) == 1 && isBodyKey(b[start:i])
			}
			break
		}
	}
}

// isBodyKey reports whether k, a scanned `"key" :`, names "body".
func isBodyKey(k []byte) bool {
	if len(k) < 6 || k[0] != '"' {
		return false
	}
	if string(k[:6]) == `"body"` {
		return true
	}
	for _, c := range k {
		if c == '\\' { // an escaped key, rare: unquote it
			var key string
			end := len(k) - 1
			for k[end] != '"' {
				end--
			}
			return stdjson.Unmarshal(k[:end+1], &key) == nil && key == "body"
		}
	}
	return false
}

// skipWS returns the index of the first byte at or after i that is not JSON
// whitespace. Every whitespace byte is <= ' ', so one comparison settles
// the common case, a byte that is not.
func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanKey reads `"key" :` at i and returns the index after the colon, or -1.
func scanKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return -1, true
	}
	i, ascii := scanString(b, i)
	if i < 0 {
		return -1, ascii
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1, ascii
	}
	return i + 1, ascii
}

// plainStringByte marks the bytes a string holds as they are: not '"', '\\'
// or a control character. Bytes >= 0x80 are plain too (UTF-8 is checked apart).
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString reads the string starting at b[i] == '"' and returns the index
// after it, or -1.
func scanString(b []byte, i int) (int, bool) {
	ascii := true
	i++
	for i < len(b) {
		c := b[i]
		if plainStringByte[c] {
			if c >= utf8.RuneSelf {
				ascii = false
			}
			i++
			continue
		}
		switch c {
		case '"':
			return i + 1, ascii
		case '\\':
			if i+1 >= len(b) {
				return -1, ascii
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, ascii
				}
				i += 6
			default:
				return -1, ascii
			}
		default: // a control character
			return -1, ascii
		}
	}
	return -1, ascii
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at i and
// returns the index after it, or -1.
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// sanitizeUTF8 returns b with every byte that is not part of valid UTF-8
// replaced by U+FFFD, one replacement per byte, exactly as encoding/json
// decodes strings. It returns b itself when b is valid.
func sanitizeUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}
