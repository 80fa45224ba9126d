package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshobs/meshobs/bench/workload"
)

func TestCountReplies(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // spans several reader chunks
	for _, tc := range []struct {
		name        string
		in          string
		lines, errs int
		wantReadErr bool
		firstErrHas string
	}{
		{"empty", "", 0, 0, false, ""},
		{"replies", "{\"type\":\"init_ok\"}\n{\"type\":\"x\"}\n", 2, 0, false, ""},
		{"errors", "{\"type\":\"error\",\"code\":12}\n{\"type\": \"error\"}\n{}\n", 3, 2, false, `{"type":"error"`},
		{"long line", "{\"text\":\"" + long + "\",\"type\":\"error\"}\n{}\n", 2, 1, false, `"type":"error"`},
		{"unterminated", "{}\n{}", 1, 0, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, errs, first, err := countReplies(strings.NewReader(tc.in))
			if lines != tc.lines || errs != tc.errs || (err != nil) != tc.wantReadErr ||
				!strings.Contains(first, tc.firstErrHas) {
				t.Fatalf("got %d lines, %d errors, first %.40q, err %v", lines, errs, first, err)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestReportCheck(t *testing.T) {
	st := workload.Stats{Lines: 1_000_000}
	runs := func(meshWall, meshCPU, meshRSS float64) []runResult {
		return []runResult{
			{Binary: "floor", WallS: 2, CPUS: 2, RSSMiB: 20},
			{Binary: "meshobs", WallS: meshWall, CPUS: meshCPU, RSSMiB: meshRSS},
		}
	}
	for _, tc := range []struct {
		name     string
		runs     []runResult
		failures int
	}{
		{"pass", runs(1.5, 1.5, 60), 0},
		{"slower than floor", runs(2.5, 1.5, 60), 1},
		{"cpu per message", runs(1.5, 2.5, 60), 1},
		{"rss", runs(1.5, 1.5, 150), 1},
		{"all", runs(3, 3, 200), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReport(options{rounds: 1}, st, tc.runs)
			if len(r.Check.Failures) != tc.failures || r.Check.Pass != (tc.failures == 0) {
				t.Fatalf("check %+v, want %d failures", r.Check, tc.failures)
			}
		})
	}
}

// TestRunOnce runs real processes: cat answers every line (as a node must),
// true answers none.
func TestRunOnce(t *testing.T) {
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Skip("no cat")
	}
	input := filepath.Join(t.TempDir(), "in.jsonl")
	st, err := writeWorkload(input, workload.Config{Messages: 2_000})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := runOnce(ctx, binary{name: "cat", path: cat}, input, st.Lines, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.WallS <= 0 || r.RSSMiB <= 0 {
		t.Fatalf("implausible measurements %+v", r)
	}
	if _, err := runOnce(ctx, binary{name: "cat", path: cat}, input, st.Lines+1, time.Minute); err == nil ||
		!strings.Contains(err.Error(), "reply lines") {
		t.Fatalf("line count mismatch not reported: %v", err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	_, err = runOnce(ctx, binary{name: "sh", path: sh, args: []string{"-c", "echo boom >&2; exit 3"}}, input, st.Lines, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing node not reported with its stderr: %v", err)
	}
}
