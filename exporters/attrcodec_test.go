package exporters

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// equalValues compares attribute lists exactly: types, keys, order and
// values, floats by their bits (NaN included).
func equalValues(a, b []attribute.KeyValue) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d attributes, want %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Key != b[i].Key {
			return fmt.Errorf("attribute %d: key %q, want %q", i, a[i].Key, b[i].Key)
		}
		if err := equalValue(a[i].Value, b[i].Value); err != nil {
			return fmt.Errorf("attribute %d (%s): %w", i, a[i].Key, err)
		}
	}
	return nil
}

func equalValue(a, b attribute.Value) error {
	if a.Type() != b.Type() {
		return fmt.Errorf("type %s, want %s", a.Type(), b.Type())
	}
	switch a.Type() {
	case attribute.FLOAT64:
		if math.Float64bits(a.AsFloat64()) != math.Float64bits(b.AsFloat64()) {
			return fmt.Errorf("%v, want %v", a.AsFloat64(), b.AsFloat64())
		}
		return nil
	case attribute.FLOAT64SLICE:
		x, y := a.AsFloat64Slice(), b.AsFloat64Slice()
		if len(x) != len(y) {
			return fmt.Errorf("%d floats, want %d", len(x), len(y))
		}
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return fmt.Errorf("float %d: %v, want %v", i, x[i], y[i])
			}
		}
		return nil
	case attribute.SLICE:
		x, y := a.AsSlice(), b.AsSlice()
		if len(x) != len(y) {
			return fmt.Errorf("%d values, want %d", len(x), len(y))
		}
		for i := range x {
			if err := equalValue(x[i], y[i]); err != nil {
				return fmt.Errorf("value %d: %w", i, err)
			}
		}
		return nil
	case attribute.MAP:
		return equalValues(a.AsMap(), b.AsMap())
	}
	// Every other type compares with ==; so does the whole Value, whose
	// slice types hold arrays.
	if a != b {
		return fmt.Errorf("%s, want %s", a.Emit(), b.Emit())
	}
	return nil
}

func roundTrip(kvs []attribute.KeyValue) []attribute.KeyValue {
	b := appendAttributes([]byte("prefix"), kvs)
	d := attrDecoder{s: string(b), i: len("prefix")}
	got := d.attributes()
	if d.i != len(b) {
		panic(fmt.Sprintf("decoded %d bytes of %d", d.i, len(b)))
	}
	return got
}

func TestAttributeCodecRoundTripsEveryType(t *testing.T) {
	long := strings.Repeat("x", 300) // a length over one varint byte
	for name, kvs := range map[string][]attribute.KeyValue{
		"none": nil,
		"scalars": {
			attribute.Bool("t", true), attribute.Bool("f", false),
			attribute.Int64("zero", 0), attribute.Int64("neg", -1), attribute.Int64("min", math.MinInt64),
			attribute.Int64("max", math.MaxInt64), attribute.Float64("pi", math.Pi),
			attribute.Float64("nan", math.NaN()), attribute.Float64("-0", math.Copysign(0, -1)),
			attribute.Float64("inf", math.Inf(-1)), attribute.String("s", "GET"),
			attribute.String("", ""), attribute.String(long, long), attribute.String("utf8", "é\x00\xff"),
		},
		"slices": {
			attribute.BoolSlice("bs", []bool{true, false, true, true}), attribute.BoolSlice("bs0", nil),
			attribute.Int64Slice("is", []int64{1, -2, math.MaxInt64, 0, 5}),
			attribute.Float64Slice("fs", []float64{1.5, math.NaN(), 0}),
			attribute.StringSlice("ss", []string{"a", "", long, "d", "e"}), attribute.StringSlice("ss0", []string{}),
			{Key: "bytes", Value: attribute.ByteSliceValue([]byte{0, 1, 0xff})},
			{Key: "bytes0", Value: attribute.ByteSliceValue(nil)},
		},
		"nested": {
			{Key: "slice", Value: attribute.SliceValue(attribute.StringValue("a"), attribute.IntValue(1),
				attribute.SliceValue(), attribute.MapValue(attribute.String("k", "v"), attribute.String("k", "dup")),
				attribute.Value{}, attribute.SliceValue(attribute.BoolValue(true), attribute.Float64Value(2),
					attribute.Int64SliceValue([]int64{3}), attribute.StringValue("x"), attribute.StringValue("y"),
					attribute.StringValue("z")))},
			{Key: "map", Value: attribute.MapValue(attribute.String("b", "2"), attribute.Int("a", 1),
				attribute.KeyValue{Key: "c", Value: attribute.MapValue()}, attribute.StringSlice("d", []string{"x"}),
				attribute.Bool("e", true), attribute.Bool("f", false), attribute.Int("g", 7))},
			{Key: "empty", Value: attribute.Value{}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := equalValues(roundTrip(kvs), kvs); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// randomValue makes a value of any type from next, nested up to depth.
func randomValue(next func(int) int, depth int) attribute.Value {
	str := func() string {
		const alphabet = "ab\x00é"
		n := next(4)
		if next(8) == 0 {
			n = 100 + next(200)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[next(len(alphabet))]
		}
		return string(b)
	}
	num := func() int64 {
		switch next(4) {
		case 0:
			return int64(next(256)) - 128
		case 1:
			return math.MinInt64 + int64(next(3))
		}
		return int64(next(1<<30))<<33 | int64(next(1<<30))
	}
	float := func() float64 { return math.Float64frombits(uint64(num())) }
	n := next(7)
	types := 12
	if depth == 0 {
		types = 10 // no SLICE or MAP
	}
	switch t := attribute.Type(next(types)); t {
	case attribute.BOOL:
		return attribute.BoolValue(next(2) == 1)
	case attribute.INT64:
		return attribute.Int64Value(num())
	case attribute.FLOAT64:
		return attribute.Float64Value(float())
	case attribute.STRING:
		return attribute.StringValue(str())
	case attribute.BOOLSLICE:
		vs := make([]bool, n)
		for i := range vs {
			vs[i] = next(2) == 1
		}
		return attribute.BoolSliceValue(vs)
	case attribute.INT64SLICE:
		vs := make([]int64, n)
		for i := range vs {
			vs[i] = num()
		}
		return attribute.Int64SliceValue(vs)
	case attribute.FLOAT64SLICE:
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = float()
		}
		return attribute.Float64SliceValue(vs)
	case attribute.STRINGSLICE:
		vs := make([]string, n)
		for i := range vs {
			vs[i] = str()
		}
		return attribute.StringSliceValue(vs)
	case attribute.BYTESLICE:
		return attribute.ByteSliceValue([]byte(str()))
	case attribute.SLICE:
		vs := make([]attribute.Value, n)
		for i := range vs {
			vs[i] = randomValue(next, depth-1)
		}
		return attribute.SliceValue(vs...)
	case attribute.MAP:
		return attribute.MapValue(randomAttributes(next, depth-1)...)
	}
	return attribute.Value{}
}

func randomAttributes(next func(int) int, depth int) []attribute.KeyValue {
	kvs := make([]attribute.KeyValue, next(9))
	for i := range kvs {
		kvs[i] = attribute.KeyValue{Key: attribute.Key(fmt.Sprintf("k%d", next(5))), Value: randomValue(next, depth)}
	}
	return kvs
}

func TestAttributeCodecRoundTripsRandomAttributes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		kvs := randomAttributes(rng.IntN, 3)
		if err := equalValues(roundTrip(kvs), kvs); err != nil {
			t.Fatalf("case %d: %v\n%v", i, err, kvs)
		}
	}
}

// FuzzAttributeCodec: attributes of every type and nesting, made from the
// fuzzer's bytes, come back exactly.
func FuzzAttributeCodec(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0})
	f.Add([]byte("\x08\x0b\x05\x0a\x03\x09\x02\x01\x07\x06\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func(n int) int {
			if len(data) == 0 {
				return 0
			}
			v := int(data[0]) % n
			data = data[1:]
			return v
		}
		kvs := randomAttributes(next, 3)
		if err := equalValues(roundTrip(kvs), kvs); err != nil {
			t.Fatalf("%v\n%v", err, kvs)
		}
	})
}

// BenchmarkAttributeCodec encodes (and decodes) the attributes of an HTTP
// server span of the OTLP benchmark's workload.
func BenchmarkAttributeCodec(b *testing.B) {
	kvs := []attribute.KeyValue{
		attribute.String("http.request.method", "GET"),
		attribute.String("http.route", "/api/cart/{id}"),
		attribute.String("url.path", "/api/cart/4711"),
		attribute.String("url.scheme", "http"),
		attribute.Int("http.response.status_code", 200),
		attribute.String("network.protocol.version", "1.1"),
		attribute.String("server.address", "cart.shop.svc.cluster.local"),
		attribute.Int("server.port", 8080),
		attribute.String("client.address", "10.42.3.17"),
	}
	buf := appendAttributes(nil, kvs)
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = appendAttributes(buf[:0], kvs)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		s := string(buf)
		b.ReportAllocs()
		for b.Loop() {
			d := attrDecoder{s: s}
			d.attributes()
		}
	})
}
