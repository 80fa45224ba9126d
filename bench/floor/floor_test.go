package main

import (
	"bufio"
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshobs/meshobs/bench/workload"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out from the current output")

// fixedClock returns a clock frozen at a known instant.
func fixedClock() func() time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return t0 }
}

// countingIDs returns ids 1, 2, 3, ... so golden replies are reproducible.
func countingIDs() func() ([16]byte, [8]byte) {
	var n byte
	return func() (t [16]byte, s [8]byte) {
		n++
		t[15], s[7] = n, n
		return t, s
	}
}

func TestGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "golden.in"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := newNode(fixedClock(), countingIDs()).run(bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.out")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(out.String(), "\n")
	wantLines := strings.Split(string(want), "\n")
	for i := range max(len(got), len(wantLines)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Errorf("reply line %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
}

func TestOverlongLineSkipped(t *testing.T) {
	var in bytes.Buffer
	in.WriteString(`{"type":"record","msg_id":1,"service":"a","duration_ms":1,"status":200}` + "\n")
	in.WriteString(`{"type":"record","msg_id":2,"service":"` + strings.Repeat("x", 2*maxLine) + `"}` + "\n")
	in.WriteString(`{"type":"record","msg_id":3,"service":"a","duration_ms":1,"status":200}`) // no final newline
	var out bytes.Buffer
	if err := newNode(fixedClock(), countingIDs()).run(&in, &out); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"metrics_recorded","in_reply_to":1,"service":"a","request_count":1}
{"type":"error","code":12,"text":"line longer than 1048576 bytes skipped"}
{"type":"metrics_recorded","in_reply_to":3,"service":"a","request_count":2}
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestWorkloadAnswered runs a benchmark workload through the node: one reply
// per line, in order, and no errors.
func TestWorkloadAnswered(t *testing.T) {
	const n = 5_000
	var in, out bytes.Buffer
	if _, err := workload.Write(&in, workload.Config{Messages: n}); err != nil {
		t.Fatal(err)
	}
	if err := newNode(time.Now, randomIDs).run(&in, &out); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		if bytes.Contains(sc.Bytes(), []byte(`"type":"error"`)) {
			t.Fatalf("reply %d is an error: %s", lines, sc.Bytes())
		}
	}
	if lines != n {
		t.Fatalf("%d replies to %d requests", lines, n)
	}
}

// BenchmarkRun reports the floor's cost per message on the benchmark mix.
func BenchmarkRun(b *testing.B) {
	const n = 20_000
	var in bytes.Buffer
	if _, err := workload.Write(&in, workload.Config{Messages: n}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(in.Len()) / n)
	for b.Loop() {
		if err := newNode(time.Now, randomIDs).run(bytes.NewReader(in.Bytes()), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}
