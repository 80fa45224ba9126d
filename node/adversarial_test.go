package node_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/meshobs/meshobs/node"
	"github.com/meshobs/meshobs/telemetry"
)

// serve runs input through a fresh node and returns its reply lines.
func serve(t *testing.T, input string, opts ...node.Option) []string {
	t.Helper()
	p, err := telemetry.New(telemetry.WithRetention(1000, 1000))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	var out bytes.Buffer
	if err := node.New(p, opts...).Run(context.Background(), strings.NewReader(input), &out); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := out.String()
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("output does not end in a newline: %q", s)
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

const okRecord = `{"type":"record","msg_id":1,"service":"api","duration_ms":1,"status":200}`

func recordWith(extra string) string {
	return strings.TrimSuffix(okRecord, "}") + "," + extra + "}"
}

// TestAdversarialLines pins the reply to hostile single lines. A want
// ending in "*" is a prefix (replies carrying generated ids).
func TestAdversarialLines(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	long := func(n int) string { return strings.Repeat("s", n) }
	tests := []struct{ name, in, want string }{
		// Numbers.
		{"duration 1e309", `{"type":"record","msg_id":1,"service":"api","duration_ms":1e309,"status":200}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"duration_ms is out of range: 1e309"}`},
		{"status -1e400", `{"type":"record","msg_id":1,"service":"api","duration_ms":1,"status":-1e400}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"status is out of range: -1e400"}`},
		{"NaN", `{"type":"record","msg_id":1,"service":"api","duration_ms":NaN,"status":200}`,
			`{"type":"error","code":12,"text":"invalid JSON: invalid character 'N' looking for beginning of value"}`},
		{"Infinity", `{"type":"record","msg_id":1,"service":"api","duration_ms":Infinity,"status":200}`,
			`{"type":"error","code":12,"text":"invalid JSON: invalid character 'I' looking for beginning of value"}`},
		{"-Infinity", `{"type":"record","msg_id":1,"service":"api","duration_ms":-Infinity,"status":200}`,
			`{"type":"error","code":12,"text":"invalid JSON: invalid character 'I' in numeric literal"}`},
		{"leading zero", `{"type":"record","msg_id":01,"service":"api","duration_ms":1,"status":200}`,
			`{"type":"error","code":12,"text":"invalid JSON: invalid character '1' after object key:value pair"}`},
		{"bare decimal point", `{"type":"record","msg_id":1,"service":"api","duration_ms":1.,"status":200}`,
			`{"type":"error","code":12,"text":"invalid JSON: invalid character ',' after decimal point in numeric literal"}`},
		{"negative zero duration", recordWith(`"duration_ms":-0`),
			`{"type":"metrics_recorded","in_reply_to":1,"service":"api","request_count":1}`},
		{"huge span duration", `{"type":"trace","msg_id":1,"operation":"x","duration_ms":1e300}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"duration_ms is too large: 1e+300"}`},
		{"huge attribute", `{"type":"trace","msg_id":1,"operation":"x","attributes":{"a":1e400}}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"attributes.a is out of range"}`},
		{"limit 1e10", `{"type":"query","msg_id":1,"raw":true,"limit":1e10}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"limit must be an integer >= 0, not 1e+10"}`},
		{"timestamp 1e16", recordWith(`"timestamp":1e16`),
			`{"type":"error","in_reply_to":1,"code":12,"text":"timestamp must be an RFC 3339 time or Unix milliseconds"}`},

		// Duplicate keys: the last one wins, as in encoding/json.
		{"duplicate service", recordWith(`"service":"web"`),
			`{"type":"metrics_recorded","in_reply_to":1,"service":"web","request_count":1}`},
		{"duplicate msg_id", recordWith(`"msg_id":7`),
			`{"type":"metrics_recorded","in_reply_to":7,"service":"api","request_count":1}`},
		{"duplicate status, last bad", recordWith(`"status":700`),
			`{"type":"error","in_reply_to":1,"code":12,"text":"status must be an integer HTTP status from 100 to 599, not 700"}`},

		// Keys match exactly.
		{"TYPE", `{"TYPE":"record","msg_id":1}`, `{"type":"error","in_reply_to":1,"code":12,"text":"missing required field type"}`},
		{"SERVICE", `{"type":"record","msg_id":1,"SERVICE":"api","duration_ms":1,"status":200}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"missing required field service"}`},
		{"MSG_ID", `{"type":"record","MSG_ID":1,"service":"api","duration_ms":1,"status":200}`,
			`{"type":"metrics_recorded","service":"api","request_count":1}`},
		{"mSg_id on an error", `{"mSg_id":0,"method":0}`,
			`{"type":"error","code":12,"text":"method must be a string, not number"}`},
		{"escaped key", `{"\u0074ype":"record","msg_id":1,"service":"api","duration_ms":1,"status":200}`,
			`{"type":"metrics_recorded","in_reply_to":1,"service":"api","request_count":1}`},

		// Nesting.
		{"depth 10000 ignored", recordWith(`"x":` + deep(9999)),
			`{"type":"metrics_recorded","in_reply_to":1,"service":"api","request_count":1}`},
		{"depth 10001", recordWith(`"x":` + deep(10000)),
			`{"type":"error","code":12,"text":"invalid JSON: invalid character '[' exceeded max depth"}`},
		{"nested attribute", `{"type":"trace","msg_id":1,"operation":"x","attributes":{"a":` + deep(100) + `}}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"attributes.a must be a string, number or boolean"}`},
		{"trailing comma in unknown field", recordWith(`"x":[1,]`),
			`{"type":"error","code":12,"text":"invalid JSON: invalid character ']' looking for beginning of value"}`},

		// Bytes.
		{"invalid UTF-8 in a string", `{"type":"record","msg_id":1,"service":"a` + "\xff" + `b","duration_ms":1,"status":200}`,
			`{"type":"metrics_recorded","in_reply_to":1,"service":"a` + "\uFFFD" + `b","request_count":1}`},
		{"invalid UTF-8 outside strings", `{"type":"record"` + "\xff" + `}`,
			`{"type":"error","code":12,"text":"invalid JSON: invalid character 'ÿ' after object key:value pair"}`},
		{"raw NUL in a string", `{"type":"record","msg_id":1,"service":"a` + "\x00" + `b","duration_ms":1,"status":200}`,
			`{"type":"error","code":12,"text":"invalid JSON: invalid character '\\x00' in string literal"}`},
		{"escaped NUL in a string", `{"type":"record","msg_id":1,"service":"a\u0000b","duration_ms":1,"status":200}`,
			`{"type":"metrics_recorded","in_reply_to":1,"service":"a\u0000b","request_count":1}`},
		{"NUL after the object", okRecord + "\x00",
			`{"type":"error","code":12,"text":"invalid JSON: invalid character '\\x00' after top-level value"}`},
		{"only NUL", "\x00", `{"type":"error","code":12,"text":"invalid JSON: invalid character '\\x00' looking for beginning of value"}`},
		{"tab in a string", `{"type":"rec` + "\t" + `ord","msg_id":1}`,
			`{"type":"error","code":12,"text":"invalid JSON: invalid character '\\t' in string literal"}`},
		{"vertical tab around", "\v" + okRecord,
			`{"type":"error","code":12,"text":"invalid JSON: invalid character '\\v' looking for beginning of value"}`},
		{"lone surrogate", `{"type":"record","msg_id":1,"service":"\ud800","duration_ms":1,"status":200}`,
			`{"type":"metrics_recorded","in_reply_to":1,"service":"` + "\uFFFD" + `","request_count":1}`},
		{"truncated", `{"type":"record","msg_id":1,"serv`,
			`{"type":"error","code":12,"text":"invalid JSON: unexpected end of JSON input"}`},

		// Not an object.
		{"array", `[1,2]`, `{"type":"error","code":12,"text":"a request must be a JSON object, not array"}`},
		{"number", `12`, `{"type":"error","code":12,"text":"a request must be a JSON object, not number"}`},
		{"string", `"record"`, `{"type":"error","code":12,"text":"a request must be a JSON object, not string"}`},
		{"bool", `true`, `{"type":"error","code":12,"text":"a request must be a JSON object, not bool"}`},
		{"null", `null`, `{"type":"error","code":12,"text":"a request must be a JSON object, not null"}`},
		{"body array", `{"src":"c","dest":"n","body":[1]}`,
			`{"src":"n","dest":"c","body":{"type":"error","code":12,"text":"body must be an object, not array"}}`},
		{"body number", `{"src":"c","dest":"n","body":42}`,
			`{"src":"n","dest":"c","body":{"type":"error","code":12,"text":"body must be an object, not number"}}`},
		{"body string", `{"src":"c","dest":"n","body":"x"}`,
			`{"src":"n","dest":"c","body":{"type":"error","code":12,"text":"body must be an object, not string"}}`},

		// msg_id of every JSON type: integers are echoed exactly, anything else is code 12.
		{"msg_id max int64", recordWith(`"msg_id":9223372036854775807`),
			`{"type":"metrics_recorded","in_reply_to":9223372036854775807,"service":"api","request_count":1}`},
		{"msg_id min int64", recordWith(`"msg_id":-9223372036854775808`),
			`{"type":"metrics_recorded","in_reply_to":-9223372036854775808,"service":"api","request_count":1}`},
		{"msg_id 2^63", recordWith(`"msg_id":9223372036854775808`), `{"type":"error","code":12,"text":"msg_id must be an integer"}`},
		{"msg_id 1.0", recordWith(`"msg_id":1.0`), `{"type":"error","code":12,"text":"msg_id must be an integer"}`},
		{"msg_id 1e3", recordWith(`"msg_id":1e3`), `{"type":"error","code":12,"text":"msg_id must be an integer"}`},
		{"msg_id string", recordWith(`"msg_id":"1"`), `{"type":"error","code":12,"text":"msg_id must be an integer"}`},
		{"msg_id bool", recordWith(`"msg_id":true`), `{"type":"error","code":12,"text":"msg_id must be an integer"}`},
		{"msg_id array", recordWith(`"msg_id":[1]`), `{"type":"error","code":12,"text":"msg_id must be an integer"}`},
		{"msg_id object", recordWith(`"msg_id":{}`), `{"type":"error","code":12,"text":"msg_id must be an integer"}`},
		{"msg_id null", `{"type":"record","msg_id":null,"service":"api","duration_ms":1,"status":200}`,
			`{"type":"metrics_recorded","service":"api","request_count":1}`},
		{"msg_id then null", recordWith(`"msg_id":null`),
			`{"type":"metrics_recorded","in_reply_to":1,"service":"api","request_count":1}`},
		{"msg_id bad, another field bad", `{"type":"record","msg_id":"x","service":7}`,
			`{"type":"error","code":12,"text":"service must be a string, not number"}`},

		// Names: up to node.MaxNameBytes bytes, not characters.
		{"service 256 bytes", recordWith(`"service":"` + long(node.MaxNameBytes) + `"`),
			`{"type":"metrics_recorded","in_reply_to":1,"service":"` + long(node.MaxNameBytes) + `","request_count":1}`},
		{"service 257 bytes", recordWith(`"service":"` + long(node.MaxNameBytes+1) + `"`),
			`{"type":"error","in_reply_to":1,"code":12,"text":"service is longer than 256 bytes"}`},
		{"service 128 é", recordWith(`"service":"` + strings.Repeat("é", 128) + `"`), `{"type":"metrics_recorded"*`},
		{"service 129 é", recordWith(`"service":"` + strings.Repeat(`\u00e9`, 129) + `"`),
			`{"type":"error","in_reply_to":1,"code":12,"text":"service is longer than 256 bytes"}`},
		{"target 257 bytes", recordWith(`"target":"` + long(257) + `"`),
			`{"type":"error","in_reply_to":1,"code":12,"text":"target is longer than 256 bytes"}`},
		{"destination 257 bytes", recordWith(`"destination":"` + long(257) + `"`),
			`{"type":"error","in_reply_to":1,"code":12,"text":"destination is longer than 256 bytes"}`},
		{"source 257 bytes", recordWith(`"source":"` + long(257) + `"`),
			`{"type":"error","in_reply_to":1,"code":12,"text":"source is longer than 256 bytes"}`},
		{"span service 257 bytes", `{"type":"trace","msg_id":1,"operation":"x","service":"` + long(257) + `"}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"service is longer than 256 bytes"}`},
		{"node_id 257 bytes", `{"type":"init","msg_id":1,"node_id":"` + long(257) + `"}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"node_id is longer than 256 bytes"}`},
		{"filter 257 bytes", `{"type":"query","msg_id":1,"filter":{"target_service":"` + long(257) + `"}}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"filter.target_service is longer than 256 bytes"}`},
		{"path 16 KiB", recordWith(`"path":"` + long(node.MaxTextBytes) + `"`), `{"type":"metrics_recorded"*`},
		{"path 16 KiB + 1", recordWith(`"path":"` + long(node.MaxTextBytes+1) + `"`),
			`{"type":"error","in_reply_to":1,"code":12,"text":"path is longer than 16384 bytes"}`},
		{"129 attributes", `{"type":"trace","msg_id":1,"operation":"x","attributes":{` + attrs(node.MaxAttributes+1) + `}}`,
			`{"type":"error","in_reply_to":1,"code":12,"text":"attributes has more than 128 keys"}`},
		{"128 attributes", `{"type":"trace","msg_id":1,"operation":"x","attributes":{` + attrs(node.MaxAttributes) + `}}`,
			`{"type":"trace_created","in_reply_to":1,"trace_id":*`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := serve(t, tc.in+"\n")
			if len(got) != 1 {
				t.Fatalf("%d replies: %q", len(got), got)
			}
			if want, ok := strings.CutSuffix(tc.want, "*"); ok {
				if !strings.HasPrefix(got[0], want) {
					t.Fatalf("\n got %s\nwant %s...", got[0], want)
				}
				return
			}
			if got[0] != tc.want {
				t.Fatalf("\n got %s\nwant %s", got[0], tc.want)
			}
		})
	}
}

func attrs(n int) string {
	kv := make([]string, n)
	for i := range kv {
		kv[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	return strings.Join(kv, ",")
}

// TestEveryFieldEveryWrongType puts each JSON type a field must not have
// into every field of every message: always code 12, naming the field.
func TestEveryFieldEveryWrongType(t *testing.T) {
	type field struct {
		name string
		ok   []string // the JSON kinds it takes
	}
	str, num, boolean, obj := []string{"string"}, []string{"number"}, []string{"bool"}, []string{"object"}
	fields := []field{
		{"type", str}, {"node_id", str}, {"node_ids", []string{"array"}},
		{"service", str}, {"duration_ms", num}, {"status", num}, {"status_code", num},
		{"target_service", str}, {"target", str}, {"destination_service", str}, {"destination", str},
		{"source_service", str}, {"source", str}, {"method", str}, {"path", str}, {"protocol", str},
		{"trace_id", str}, {"span_id", str}, {"timestamp", []string{"string", "number"}},
		{"operation", str}, {"parent_span_id", str}, {"kind", str}, {"attributes", obj},
		{"filter", obj}, {"detail", boolean}, {"raw", boolean}, {"limit", num}, {"format", str},
		{"filter.source_service", str}, {"filter.target_service", str}, {"filter.status", num}, {"filter.status_class", str},
	}
	values := map[string]string{"string": `"x"`, "number": `7`, "bool": `true`, "array": `["x"]`, "object": `{}`}
	bases := map[string]string{
		"init":      `{"type":"init","msg_id":1,"node_id":"n1"`,
		"record":    `{"type":"record","msg_id":1,"service":"api","duration_ms":1,"status":200`,
		"trace":     `{"type":"trace","msg_id":1,"operation":"x"`,
		"query":     `{"type":"query","msg_id":1`,
		"generate":  `{"type":"generate","msg_id":1`,
		"get_trace": `{"type":"get_trace","msg_id":1,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`,
	}
	var in strings.Builder
	var want []string
	for _, typ := range []string{"init", "record", "trace", "query", "generate", "get_trace"} {
		for _, f := range fields {
			for _, kind := range []string{"string", "number", "bool", "array", "object"} {
				if slicesContains(f.ok, kind) || (f.name == "timestamp" && typ != "record") {
					continue // timestamp takes any JSON text and is read by record only
				}
				member := fmt.Sprintf(`"%s":%s`, f.name, values[kind])
				if parent, child, ok := strings.Cut(f.name, "."); ok {
					member = fmt.Sprintf(`"%s":{"%s":%s}`, parent, child, values[kind])
				}
				for _, envelope := range []bool{false, true} {
					line := bases[typ] + "," + member + "}"
					if envelope {
						line = `{"src":"c","dest":"n","body":` + line + "}"
					}
					in.WriteString(line + "\n")
					want = append(want, f.name)
				}
			}
		}
	}
	got := serve(t, in.String())
	lines := strings.Split(in.String(), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d replies for %d lines", len(got), len(want))
	}
	for i, g := range got {
		if !strings.Contains(g, `"code":12,`) || !strings.Contains(g, want[i]) {
			t.Errorf("%s\n  -> %s: want code 12 naming %s", lines[i], g, want[i])
		}
		if strings.HasPrefix(lines[i], `{"src"`) != strings.HasPrefix(g, `{"src":`) {
			t.Errorf("%s\n  -> %s: framing not mirrored", lines[i], g)
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestFraming covers line ends: CRLF, blank lines, a last line without a
// newline, a line far over the limit between good ones.
func TestFraming(t *testing.T) {
	rec := func(id int) string {
		return fmt.Sprintf(`{"type":"record","msg_id":%d,"service":"api","duration_ms":1,"status":200}`, id)
	}
	ok := func(id, count int) string {
		return fmt.Sprintf(`{"type":"metrics_recorded","in_reply_to":%d,"service":"api","request_count":%d}`, id, count)
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"CRLF", rec(1) + "\r\n" + rec(2) + "\r\n", []string{ok(1, 1), ok(2, 2)}},
		{"blank lines", "\n\r\n \t \n" + rec(1) + "\n\n", []string{ok(1, 1)}},
		{"last line without newline", rec(1) + "\n" + rec(2), []string{ok(1, 1), ok(2, 2)}},
		{"last line truncated", rec(1) + "\n" + `{"type":"record","msg_id":2,"serv`,
			[]string{ok(1, 1), `{"type":"error","code":12,"text":"invalid JSON: unexpected end of JSON input"}`}},
		{"only a newline", "\n", nil},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := serve(t, tc.in)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestHugeLines sends a 10 MiB and a 64 MiB line between two records: each
// is skipped with code 12 without being held in memory, and the records
// count on.
func TestHugeLines(t *testing.T) {
	for _, size := range []int64{10 << 20, 64 << 20} {
		t.Run(fmt.Sprintf("%dMiB", size>>20), func(t *testing.T) {
			p, err := telemetry.New(telemetry.WithRetention(1000, 1000))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			n := node.New(p)
			in := io.MultiReader(
				strings.NewReader(recordWith(`"msg_id":1`)+"\n"),
				strings.NewReader(`{"type":"record","msg_id":2,"service":"api","duration_ms":1,"status":200,"path":"`),
				io.LimitReader(repeatReader('x'), size),
				strings.NewReader(`"}`+"\n"),
				strings.NewReader(recordWith(`"msg_id":3`)))
			var out bytes.Buffer
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if err := n.Run(context.Background(), in, &out); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			want := `{"type":"metrics_recorded","in_reply_to":1,"service":"api","request_count":1}
{"type":"error","code":12,"text":"line longer than 1048576 bytes skipped"}
{"type":"metrics_recorded","in_reply_to":3,"service":"api","request_count":2}
`
			if out.String() != want {
				t.Fatalf("\n got %s\nwant %s", out.String(), want)
			}
			// The line reader holds up to the limit (1 MiB) while it finds out.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Fatalf("allocated %d bytes for a %d-byte line", alloc, size)
			}
		})
	}
}

// repeatReader is an endless stream of one byte.
type repeatReader byte

func (r repeatReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(r)
	}
	return len(b), nil
}

// TestRejectedChangesNothing sends records that pass every check but the
// last, then checks nothing reached the pipeline.
func TestRejectedChangesNothing(t *testing.T) {
	bad := []string{
		recordWith(`"target_service":"db","timestamp":"yesterday"`),
		recordWith(`"target_service":"db","span_id":"00f067aa0ba902b7"`),
		recordWith(`"target_service":"db","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"zz"`),
		recordWith(`"source_service":"web","protocol":"` + strings.Repeat("p", node.MaxTextBytes+1) + `"`),
		`{"type":"trace","msg_id":1,"operation":"x","service":"web","attributes":{"a":{}}}`,
		`{"type":"trace","msg_id":1,"operation":"x","service":"web","status":99}`,
		`{"type":"init","msg_id":1,"node_id":""}`,
	}
	in := strings.Join(bad, "\n") + "\n" + strings.Join([]string{
		`{"src":"c","dest":"n0","body":{"type":"record","msg_id":2,"service":"api","duration_ms":1,"status":200}}`,
		`{"type":"query","msg_id":3,"raw":true}`,
		`{"type":"generate","msg_id":4}`,
	}, "\n")
	got := serve(t, in)
	for i := range bad {
		if !strings.Contains(got[i], `"code":12`) {
			t.Fatalf("line %d accepted: %s", i, got[i])
		}
	}
	want := []string{
		`{"src":"n0","dest":"c","body":{"type":"metrics_recorded","in_reply_to":2,"service":"api","request_count":1}}`,
		`{"type":"access_logs","in_reply_to":3,"logs":[{"timestamp":*`,
		`{"type":"service_graph","in_reply_to":4,"nodes":["api"],"edges":[]}`,
	}
	for i, w := range want {
		g := got[len(bad)+i]
		if p, ok := strings.CutSuffix(w, "*"); ok {
			if !strings.HasPrefix(g, p) || strings.Count(g, `"timestamp"`) != 1 {
				t.Fatalf("\n got %s\nwant %s", g, w)
			}
		} else if g != w {
			t.Fatalf("\n got %s\nwant %s", g, w)
		}
	}
}
