package node

import (
	"bufio"
	"context"
	stdjson "encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/meshobs/meshobs/telemetry"
)

const (
	recordLine = `{"src":"c1","dest":"n1","body":{"type":"record","msg_id":2,"service":"payments","target_service":"notifications","duration_ms":14.55,"status":200,"method":"GET","path":"/api/v1/items"}}`
	traceLine  = `{"src":"c1","dest":"n1","body":{"type":"trace","msg_id":4,"operation":"cache.get","service":"accounts","kind":"server","duration_ms":19.2}}`
)

func benchNode(b *testing.B) *Node {
	b.Helper()
	p, err := telemetry.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	n := New(p)
	n.out = bufio.NewWriter(io.Discard)
	return n
}

// seed records calls among services services, each calling the next two.
func seed(b *testing.B, n *Node, services, records int) {
	b.Helper()
	for i := range records {
		s := i % services
		line := fmt.Sprintf(`{"type":"record","msg_id":%d,"service":"svc-%d","target_service":"svc-%d","duration_ms":%d,"status":200}`,
			i, s, (s+1+i%2)%services, i%100)
		if err := n.handleLine([]byte(line)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessage is the whole per-line cost of each message type through
// the node: decode, validate, SDK calls, exporters, reply.
func BenchmarkMessage(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"record", recordLine},
		{"trace", traceLine},
		{"query", `{"type":"query","msg_id":9,"filter":{"source_service":"svc-3"}}`},
		{"generate", `{"type":"generate","msg_id":9}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := benchNode(b)
			seed(b, n, 50, 5_000)
			line := []byte(bc.line)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := n.handleLine(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGenerate measures generate against the graph's size: it is O(nodes + edges).
func BenchmarkGenerate(b *testing.B) {
	for _, services := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("services=%d", services), func(b *testing.B) {
			n := benchNode(b)
			seed(b, n, services, 4*services)
			line := []byte(`{"type":"generate","msg_id":9}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := n.handleLine(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAfterManyRecords shows query and generate cost O(pairs), not
// O(entries): run with -benchtime=100x; seeding 1M records takes seconds.
func BenchmarkAfterManyRecords(b *testing.B) {
	n := benchNode(b)
	seed(b, n, 50, 1_000_000)
	for _, bc := range []struct{ name, line string }{
		{"generate", `{"type":"generate","msg_id":9}`},
		{"query", `{"type":"query","msg_id":9}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			line := []byte(bc.line)
			b.ReportAllocs()
			for b.Loop() {
				if err := n.handleLine(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// naiveRequest is what a telemetry-free node decodes a record into.
type naiveRequest struct {
	Src  string `json:"src"`
	Dest string `json:"dest"`
	Body struct {
		Type          string  `json:"type"`
		MsgID         int64   `json:"msg_id"`
		Service       string  `json:"service"`
		TargetService string  `json:"target_service"`
		DurationMs    float64 `json:"duration_ms"`
		Status        int     `json:"status"`
		Method        string  `json:"method"`
		Path          string  `json:"path"`
	} `json:"body"`
}

// BenchmarkDecode compares the decoders on a typical record line: the node
// decodes it in one pass (fastDecode); other lines go through the strict
// check and goccy/go-json (decodeLine), and encoding/json only for errors.
func BenchmarkDecode(b *testing.B) {
	line := []byte(recordLine)
	b.Run("node", func(b *testing.B) {
		b.ReportAllocs()
		var d decoder
		var w wireLine
		for b.Loop() {
			if err, _ := d.decode(line, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("node-varied", func(b *testing.B) {
		// Lines as a mesh sends them: names, paths and numbers vary from
		// line to line (the single line above repeats every value).
		lines := make([][]byte, 1024)
		methods := []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
		for i := range lines {
			lines[i] = fmt.Appendf(nil, `{"src":"c1","dest":"n1","body":{"type":"record","msg_id":%d,"service":"svc-%d","target_service":"svc-%d","duration_ms":%d.%02d,"status":%d,"method":%q,"path":"/api/v1/r%d"}}`,
				i+2, i*7%50, i*13%50, i*37%300, i%100, []int{200, 200, 201, 204, 404, 503}[i%6], methods[i*5%len(methods)], i*11%20)
		}
		var d decoder
		var w wireLine
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err, _ := d.decode(lines[i%len(lines)], &w); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("node-goccy", func(b *testing.B) {
		b.ReportAllocs()
		var w wireLine
		for b.Loop() {
			if err, _ := decodeLine(line, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-wire", func(b *testing.B) {
		b.ReportAllocs()
		var w wireLine
		for b.Loop() {
			w = wireLine{}
			if err := stdjson.Unmarshal(line, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-naive", func(b *testing.B) {
		b.ReportAllocs()
		var r naiveRequest
		for b.Loop() {
			if err := stdjson.Unmarshal(line, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReply compares appending the fixed-shape reply with json.Marshal.
func BenchmarkReply(b *testing.B) {
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf = appendHeader(buf[:0], "metrics_recorded", msgID{v: 12345, set: true})
			buf = append(buf, `,"service":`...)
			buf = telemetry.AppendString(buf, "payments")
			buf = append(buf, `,"request_count":`...)
			buf = append(buf, "4242}"...)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		type reply struct {
			Type         string `json:"type"`
			InReplyTo    int64  `json:"in_reply_to"`
			Service      string `json:"service"`
			RequestCount int64  `json:"request_count"`
		}
		for b.Loop() {
			if _, err := stdjson.Marshal(reply{"metrics_recorded", 12345, "payments", 4242}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckSyntax is the strict RFC 8259 check every line passes
// before goccy/go-json decodes it, against encoding/json's own check.
func BenchmarkCheckSyntax(b *testing.B) {
	line := []byte(recordLine)
	b.Run("node", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			if !checkSyntax(line).valid {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json-Valid", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			if !stdjson.Valid(line) {
				b.Fatal("invalid")
			}
		}
	})
}
