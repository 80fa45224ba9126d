package node

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
)

// decodeSeeds are lines every decoder fuzz target starts from; the corpus
// under testdata/fuzz adds the lines the fuzzers found interesting.
var decodeSeeds = []string{
	`{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}`,
	`{"src":"c1","dest":"n1","body":{"type":"record","msg_id":2,"service":"api","duration_ms":12.5,"status":200,"target_service":"db","method":"GET","path":"/x","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","timestamp":"2026-01-02T03:04:05Z"}}`,
	`{"type":"record","msg_id":3,"service":"api","duration_ms":1,"status_code":503,"source":"web","timestamp":1767322800000}`,
	`{"type":"trace","msg_id":4,"operation":"GET /","service":"api","kind":"client","duration_ms":3,"status":500,"attributes":{"a":"x","b":1,"c":1.5,"d":true,"e":null}}`,
	`{"type":"query","msg_id":5,"filter":{"source_service":"api","target_service":"db","status":200,"status_class":"2xx"},"detail":true,"raw":true,"limit":3}`,
	`{"type":"generate","msg_id":6,"detail":true}`,
	`{"type":"get_trace","msg_id":7,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`,
	`{"type":"record","msg_id":01,"service":"api","duration_ms":1.,"status":200}`,
	`{"type":"rec` + "\t" + `ord"}`,
	`{"type":"record","service":"a` + "\xff\xfe" + `b","x":[1,2,],"y":{"a":1,}}`,
	`{"type":"a"}` + "\x00",
	`{"TYPE":"record","Service":"api"}`,
	`{"type":"a","type":"b","msg_id":1,"msg_id":2}`,
	`{"duration_ms":1e309,"status":NaN,"x":-Infinity}`,
	`{"msg_id":9223372036854775808}`,
	`{"msg_id":"1"}`, `{"msg_id":1.0}`, `{"msg_id":true}`, `{"msg_id":[1]}`, `{"msg_id":{}}`, `{"msg_id":null}`,
	`{"\u0074ype":"init","\ud800":"\udc00\u0000"}`,
	`{"\q":1}`, `{"\`, `{"type":"x`, `[1,2,3]`, `"str"`, `42`, `null`, `{"body":[]}`, `{"body":"x"}`,
	`{"x":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}`,
}

// keyFields are the JSON names of wireLine's fields: encoding/json matches
// keys to them case-insensitively, the node (goccy) exactly.
var keyFields = func() []string {
	var out []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			if tag := strings.Split(f.Tag.Get("json"), ",")[0]; tag != "" {
				out = append(out, tag)
			}
		}
	}
	walk(reflect.TypeFor[wireLine]())
	walk(reflect.TypeFor[wireFilter]())
	return out
}()

// foldedKey reports whether line has an object key that equals a field name
// only case-insensitively, where the two decoders legitimately differ.
func foldedKey(line []byte) bool {
	dec := stdjson.NewDecoder(bytes.NewReader(line))
	var inObject []bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case stdjson.Delim:
			switch v {
			case '{':
				inObject = append(inObject, true)
				expectKey = true
				continue
			case '[':
				inObject = append(inObject, false)
			default:
				inObject = inObject[:len(inObject)-1]
			}
		case string:
			if expectKey {
				for _, f := range keyFields {
					if v != f && strings.EqualFold(v, f) {
						return true
					}
				}
				expectKey = false
				continue
			}
		}
		expectKey = len(inObject) > 0 && inObject[len(inObject)-1]
	}
}

// withoutRaw clears the fields that keep a value's JSON text, which the
// two decoders fill from the line before and after UTF-8 replacement.
func withoutRaw(w wireLine) wireLine {
	clear := func(b *wireBody) {
		b.Timestamp = nil
		b.Attributes = maps(b.Attributes)
		for k := range b.Attributes {
			b.Attributes[k] = nil
		}
	}
	clear(&w.wireBody)
	clear(&w.Body)
	return w
}

// comparableLine returns w with every absent number (NaN, which DeepEqual never
// takes as equal) replaced by zero, and which numbers those were.
func comparableLine(w wireLine) (wireLine, []string) {
	var absent []string
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f, sf := v.Field(i), v.Type().Field(i)
			switch {
			case sf.Type == reflect.TypeFor[wireBody]():
				walk(prefix+sf.Name+".", f)
			case sf.Type == reflect.TypeFor[num]() && math.IsNaN(f.Float()):
				absent = append(absent, prefix+sf.Name)
				f.SetFloat(0)
			}
		}
	}
	walk("", reflect.ValueOf(&w).Elem())
	return w, absent
}

// sameRequest compares two decoded lines field by field.
func sameRequest(got, want wireLine) bool {
	g, ga := comparableLine(got)
	w, wa := comparableLine(want)
	return reflect.DeepEqual(g, w) && reflect.DeepEqual(ga, wa)
}

// stdEnvelope reports whether encoding/json finds a "body" object in line
// (its members are not decoded: a number out of float64 range is still JSON).
func stdEnvelope(line []byte) bool {
	var top map[string]stdjson.RawMessage
	if stdjson.Unmarshal(line, &top) != nil {
		return false
	}
	raw := bytes.TrimLeft(top["body"], " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

func maps(m map[string]rawValue) map[string]rawValue {
	if m == nil {
		return nil
	}
	out := make(map[string]rawValue, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// FuzzDecodeLine checks the node's decoder (fastDecode, else decodeLine)
// against encoding/json, the reference: the same verdict on every line and,
// when both accept, the same request.
func FuzzDecodeLine(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	var d decoder
	f.Fuzz(func(t *testing.T, line []byte) {
		syn := checkSyntax(line)
		if want := stdjson.Valid(line); syn.valid != want {
			t.Fatalf("checkSyntax(%q).valid = %v, encoding/json.Valid = %v", line, syn.valid, want)
		}
		if syn.valid && syn.ascii && !isASCII(line) {
			t.Fatalf("checkSyntax(%q) says ASCII", line)
		}
		if syn.valid && syn.envelope != stdEnvelope(line) {
			t.Fatalf("checkSyntax(%q).envelope = %v, encoding/json finds a body object: %v", line, syn.envelope, !syn.envelope)
		}
		if s := sanitizeUTF8(line); !bytes.Equal(stdUnquoted(line), stdUnquoted(s)) {
			t.Fatalf("sanitizeUTF8(%q) = %q: strings decode differently", line, s)
		}

		var got wireLine
		rerr, framed := d.decode(line, &got)
		if rerr != nil && rerr.Code != CodeMalformedRequest {
			t.Fatalf("decodeLine(%q): code %d", line, rerr.Code)
		}
		if rerr != nil && !framed && (got.envelope || got.Type.get() != nil) {
			t.Fatalf("decodeLine(%q): unframed error with a decoded request", line)
		}
		if foldedKey(line) {
			return
		}
		want := emptyLine
		stdErr := stdjson.Unmarshal(line, &want)
		want.envelope = stdEnvelope(line)
		if stdErr == nil && bytes.Equal(bytes.Trim(line, " \t\r\n"), []byte("null")) {
			stdErr = errors.New("null is not a request") // encoding/json takes it for {}
		}
		if (rerr == nil) != (stdErr == nil) {
			t.Fatalf("decodeLine(%q) = %v, encoding/json = %v", line, rerr, stdErr)
		}
		if rerr != nil {
			return
		}
		// goccy itself must have accepted it: the fallback is for error texts.
		g := emptyLine
		if err := json.Unmarshal(sanitizeUTF8(line), &g); err != nil {
			t.Fatalf("goccy rejects %q that encoding/json accepts: %v", line, err)
		}
		if !sameRequest(withoutRaw(got), withoutRaw(want)) {
			t.Fatalf("decodeLine(%q):\n got %+v\nwant %+v", line, got, want)
		}
		want2 := emptyLine
		err := stdjson.Unmarshal(sanitizeUTF8(line), &want2)
		want2.envelope = want.envelope
		if err != nil || !sameRequest(got, want2) {
			t.Fatalf("decodeLine(%q) raw fields:\n got %+v\nwant %+v (%v)", line, got, want2, err)
		}
	})
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// stdUnquoted returns every string token of line (keys and values) as
// encoding/json decodes them, or nil when line is not valid JSON.
func stdUnquoted(line []byte) []byte {
	if !stdjson.Valid(line) {
		return nil
	}
	var out []byte
	dec := stdjson.NewDecoder(bytes.NewReader(line))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return out
		}
		if s, ok := tok.(string); ok {
			out = append(append(out, s...), 0)
		}
	}
}

// FuzzFastDecode checks the single-pass decoder against decodeLine: a line
// it takes must decode to the same request, framing included, and through
// a cache that has seen other lines.
func FuzzFastDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	var d decoder
	var kept wireLine // reused from input to input
	f.Fuzz(func(t *testing.T, line []byte) {
		var want wireLine
		rerr, framed := decodeLine(line, &want)
		// Every line, taken by the fast path or not, into the line the
		// previous inputs were decoded into, as the node does: decode
		// resets only the fields the fast path filled last.
		krerr, kframed := d.decode(line, &kept)
		if fmt.Sprint(krerr) != fmt.Sprint(rerr) || kframed != framed || !sameRequest(kept, want) || kept.envelope != want.envelope {
			t.Fatalf("decoder.decode(%q) into a reused line = %v, %v:\n got %+v\nwant %v, %v: %+v", line, krerr, kframed, kept, rerr, framed, want)
		}
		var fast wireLine
		fast = emptyLine
		if _, ok := fastDecode(line, &fast, &d); !ok {
			return
		}
		if rerr != nil || !framed {
			t.Fatalf("fastDecode takes %q, decodeLine rejects it: %v", line, rerr)
		}
		if !sameRequest(fast, want) || fast.envelope != want.envelope {
			t.Fatalf("fastDecode(%q):\n got %+v\nwant %+v", line, fast, want)
		}
		var got wireLine
		if rerr, framed := d.decode(line, &got); rerr != nil || !framed || !sameRequest(got, want) || got.envelope != want.envelope {
			t.Fatalf("decoder.decode(%q) = %v:\n got %+v\nwant %+v", line, rerr, got, want)
		}
	})
}

// fastSeeds are lines of the shape fastDecode takes, and near misses.
var fastSeeds = []string{
	`{"src":"c1","dest":"n1","body":{"type":"record","msg_id":2,"service":"payments","target_service":"notifications","duration_ms":14.55,"status":200,"method":"GET","path":"/api/v1/items"}}`,
	`{"src":"c1","dest":"n1","body":{"type":"trace","msg_id":4,"operation":"cache.get","service":"accounts","kind":"server","duration_ms":19.92}}`,
	` { "type" : "record" , "msg_id" : -0 , "service" : "" , "duration_ms" : 1E2 , "status" : 200.0 , "detail" : true , "raw" : false } `,
	`{"type":"record","msg_id":null,"service":null,"duration_ms":null,"status":null,"detail":null,"body":null,"timestamp":null}`,
	`{"type":"generate","msg_id":6,"detail":true,"format":"dot","limit":3}`,
	`{"msg_id":"7"}`, `{"msg_id":1.5}`, `{"msg_id":true}`, `{"msg_id":9223372036854775808}`,
	`{"timestamp":"2026-01-02T03:04:05Z"}`, `{"timestamp":1767322800000}`, `{"timestamp":true}`,
	`{"body":{}}`, `{"body":{},"src":1}`, `{"body":{"body":{}}}`, `{"src":"a","src":"b"}`,
	`{"duration_ms":1e309}`, `{"duration_ms":1e-400}`, `{"status":"200"}`, `{"service":"caf\u00e9"}`,
	`{"service":"café"}`, `{"Service":"x"}`, `{"type":"record"}x`, `{"type":"record",}`, `{}`,
	`{"src":"c1","dest":"n1","body":{"type":"query","msg_id":5,"filter":{"source_service":"api"}}}`,
	`{"type":"query","msg_id":5,"filter":{"source_service":"api","target_service":"db","status":404,"status_class":"4xx"},"limit":3,"raw":true}`,
	`{"type":"query","filter":{}}`, `{"type":"query","filter":null}`, `{"filter":{"status":null,"status_class":null}}`,
	`{"filter":{"status":"404"}}`, `{"filter":{"source_service":1}}`, `{"filter":{"x":1}}`, `{"filter":{"status":1,"status":2}}`,
	`{"filter":{"status":1e400}}`, `{"filter":[]}`, `{"filter":"x"}`, `{"filter":{"source_service":"a"},"filter":null}`,
}

// FuzzSmallDecimal checks the fast number conversions against strconv.
func FuzzSmallDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0", "200", "14.55", "0.1", "-123.456", "999999999999999", "0.000000000000001",
		"1.5e3", "1234567890123456", "9007199254740993", "123456789012345678", "-5", "007"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) == 0 || scanNumber([]byte(s), 0) != len(s) {
			return // fastDecode converts only what scanNumber takes
		}
		want, err := strconv.ParseFloat(s, 64)
		if got, ok := smallDecimal([]byte(s)); ok && (err != nil || math.Float64bits(got) != math.Float64bits(want)) {
			t.Fatalf("smallDecimal(%q) = %v, strconv: %v, %v", s, got, want, err)
		}
		wantInt, err := strconv.ParseInt(s, 10, 64)
		if got, ok := smallInt([]byte(s)); ok && (err != nil || got != wantInt) {
			t.Fatalf("smallInt(%q) = %v, strconv: %v, %v", s, got, wantInt, err)
		}
	})
}

// TestSmallDecimalMatchesStrconv compares the fast conversion with strconv
// on numbers of every length and point position it takes.
func TestSmallDecimalMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		digits := 1 + rng.IntN(15)
		b := make([]byte, 0, 20)
		if rng.IntN(4) == 0 {
			b = append(b, '-')
		}
		point := rng.IntN(digits + 1) // digits before the point; == digits: none
		for i := range digits {
			if i == point && i > 0 {
				b = append(b, '.')
			}
			c := byte('0' + rng.IntN(10))
			if i == 0 && point != 1 && c == '0' {
				c = '1' // no leading zero, as JSON requires
			}
			b = append(b, c)
		}
		if scanNumber(b, 0) != len(b) {
			t.Fatalf("generated %q is not a JSON number", b)
		}
		got, ok := smallDecimal(b)
		want, err := strconv.ParseFloat(string(b), 64)
		if !ok || err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("smallDecimal(%q) = %v, %v; strconv %v, %v", b, got, ok, want, err)
		}
	}
}

// TestDecoderResetsBetweenLines decodes every seed line right after every
// other into one wireLine through one decoder: each must decode as it does
// on its own.
func TestDecoderResetsBetweenLines(t *testing.T) {
	seeds := append(append([]string{}, decodeSeeds...), fastSeeds...)
	for _, a := range seeds {
		for _, b := range seeds {
			var d decoder
			var got wireLine
			d.decode([]byte(a), &got)
			rerr, framed := d.decode([]byte(b), &got)
			var want wireLine
			wantErr, wantFramed := decodeLine([]byte(b), &want)
			if (rerr == nil) != (wantErr == nil) || framed != wantFramed ||
				(rerr != nil && rerr.Text != wantErr.Text) ||
				!sameRequest(got, want) || got.envelope != want.envelope {
				t.Fatalf("after %q, %q decodes to\n%+v (%v)\nwant\n%+v (%v)", a, b, got, rerr, want, wantErr)
			}
		}
	}
}
