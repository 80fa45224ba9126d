package workload

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math"
	"testing"
)

func TestWriteDeterministic(t *testing.T) {
	sum := func(cfg Config) [32]byte {
		var b bytes.Buffer
		if _, err := Write(&b, cfg); err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b.Bytes())
	}
	a := sum(Config{Messages: 20_000, Seed: 7})
	if b := sum(Config{Messages: 20_000, Seed: 7}); a != b {
		t.Fatal("same seed gave different bytes")
	}
	if c := sum(Config{Messages: 20_000, Seed: 8}); a == c {
		t.Fatal("different seeds gave the same bytes")
	}
}

// TestWriteMix counts the types of 100k lines independently of Stats.
func TestWriteMix(t *testing.T) {
	const n = 100_000
	var b bytes.Buffer
	st, err := Write(&b, Config{Messages: n})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lines != n || st.Bytes != int64(b.Len()) {
		t.Fatalf("stats %+v, buffer %d bytes", st, b.Len())
	}
	counts := map[string]int{}
	withTarget := 0
	prefix := []byte(`"body":{"type":"`)
	for line := range bytes.Lines(b.Bytes()) {
		_, rest, ok := bytes.Cut(line, prefix)
		typ, _, ok2 := bytes.Cut(rest, []byte(`"`))
		if !ok || !ok2 {
			t.Fatalf("no type in %s", line)
		}
		counts[string(typ)]++
		if bytes.Contains(line, []byte(`"target_service"`)) && string(typ) == "record" {
			withTarget++
		}
	}
	targets := []struct {
		typ   string
		share float64
	}{{"record", 0.85}, {"trace", 0.135}, {"query", 0.0145}, {"generate", 0.0005}}
	for _, tc := range targets {
		t.Run(tc.typ, func(t *testing.T) {
			got := float64(counts[tc.typ]) / n
			if math.Abs(got-tc.share) > 0.005 {
				t.Errorf("%s share %.4f, want %.4f ±0.005", tc.typ, got, tc.share)
			}
			if st.ByKind[kindOf(tc.typ)] != counts[tc.typ] {
				t.Errorf("Stats says %d, lines say %d", st.ByKind[kindOf(tc.typ)], counts[tc.typ])
			}
		})
	}
	if got := float64(withTarget) / float64(counts["record"]); math.Abs(got-0.9) > 0.005 {
		t.Errorf("records with target_service %.4f, want 0.90 ±0.005", got)
	}
	if withTarget != st.RecordsWithTarget {
		t.Errorf("Stats.RecordsWithTarget %d, lines say %d", st.RecordsWithTarget, withTarget)
	}
}

// TestWriteFields decodes every line of a workload spanning a few mix blocks
// (decoding 100k lines takes too long under -race) and checks the fields
// docs/protocol.md requires.
func TestWriteFields(t *testing.T) {
	const n = 25_000
	var b bytes.Buffer
	if _, err := Write(&b, Config{Messages: n, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	type body struct {
		Type          string          `json:"type"`
		MsgID         *int64          `json:"msg_id"`
		NodeID        string          `json:"node_id"`
		Service       *string         `json:"service"`
		TargetService *string         `json:"target_service"`
		DurationMS    *float64        `json:"duration_ms"`
		Status        *int            `json:"status"`
		Method        string          `json:"method"`
		Path          string          `json:"path"`
		Operation     *string         `json:"operation"`
		Kind          string          `json:"kind"`
		Filter        json.RawMessage `json:"filter"`
	}
	type envelope struct {
		Src  string `json:"src"`
		Dest string `json:"dest"`
		Body *body  `json:"body"`
	}
	seen := map[string]bool{}
	lastID := int64(0)
	sc := bufio.NewScanner(&b)
	for line := 1; sc.Scan(); line++ {
		var e envelope
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v: %s", line, err, sc.Bytes())
		}
		if e.Src == "" || e.Dest == "" || e.Body == nil || e.Body.MsgID == nil {
			t.Fatalf("line %d: incomplete envelope: %s", line, sc.Bytes())
		}
		if *e.Body.MsgID != lastID+1 {
			t.Fatalf("line %d: msg_id %d after %d", line, *e.Body.MsgID, lastID)
		}
		lastID = *e.Body.MsgID
		bd := e.Body
		seen[bd.Type] = true
		switch bd.Type {
		case "init":
			if line != 1 || bd.NodeID == "" {
				t.Fatalf("line %d: misplaced or incomplete init", line)
			}
		case "record":
			if bd.Service == nil || *bd.Service == "" || bd.DurationMS == nil || *bd.DurationMS < 0 ||
				bd.Status == nil || *bd.Status < 100 || *bd.Status > 599 || bd.Method == "" || bd.Path == "" {
				t.Fatalf("line %d: bad record: %s", line, sc.Bytes())
			}
			if bd.TargetService != nil && (*bd.TargetService == "" || *bd.TargetService == *bd.Service) {
				t.Fatalf("line %d: bad target_service: %s", line, sc.Bytes())
			}
		case "trace":
			if bd.Operation == nil || *bd.Operation == "" || bd.Service == nil || bd.DurationMS == nil {
				t.Fatalf("line %d: bad trace: %s", line, sc.Bytes())
			}
			switch bd.Kind {
			case "server", "client", "internal", "producer", "consumer":
			default:
				t.Fatalf("line %d: bad kind: %s", line, sc.Bytes())
			}
		case "query":
			var f map[string]string
			if err := json.Unmarshal(bd.Filter, &f); err != nil || len(f) == 0 {
				t.Fatalf("line %d: bad filter: %s", line, sc.Bytes())
			}
		case "generate":
		default:
			t.Fatalf("line %d: unexpected type %q", line, bd.Type)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"init", "record", "trace", "query", "generate"} {
		if !seen[typ] {
			t.Errorf("no %s line in %d messages", typ, n)
		}
	}
}

func kindOf(typ string) Kind {
	for k := range numKinds {
		if k.String() == typ {
			return k
		}
	}
	return numKinds
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"negative messages", Config{Messages: -1}, false},
		{"one service", Config{Services: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if _, err := Write(&buf, Config{Messages: 10_000}); err != nil {
			b.Fatal(err)
		}
	}
}
