package otlptrace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The wire-format primitives, with the exact semantics of pdata's
// internal/proto (v1.71.0), so that both decoders accept and reject the
// same inputs.

type wireType int8

const (
	wireVarint     wireType = 0
	wireI64        wireType = 1
	wireLen        wireType = 2
	wireStartGroup wireType = 3
	wireEndGroup   wireType = 4
	wireI32        wireType = 5
)

// recursionLimit bounds the nesting of attribute values (pdata's
// proto.RecursionLimit).
const recursionLimit = 100

var (
	errInvalidLength        = errors.New("otlptrace: negative length")
	errIntOverflow          = errors.New("otlptrace: integer overflow")
	errRecursionDepth       = errors.New("otlptrace: attribute values nested too deep")
	errUnexpectedEndOfGroup = errors.New("otlptrace: unexpected end of group")
	errTraceID              = errors.New("otlptrace: a trace id must be 16 bytes")
	errSpanID               = errors.New("otlptrace: a span id must be 8 bytes")
)

func consumeVarint(buf []byte, pos int) (uint64, int, error) {
	var num uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, 0, errIntOverflow
		}
		if pos >= len(buf) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		b := buf[pos]
		pos++
		num |= uint64(b&0x7F) << shift
		if b < 0x80 {
			return num, pos, nil
		}
	}
}

func consumeTag(buf []byte, pos int) (int32, wireType, int, error) {
	// The common case, a one-byte tag, first.
	if pos < len(buf) && buf[pos] < 0x80 {
		tag := buf[pos]
		if tag>>3 == 0 {
			return 0, 0, 0, fmt.Errorf("otlptrace: illegal field 0 (tag=%d, pos=%d)", tag, pos+1)
		}
		return int32(tag >> 3), wireType(tag & 7), pos + 1, nil
	}
	tag, pos, err := consumeVarint(buf, pos)
	if err != nil {
		return 0, 0, 0, err
	}
	field := int32(tag >> 3)
	if field <= 0 {
		return 0, 0, 0, fmt.Errorf("otlptrace: illegal field %d (tag=%d, pos=%d)", field, tag, pos)
	}
	return field, wireType(tag & 7), pos, nil
}

// consumeLen returns the bounds [start, end) of a length-delimited field.
func consumeLen(buf []byte, pos int) (int, int, error) {
	// The common case, a one-byte length, first.
	if pos < len(buf) && buf[pos] < 0x80 {
		start := pos + 1
		end := start + int(buf[pos])
		if end > len(buf) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		return start, end, nil
	}
	num, pos, err := consumeVarint(buf, pos)
	if err != nil {
		return 0, 0, err
	}
	length := int(num)
	if length < 0 {
		return 0, 0, errInvalidLength
	}
	end := pos + length
	if end < 0 || end > len(buf) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return pos, end, nil
}

func consumeI64(buf []byte, pos int) (uint64, int, error) {
	if pos+8 < 0 || pos+8 > len(buf) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return binary.LittleEndian.Uint64(buf[pos:]), pos + 8, nil
}

func consumeI32(buf []byte, pos int) (uint32, int, error) {
	if pos+4 < 0 || pos+4 > len(buf) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return binary.LittleEndian.Uint32(buf[pos:]), pos + 4, nil
}

// consumeUnknown skips a field this decoder does not read.
func consumeUnknown(buf []byte, pos int, wt wireType) (int, error) {
	var err error
	depth := 0
	for pos < len(buf) {
		switch wt {
		case wireVarint:
			_, pos, err = consumeVarint(buf, pos)
			return pos, err
		case wireI64:
			_, pos, err = consumeI64(buf, pos)
			return pos, err
		case wireLen:
			_, pos, err = consumeLen(buf, pos)
			return pos, err
		case wireStartGroup:
			depth++
		case wireEndGroup:
			if depth == 0 {
				return 0, errUnexpectedEndOfGroup
			}
			depth--
		case wireI32:
			_, pos, err = consumeI32(buf, pos)
			return pos, err
		default:
			return 0, fmt.Errorf("otlptrace: illegal wire type %d", wt)
		}
		if depth == 0 {
			return pos, nil
		}
		_, wt, pos, err = consumeTag(buf, pos)
		if err != nil {
			return 0, err
		}
	}
	return 0, io.ErrUnexpectedEOF
}

// wrongType is the error of a known field sent with another wire type.
func wrongType(wt wireType, field string) error {
	return fmt.Errorf("otlptrace: wrong wire type %d for field %s", wt, field)
}
