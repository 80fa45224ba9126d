package main

import (
	"strings"
	"testing"
)

// TestEcho: one reply per line, framed back to the sender, counting
// requests per service; a line that does not decode gets an error reply.
func TestEcho(t *testing.T) {
	in := `{"src":"c1","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}
{"src":"c1","dest":"n1","body":{"type":"record","msg_id":2,"service":"api","duration_ms":1,"status":200}}
{"src":"c1","dest":"n1","body":{"type":"trace","msg_id":3,"service":"api","operation":"x"}}
not json
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"src":"n1","dest":"c1","body":{"type":"init_ok","in_reply_to":1}}`,
		`{"src":"n1","dest":"c1","body":{"type":"record_ok","in_reply_to":2,"service":"api","count":1}}`,
		`{"src":"n1","dest":"c1","body":{"type":"trace_ok","in_reply_to":3,"service":"api","count":2}}`,
		`{"src":"","dest":"","body":{"type":"error","in_reply_to":0,"code":12,"text":"invalid character 'o' in literal null (expecting 'u')"}}`,
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
