package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"

	"github.com/meshobs/meshobs/bench/workload"
)

// Targets meshobs must meet under -check.
const (
	maxEchoCPURatio   = 1.2  // median CPU time over the bare echo node's
	maxFloorWallRatio = 1.0  // median wall time over the full naive floor's
	maxRSSMiB         = 150. // peak RSS of every run, -rss-sizes runs included
	maxRSSGrowth      = 1.10 // largest over smallest peak RSS across -rss-sizes
)

// summary is the medians of one binary's runs.
type summary struct {
	MsgsPerS      float64 `json:"msgs_per_s"`
	WallS         float64 `json:"wall_s"`
	CPUS          float64 `json:"cpu_s"`
	CPUMicrosPerM float64 `json:"cpu_us_per_msg"`
	RSSMiB        float64 `json:"peak_rss_mib"`
	// WorstRSSMiB is the largest peak RSS of any run, the figure -check uses.
	WorstRSSMiB float64 `json:"worst_peak_rss_mib"`
}

// ratio compares two binaries of the rotation.
type ratio struct {
	Name string `json:"name"` // "a/b"
	// Wall, CPU and RSS are ratios of the medians.
	Wall float64 `json:"wall"`
	CPU  float64 `json:"cpu"`
	RSS  float64 `json:"rss"`
	// RoundCPU are the CPU ratios of each round (a and b of the same round),
	// in round order: how much the machine's load moved them.
	RoundCPU []float64 `json:"round_cpu"`
}

// sizeResult is one -rss-sizes run of meshobs.
type sizeResult struct {
	Messages int     `json:"messages"`
	WallS    float64 `json:"wall_s"`
	CPUS     float64 `json:"cpu_s"`
	RSSMiB   float64 `json:"peak_rss_mib"`
}

type checkResult struct {
	Pass     bool     `json:"pass"`
	Failures []string `json:"failures"`
}

// report is the benchmark result, as printed by -json.
type report struct {
	Messages   int                `json:"messages"`
	InputBytes int64              `json:"input_bytes"`
	Services   int                `json:"services"`
	Seed       uint64             `json:"seed"`
	Rounds     int                `json:"rounds"`
	NumCPU     int                `json:"num_cpu"`
	Binaries   []string           `json:"binaries"`
	Runs       []runResult        `json:"runs"`
	Median     map[string]summary `json:"median"`
	// Ratios: meshobs/echo, meshobs/floor, then per -extra binary X:
	// X/echo and meshobs/X.
	Ratios []ratio      `json:"ratios"`
	Sizes  []sizeResult `json:"rss_sizes"`
	Check  checkResult  `json:"check"`
}

func newReport(o options, st workload.Stats, bins []binary, runs []runResult, sizes []sizeResult) report {
	r := report{
		Messages: st.Lines, InputBytes: st.Bytes, Services: o.workload().Services,
		Seed: o.seed, Rounds: o.rounds, NumCPU: runtime.NumCPU(), Runs: runs,
		Median: map[string]summary{}, Ratios: []ratio{}, Sizes: sizes,
	}
	if r.Sizes == nil {
		r.Sizes = []sizeResult{}
	}
	if r.Services == 0 {
		r.Services = workload.DefaultServices
	}
	for _, b := range bins {
		r.Binaries = append(r.Binaries, b.name)
		var wall, cpu, rss []float64
		for _, run := range runs {
			if run.Binary == b.name {
				wall, cpu, rss = append(wall, run.WallS), append(cpu, run.CPUS), append(rss, run.RSSMiB)
			}
		}
		if len(wall) == 0 {
			continue
		}
		s := summary{WallS: median(wall), CPUS: median(cpu), RSSMiB: median(rss), WorstRSSMiB: slices.Max(rss)}
		s.MsgsPerS = float64(st.Lines) / s.WallS
		s.CPUMicrosPerM = s.CPUS / float64(st.Lines) * 1e6
		r.Median[b.name] = s
	}
	r.addRatio("meshobs", "echo")
	r.addRatio("meshobs", "floor")
	for _, b := range bins {
		if b.name != "echo" && b.name != "floor" && b.name != "meshobs" {
			r.addRatio(b.name, "echo")
			r.addRatio("meshobs", b.name)
		}
	}

	r.Check.Failures = []string{}
	fail := func(format string, args ...any) {
		r.Check.Failures = append(r.Check.Failures, fmt.Sprintf(format, args...))
	}
	if e, ok := r.ratio("meshobs/echo"); ok && e.CPU > maxEchoCPURatio {
		fail("meshobs CPU %.2fx echo, target <= %.1fx", e.CPU, maxEchoCPURatio)
	}
	if f, ok := r.ratio("meshobs/floor"); ok && f.Wall > maxFloorWallRatio {
		fail("meshobs wall %.2fx floor, target <= %.1fx", f.Wall, maxFloorWallRatio)
	}
	if m, ok := r.Median["meshobs"]; ok && m.WorstRSSMiB >= maxRSSMiB {
		fail("meshobs peak RSS %.1f MiB, target < %.0f", m.WorstRSSMiB, maxRSSMiB)
	}
	if len(sizes) > 0 {
		lo, hi := sizes[0].RSSMiB, sizes[0].RSSMiB
		for _, s := range sizes {
			if s.RSSMiB >= maxRSSMiB {
				fail("meshobs peak RSS %.1f MiB at %d messages, target < %.0f", s.RSSMiB, s.Messages, maxRSSMiB)
			}
			lo, hi = min(lo, s.RSSMiB), max(hi, s.RSSMiB)
		}
		if hi > lo*maxRSSGrowth {
			fail("meshobs peak RSS not flat over -rss-sizes: %.1f to %.1f MiB, target within %.0f%%", lo, hi, (maxRSSGrowth-1)*100)
		}
	}
	r.Check.Pass = len(r.Check.Failures) == 0
	return r
}

// addRatio adds a/b when both ran.
func (r *report) addRatio(a, b string) {
	ma, okA := r.Median[a]
	mb, okB := r.Median[b]
	if !okA || !okB {
		return
	}
	x := ratio{Name: a + "/" + b, Wall: ma.WallS / mb.WallS, CPU: ma.CPUS / mb.CPUS, RSS: ma.RSSMiB / mb.RSSMiB, RoundCPU: []float64{}}
	for round := 1; round <= r.Rounds; round++ {
		var ca, cb float64
		for _, run := range r.Runs {
			if run.Round == round && run.Binary == a {
				ca = run.CPUS
			}
			if run.Round == round && run.Binary == b {
				cb = run.CPUS
			}
		}
		if ca > 0 && cb > 0 {
			x.RoundCPU = append(x.RoundCPU, ca/cb)
		}
	}
	r.Ratios = append(r.Ratios, x)
}

func (r *report) ratio(name string) (ratio, bool) {
	i := slices.IndexFunc(r.Ratios, func(x ratio) bool { return x.Name == name })
	if i < 0 {
		return ratio{}, false
	}
	return r.Ratios[i], true
}

// median of a non-empty slice; the mean of the middle two for even lengths.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "stdio benchmark: %d messages (%.1f MB), %d services, seed %d, %d rounds, %d CPUs; medians\n\n",
		r.Messages, float64(r.InputBytes)/1e6, r.Services, r.Seed, r.Rounds, r.NumCPU)
	const row = "%-16s %10s %8s %8s %11s %13s  %s\n"
	fmt.Fprintf(w, row, "binary", "msgs/s", "wall s", "CPU s", "CPU µs/msg", "peak RSS MiB", "")
	for _, name := range r.Binaries {
		s := r.Median[name]
		fmt.Fprintf(w, row, name, fmt.Sprintf("%.0f", s.MsgsPerS), fmt.Sprintf("%.3f", s.WallS),
			fmt.Sprintf("%.3f", s.CPUS), fmt.Sprintf("%.3f", s.CPUMicrosPerM), fmt.Sprintf("%.1f", s.RSSMiB), "")
	}
	for _, x := range r.Ratios {
		rounds := ""
		for i, c := range x.RoundCPU {
			if i == 0 {
				rounds = "CPU per round:"
			}
			rounds += fmt.Sprintf(" %.2f", c)
		}
		fmt.Fprintf(w, row, x.Name, "", fmt.Sprintf("%.2fx", x.Wall),
			fmt.Sprintf("%.2fx", x.CPU), "", fmt.Sprintf("%.2fx", x.RSS), rounds)
	}
	if len(r.Sizes) > 0 {
		fmt.Fprintf(w, "\nmeshobs peak RSS by workload size (one run each):\n")
		for _, s := range r.Sizes {
			fmt.Fprintf(w, "  %10d messages  %6.1f MiB  (wall %.1f s, CPU %.1f s)\n", s.Messages, s.RSSMiB, s.WallS, s.CPUS)
		}
	}
	status := "PASS"
	if !r.Check.Pass {
		status = "FAIL"
	}
	fmt.Fprintf(w, "\ntargets (meshobs CPU <= %.1fx echo, wall <= %.1fx floor, peak RSS < %.0f MiB, flat within %.0f%% over -rss-sizes): %s\n",
		maxEchoCPURatio, maxFloorWallRatio, maxRSSMiB, (maxRSSGrowth-1)*100, status)
	for _, f := range r.Check.Failures {
		fmt.Fprintln(w, "  -", f)
	}
}
