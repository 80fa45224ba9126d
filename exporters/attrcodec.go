package exporters

import (
	"encoding/binary"
	"math"

	"go.opentelemetry.io/otel/attribute"
)

// The span store keeps a span's attributes as bytes: pointer-free memory
// the garbage collector need not scan, decoded only when a query reads
// the span. The encoding is a uvarint count of attributes, then each as
// its key (a uvarint length and the bytes) and its value: the type as one
// byte, then
//
//   - BOOL: one byte, 0 or 1;
//   - INT64: a zig-zag varint;
//   - FLOAT64: the IEEE 754 bits, 8 bytes little-endian;
//   - STRING, BYTESLICE: a uvarint length and the bytes;
//   - BOOLSLICE, INT64SLICE, FLOAT64SLICE, STRINGSLICE: a uvarint count
//     and the elements, each as above;
//   - SLICE: a uvarint count and the values, each with its type byte;
//   - MAP: attributes, as at the top level;
//   - EMPTY (and any type unknown to this version): nothing.
//
// decodeAttributes(appendAttributes(nil, kvs)) equals kvs exactly.

// appendAttributes appends the encoding of kvs to b.
func appendAttributes(b []byte, kvs []attribute.KeyValue) []byte {
	b = binary.AppendUvarint(b, uint64(len(kvs)))
	for i := range kvs {
		kv := &kvs[i] // not copied: a Value passed by value costs more than encoding it
		b = appendString(b, string(kv.Key))
		switch t := kv.Value.Type(); t {
		case attribute.STRING:
			b = appendString(append(b, byte(t)), kv.Value.AsString())
		case attribute.INT64:
			b = binary.AppendVarint(append(b, byte(t)), kv.Value.AsInt64())
		default:
			b = appendValue(b, &kv.Value)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	if len(s) < 0x80 {
		return append(append(b, byte(len(s))), s...)
	}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v *attribute.Value) []byte {
	t := v.Type()
	switch t {
	case attribute.BOOL:
		if v.AsBool() {
			return append(b, byte(t), 1)
		}
		return append(b, byte(t), 0)
	case attribute.INT64:
		return binary.AppendVarint(append(b, byte(t)), v.AsInt64())
	case attribute.FLOAT64:
		return binary.LittleEndian.AppendUint64(append(b, byte(t)), math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		return appendString(append(b, byte(t)), v.AsString())
	case attribute.BYTESLICE:
		return appendString(append(b, byte(t)), string(v.AsByteSlice()))
	case attribute.BOOLSLICE:
		vs := v.AsBoolSlice()
		b = binary.AppendUvarint(append(b, byte(t)), uint64(len(vs)))
		for _, x := range vs {
			if x {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
		return b
	case attribute.INT64SLICE:
		vs := v.AsInt64Slice()
		b = binary.AppendUvarint(append(b, byte(t)), uint64(len(vs)))
		for _, x := range vs {
			b = binary.AppendVarint(b, x)
		}
		return b
	case attribute.FLOAT64SLICE:
		vs := v.AsFloat64Slice()
		b = binary.AppendUvarint(append(b, byte(t)), uint64(len(vs)))
		for _, x := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		return b
	case attribute.STRINGSLICE:
		vs := v.AsStringSlice()
		b = binary.AppendUvarint(append(b, byte(t)), uint64(len(vs)))
		for _, x := range vs {
			b = appendString(b, x)
		}
		return b
	case attribute.SLICE:
		vs := v.AsSlice()
		b = binary.AppendUvarint(append(b, byte(t)), uint64(len(vs)))
		for i := range vs {
			b = appendValue(b, &vs[i])
		}
		return b
	case attribute.MAP:
		return appendAttributes(append(b, byte(t)), v.AsMap())
	}
	return append(b, byte(attribute.EMPTY))
}

// attrDecoder reads attributes encoded by appendAttributes. It reads a
// string, so that the strings it hands out are substrings of it: one copy
// of a span's bytes serves all its strings.
type attrDecoder struct {
	s string
	i int
}

// attributes decodes a list of attributes; nil when it is empty.
func (d *attrDecoder) attributes() []attribute.KeyValue {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	kvs := make([]attribute.KeyValue, n)
	for i := range kvs {
		kvs[i].Key = attribute.Key(d.string())
		kvs[i].Value = d.value()
	}
	return kvs
}

func (d *attrDecoder) value() attribute.Value {
	t := attribute.Type(d.s[d.i])
	d.i++
	switch t {
	case attribute.BOOL:
		v := d.s[d.i] != 0
		d.i++
		return attribute.BoolValue(v)
	case attribute.INT64:
		return attribute.Int64Value(d.varint())
	case attribute.FLOAT64:
		return attribute.Float64Value(d.float64())
	case attribute.STRING:
		return attribute.StringValue(d.string())
	case attribute.BYTESLICE:
		return attribute.ByteSliceValue([]byte(d.string()))
	case attribute.BOOLSLICE:
		vs := make([]bool, d.uvarint())
		for i := range vs {
			vs[i] = d.s[d.i] != 0
			d.i++
		}
		return attribute.BoolSliceValue(vs)
	case attribute.INT64SLICE:
		vs := make([]int64, d.uvarint())
		for i := range vs {
			vs[i] = d.varint()
		}
		return attribute.Int64SliceValue(vs)
	case attribute.FLOAT64SLICE:
		vs := make([]float64, d.uvarint())
		for i := range vs {
			vs[i] = d.float64()
		}
		return attribute.Float64SliceValue(vs)
	case attribute.STRINGSLICE:
		vs := make([]string, d.uvarint())
		for i := range vs {
			vs[i] = d.string()
		}
		return attribute.StringSliceValue(vs)
	case attribute.SLICE:
		vs := make([]attribute.Value, d.uvarint())
		for i := range vs {
			vs[i] = d.value()
		}
		return attribute.SliceValue(vs...)
	case attribute.MAP:
		return attribute.MapValue(d.attributes()...)
	}
	return attribute.Value{}
}

func (d *attrDecoder) uvarint() uint64 {
	var x uint64
	for shift := uint(0); ; shift += 7 {
		c := d.s[d.i]
		d.i++
		if c < 0x80 {
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
	}
}

func (d *attrDecoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *attrDecoder) float64() float64 {
	s := d.s[d.i : d.i+8]
	d.i += 8
	return math.Float64frombits(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
}

func (d *attrDecoder) string() string {
	n := int(d.uvarint())
	s := d.s[d.i : d.i+n]
	d.i += n
	return s
}
