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
	maxWallRatio     = 1.0
	maxCPUMicrosPerM = 2.0
	maxRSSMiB        = 150.0
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

type ratios struct {
	Wall float64 `json:"wall"`
	CPU  float64 `json:"cpu"`
	RSS  float64 `json:"rss"`
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
	Runs       []runResult        `json:"runs"`
	Median     map[string]summary `json:"median"`
	Ratio      ratios             `json:"ratio_meshobs_over_floor"`
	Check      checkResult        `json:"check"`
}

func newReport(o options, st workload.Stats, runs []runResult) report {
	r := report{
		Messages: st.Lines, InputBytes: st.Bytes, Services: o.workload().Services,
		Seed: o.seed, Rounds: o.rounds, NumCPU: runtime.NumCPU(), Runs: runs,
		Median: map[string]summary{},
	}
	if r.Services == 0 {
		r.Services = workload.DefaultServices
	}
	for _, name := range []string{"floor", "meshobs"} {
		var wall, cpu, rss []float64
		for _, run := range runs {
			if run.Binary == name {
				wall, cpu, rss = append(wall, run.WallS), append(cpu, run.CPUS), append(rss, run.RSSMiB)
			}
		}
		s := summary{WallS: median(wall), CPUS: median(cpu), RSSMiB: median(rss), WorstRSSMiB: slices.Max(rss)}
		s.MsgsPerS = float64(st.Lines) / s.WallS
		s.CPUMicrosPerM = s.CPUS / float64(st.Lines) * 1e6
		r.Median[name] = s
	}
	f, m := r.Median["floor"], r.Median["meshobs"]
	r.Ratio = ratios{Wall: m.WallS / f.WallS, CPU: m.CPUS / f.CPUS, RSS: m.RSSMiB / f.RSSMiB}

	r.Check.Failures = []string{}
	if r.Ratio.Wall > maxWallRatio {
		r.Check.Failures = append(r.Check.Failures,
			fmt.Sprintf("meshobs wall %.2fx floor, target <= %.1fx", r.Ratio.Wall, maxWallRatio))
	}
	if m.CPUMicrosPerM > maxCPUMicrosPerM {
		r.Check.Failures = append(r.Check.Failures,
			fmt.Sprintf("meshobs CPU %.2f µs/msg, target <= %.1f", m.CPUMicrosPerM, maxCPUMicrosPerM))
	}
	if m.WorstRSSMiB >= maxRSSMiB {
		r.Check.Failures = append(r.Check.Failures,
			fmt.Sprintf("meshobs peak RSS %.1f MiB, target < %.0f", m.WorstRSSMiB, maxRSSMiB))
	}
	r.Check.Pass = len(r.Check.Failures) == 0
	return r
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
	const row = "%-14s %10s %8s %8s %11s %13s\n"
	fmt.Fprintf(w, row, "binary", "msgs/s", "wall s", "CPU s", "CPU µs/msg", "peak RSS MiB")
	for _, name := range []string{"floor", "meshobs"} {
		s := r.Median[name]
		fmt.Fprintf(w, row, name, fmt.Sprintf("%.0f", s.MsgsPerS), fmt.Sprintf("%.3f", s.WallS),
			fmt.Sprintf("%.3f", s.CPUS), fmt.Sprintf("%.3f", s.CPUMicrosPerM), fmt.Sprintf("%.1f", s.RSSMiB))
	}
	fmt.Fprintf(w, row, "meshobs/floor", "", fmt.Sprintf("%.2fx", r.Ratio.Wall),
		fmt.Sprintf("%.2fx", r.Ratio.CPU), "", fmt.Sprintf("%.2fx", r.Ratio.RSS))
	status := "PASS"
	if !r.Check.Pass {
		status = "FAIL"
	}
	fmt.Fprintf(w, "\ntargets (meshobs wall <= %.1fx floor, CPU <= %.0f µs/msg, peak RSS < %.0f MiB): %s\n",
		maxWallRatio, maxCPUMicrosPerM, maxRSSMiB, status)
	for _, f := range r.Check.Failures {
		fmt.Fprintln(w, "  -", f)
	}
}
