package node_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/meshobs/meshobs/node"
	"github.com/meshobs/meshobs/semconv"
	"github.com/meshobs/meshobs/telemetry"
)

// fuzzMaxLine is small so that the fuzzers reach the over-limit path.
const fuzzMaxLine = 4096

// fuzzRetention keeps pipelines cheap to build: the stores allocate their
// rings up front.
const fuzzRetention = 1000

func newFuzzPipeline(t *testing.T) *telemetry.Pipeline {
	p, err := telemetry.New(
		telemetry.WithClock(func() time.Time { return fixedNow }),
		telemetry.WithRetention(fuzzRetention, fuzzRetention))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	return p
}

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// nodeSeeds are request scripts, one request per line.
var nodeSeeds = []string{
	`{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}
{"src":"c1","dest":"n1","body":{"type":"record","msg_id":2,"service":"api","duration_ms":12.5,"status":200,"target_service":"db"}}
{"type":"record","msg_id":3,"service":"api","duration_ms":1,"status":503,"source_service":"web"}
{"type":"record","msg_id":4,"service":"db","duration_ms":1,"status":200}
{"type":"query","msg_id":5}
{"type":"generate","msg_id":6}
{"type":"stats","msg_id":7,"service":"api"}
{"type":"generate","msg_id":8,"detail":true,"format":"mermaid"}`,
	`{"type":"trace","msg_id":1,"operation":"GET /","service":"web"}
{"type":"trace","msg_id":2,"operation":"q","service":"db","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
{"type":"get_trace","msg_id":3,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
{"type":"generate","msg_id":4,"detail":true}`,
	`{"type":"record","msg_id":1,"service":"api","duration_ms":1,"status":200,"target":"db","method":"GET","path":"/","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","timestamp":"2026-01-02T03:04:05Z"}
{"type":"record","msg_id":2,"service":"api","duration_ms":1,"status":200,"target":"db","timestamp":"yesterday"}
{"type":"query","msg_id":3,"raw":true,"limit":10,"filter":{"status_class":"2xx"}}`,
	"{\"type\":\"record\",\"msg_id\":1,\"service\":\"api\",\"duration_ms\":1,\"status\":200}\r\n\r\n   \n{\"type\":\"record\",\"msg_id\":01}\n[1]\n\"s\"\n{\"src\":\"c\",\"dest\":\"n\",\"body\":7}\n{\"type\":\"record\",\"msg_id\":2,\"service\":\"api\",\"duration_ms\":1,\"status\":200}",
	`{"type":"record","msg_id":1,"service":"api","duration_ms":1,"status":200,"target_service":"x","method":7}
{"type":"trace","msg_id":2,"operation":"x","attributes":{"a":{"b":1}}}
{"type":"record","msg_id":"3","service":"api","duration_ms":1,"status":200}
{"type":"bogus","msg_id":4}`,
}

// state is everything a request could change, as the node's readers see it.
type state struct {
	Logs, Spans              int
	Raw, Pairs, Graph, Stats string
	Count, HistLen           uint64
}

func snapshot(t *testing.T, p *telemetry.Pipeline) state {
	ctx, q := context.Background(), p.Query()
	reply := func(r telemetry.Reply, err error) string {
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		return string(telemetry.AppendReply(nil, r))
	}
	s := state{
		Raw:   reply(q.AccessLogs(ctx, telemetry.LogRequest{Raw: true, Limit: 1 << 20})),
		Pairs: reply(q.AccessLogs(ctx, telemetry.LogRequest{Detail: true})),
		Graph: reply(q.Graph(ctx, telemetry.GraphRequest{Detail: true})),
		Stats: reply(q.Stats(ctx, telemetry.StatsRequest{})),
	}
	s.Logs, s.Spans = q.Retained()
	rm, err := q.Metrics(ctx)
	if err != nil {
		t.Fatalf("metrics snapshot: %v", err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == semconv.RequestsName {
					for _, dp := range d.DataPoints {
						s.Count += uint64(dp.Value)
					}
				}
			case metricdata.ExponentialHistogram[float64]:
				for _, dp := range d.DataPoints {
					s.HistLen += dp.Count
				}
			}
		}
	}
	return s
}

// splitLines splits input as the node frames it: on '\n', a last line
// without one still counts.
func splitLines(in []byte) [][]byte {
	lines := bytes.Split(in, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func blank(line []byte) bool { return len(bytes.Trim(line, " \t\r\n")) == 0 }

// requestMsgID returns the msg_id the request carries as an exact integer
// literal, as the node reads it (the body's in an envelope).
func requestMsgID(line []byte) (int64, bool) {
	var top map[string]stdjson.RawMessage
	if stdjson.Unmarshal(line, &top) != nil {
		return 0, false
	}
	obj := top
	if b, ok := top["body"]; ok && len(b) > 0 && b[0] == '{' {
		obj = nil
		if stdjson.Unmarshal(b, &obj) != nil {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(obj["msg_id"]), 10, 64)
	return v, err == nil
}

// parseReply checks one reply line is a JSON object (an envelope or a body)
// and returns its body, decoded with numbers kept exact.
func parseReply(t *testing.T, out []byte) map[string]any {
	t.Helper()
	dec := stdjson.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || !stdjson.Valid(out) || m == nil {
		t.Fatalf("reply %q is not a JSON object: %v", out, err)
	}
	if b, ok := m["body"]; ok {
		body, ok := b.(map[string]any)
		if !ok || len(m) != 3 {
			t.Fatalf("reply %q: bad envelope", out)
		}
		return body
	}
	return m
}

// FuzzNode feeds request scripts through a Node and checks its invariants:
// exactly one JSON reply line per non-blank line, never a crash or an
// internal error, no state change from a rejected or read-only request,
// msg_id echoed exactly, request_count counting up per service, and query
// and generate agreeing with the records accepted.
func FuzzNode(f *testing.F) {
	for _, s := range nodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		n := node.New(newFuzzPipeline(t), node.WithMaxLineBytes(fuzzMaxLine))

		// The whole script at once: one reply per non-blank line.
		var all bytes.Buffer
		if err := n.Run(context.Background(), bytes.NewReader(input), &all); err != nil {
			t.Fatalf("Run: %v", err)
		}
		want := 0
		for _, l := range splitLines(input) {
			if len(l) > fuzzMaxLine || !blank(l) {
				want++
			}
		}
		if got := bytes.Count(all.Bytes(), []byte("\n")); got != want || (want > 0 && all.Bytes()[all.Len()-1] != '\n') {
			t.Fatalf("%d reply lines for %d request lines:\n%s", got, want, all.Bytes())
		}

		// Line by line on a fresh pipeline, checking each reply.
		p2 := newFuzzPipeline(t)
		n = node.New(p2, node.WithMaxLineBytes(fuzzMaxLine))
		counts := map[string]int64{}
		var records int64
		before := snapshot(t, p2)
		for _, line := range splitLines(input) {
			var out bytes.Buffer
			if err := n.Run(context.Background(), bytes.NewReader(append(bytes.Clone(line), '\n')), &out); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if blank(line) && len(line) <= fuzzMaxLine {
				if out.Len() != 0 {
					t.Fatalf("blank line %q answered %q", line, out.Bytes())
				}
				continue
			}
			if bytes.Count(out.Bytes(), []byte("\n")) != 1 || out.Bytes()[out.Len()-1] != '\n' {
				t.Fatalf("line %q: want one reply line, got %q", line, out.Bytes())
			}
			body := parseReply(t, out.Bytes())
			typ, _ := body["type"].(string)
			id, hasID := requestMsgID(line)
			if irt, ok := body["in_reply_to"]; ok {
				if !hasID || irt.(stdjson.Number).String() != strconv.FormatInt(id, 10) {
					t.Fatalf("line %q: in_reply_to %v", line, irt)
				}
			} else if typ != "error" && hasID {
				t.Fatalf("line %q: reply %q without in_reply_to", line, out.Bytes())
			}
			after := snapshot(t, p2)
			switch typ {
			case "error":
				code, _ := body["code"].(stdjson.Number)
				if c := code.String(); c != "10" && c != "12" && c != "20" {
					t.Fatalf("line %q: error code %s: %q", line, c, out.Bytes())
				}
				if text, _ := body["text"].(string); text == "" {
					t.Fatalf("line %q: error without text", line)
				}
				if !reflect.DeepEqual(before, after) {
					t.Fatalf("rejected line %q changed state:\nbefore %+v\nafter  %+v", line, before, after)
				}
			case "metrics_recorded":
				svc, _ := body["service"].(string)
				rc, _ := body["request_count"].(stdjson.Number)
				counts[svc]++
				records++
				if rc.String() != strconv.FormatInt(counts[svc], 10) {
					t.Fatalf("line %q: request_count %s, want %d", line, rc, counts[svc])
				}
				if after.Logs != before.Logs+1 || after.Count != before.Count+1 || after.HistLen != before.HistLen+1 {
					t.Fatalf("line %q: record changed logs %d->%d, counter %d->%d, histogram %d->%d", line,
						before.Logs, after.Logs, before.Count, after.Count, before.HistLen, after.HistLen)
				}
			case "trace_created":
				if after.Spans != before.Spans+1 || after.Logs != before.Logs || after.Count != before.Count {
					t.Fatalf("line %q: trace changed spans %d->%d, logs %d->%d", line, before.Spans, after.Spans, before.Logs, after.Logs)
				}
			case "init_ok":
				if !reflect.DeepEqual(before, after) {
					t.Fatalf("init %q changed state", line)
				}
			case "access_logs", "service_graph", "trace", "golden_signals":
				if !reflect.DeepEqual(before, after) {
					t.Fatalf("read-only request %q changed state", line)
				}
			default:
				t.Fatalf("line %q: unexpected reply %q", line, out.Bytes())
			}
			before = after
		}
		checkTotals(t, n, records)
	})
}

// checkTotals checks that query and generate agree with the records accepted.
func checkTotals(t *testing.T, n *node.Node, records int64) {
	t.Helper()
	var out bytes.Buffer
	in := fmt.Sprintf("%s\n%s\n%s\n",
		`{"type":"query","msg_id":1,"raw":true,"limit":1000000}`,
		`{"type":"query","msg_id":2}`,
		`{"type":"generate","msg_id":3}`)
	if err := n.Run(context.Background(), bytes.NewReader([]byte(in)), &out); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Logs []struct {
			S   string `json:"service"`
			Src string `json:"source_service"`
			Tgt string `json:"target_service"`
		} `json:"logs"`
	}
	var pairs struct {
		Logs []struct {
			Src   string `json:"source_service"`
			Tgt   string `json:"target_service"`
			Count int64  `json:"count"`
		} `json:"logs"`
	}
	var g struct {
		Nodes []string `json:"nodes"`
		Edges []struct {
			Source, Target string
			RequestCount   int64 `json:"request_count"`
		} `json:"edges"`
	}
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 3 {
		t.Fatalf("totals: %q", out.Bytes())
	}
	for i, v := range []any{&raw, &pairs, &g} {
		if err := stdjson.Unmarshal(lines[i], v); err != nil {
			t.Fatalf("totals reply %q: %v", lines[i], err)
		}
	}
	if records > fuzzRetention {
		return
	}
	if int64(len(raw.Logs)) != records {
		t.Fatalf("raw query holds %d entries, %d records accepted", len(raw.Logs), records)
	}
	perPair := map[[2]string]int64{}
	nodes := map[string]bool{}
	for _, n := range g.Nodes {
		nodes[n] = true
	}
	for _, l := range raw.Logs {
		if l.Src != "" && l.Tgt != "" {
			perPair[[2]string{l.Src, l.Tgt}]++
		}
		for _, s := range []string{l.S, l.Src, l.Tgt} {
			if s != "" && !nodes[s] {
				t.Fatalf("service %q of a record is not a graph node %q", s, g.Nodes)
			}
		}
	}
	edges := map[[2]string]int64{}
	for _, e := range g.Edges {
		edges[[2]string{e.Source, e.Target}] = e.RequestCount
	}
	if len(pairs.Logs) != len(perPair) {
		t.Fatalf("query has %d pairs, raw entries %d", len(pairs.Logs), len(perPair))
	}
	for _, pc := range pairs.Logs {
		k := [2]string{pc.Src, pc.Tgt}
		if pc.Count != perPair[k] {
			t.Fatalf("pair %v: query %d, raw entries %d", k, pc.Count, perPair[k])
		}
		if edges[k] < pc.Count {
			t.Fatalf("edge %v: generate %d calls, query %d", k, edges[k], pc.Count)
		}
	}
}
