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
	bins := []binary{{name: "echo"}, {name: "floor"}, {name: "meshobs"}}
	runs := func(meshWall, meshCPU, meshRSS float64) []runResult {
		return []runResult{
			{Binary: "echo", Round: 1, WallS: 1, CPUS: 1.5, RSSMiB: 10},
			{Binary: "floor", Round: 1, WallS: 2, CPUS: 2, RSSMiB: 20},
			{Binary: "meshobs", Round: 1, WallS: meshWall, CPUS: meshCPU, RSSMiB: meshRSS},
		}
	}
	flat := []sizeResult{{Messages: 1e6, RSSMiB: 100}, {Messages: 1e7, RSSMiB: 105}}
	growing := []sizeResult{{Messages: 1e6, RSSMiB: 100}, {Messages: 1e7, RSSMiB: 120}}
	huge := []sizeResult{{Messages: 1e6, RSSMiB: 145}, {Messages: 1e7, RSSMiB: 151}}
	for _, tc := range []struct {
		name     string
		runs     []runResult
		sizes    []sizeResult
		failures int
	}{
		{"pass", runs(1.5, 1.8, 60), nil, 0},
		{"pass with sizes", runs(1.5, 1.8, 60), flat, 0},
		{"cpu over echo", runs(1.5, 1.81, 60), nil, 1},
		{"slower than floor", runs(2.5, 1.5, 60), nil, 1},
		{"rss", runs(1.5, 1.5, 150), nil, 1},
		{"rss grows", runs(1.5, 1.5, 60), growing, 1},
		{"rss at 10M", runs(1.5, 1.5, 60), huge, 1},
		{"all", runs(3, 3, 200), nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReport(options{rounds: 1}, st, bins, tc.runs, tc.sizes)
			if len(r.Check.Failures) != tc.failures || r.Check.Pass != (tc.failures == 0) {
				t.Fatalf("check %+v, want %d failures", r.Check, tc.failures)
			}
		})
	}
}

func TestReportRatios(t *testing.T) {
	st := workload.Stats{Lines: 100}
	bins := []binary{{name: "echo"}, {name: "meshobs"}, {name: "old"}}
	var runs []runResult
	for round, cpu := range [][3]float64{{1, 2, 4}, {2, 3, 3}, {1, 1, 2}} {
		for i, b := range bins {
			runs = append(runs, runResult{Binary: b.name, Round: round + 1, WallS: cpu[i], CPUS: cpu[i], RSSMiB: cpu[i]})
		}
	}
	r := newReport(options{rounds: 3}, st, bins, runs, nil)
	var names []string
	for _, x := range r.Ratios {
		names = append(names, x.Name)
	}
	if got, want := strings.Join(names, " "), "meshobs/echo old/echo meshobs/old"; got != want {
		t.Fatalf("ratios %q, want %q (no floor ran)", got, want)
	}
	m, _ := r.ratio("meshobs/echo")
	if m.CPU != 2 || len(m.RoundCPU) != 3 || m.RoundCPU[0] != 2 || m.RoundCPU[1] != 1.5 || m.RoundCPU[2] != 1 {
		t.Fatalf("meshobs/echo %+v: want CPU 2 (medians 2 over 1), rounds 2, 1.5, 1", m)
	}
	if o, _ := r.ratio("meshobs/old"); o.CPU != 2.0/3 {
		t.Fatalf("meshobs/old CPU %v, want 2/3", o.CPU)
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
