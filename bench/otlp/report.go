package main

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
)

// Targets meshobs must meet under -check (docs/performance.md, "OTLP ingest").
const (
	// maxCPUVsJaeger: meshobs's CPU per span at most this times Jaeger's.
	maxCPUVsJaeger = 0.75
	// maxCPUVsOtelcol: meshobs's CPU per span at most the Collector's.
	maxCPUVsOtelcol = 1.0
	// maxRSSMiB bounds meshobs's peak RSS at every checkpoint of every run.
	maxRSSMiB = 300.0
	// maxRSSGrowth is how much peak RSS may grow from the first checkpoint
	// (n/10) to the end of a run and still count as flat.
	maxRSSGrowth = 1.25
)

// summary is the medians of one server's runs under one load.
type summary struct {
	Server   string  `json:"server"`
	Load     string  `json:"load"`
	Runs     int     `json:"runs"`
	CPUSPerM float64 `json:"cpu_s_per_1m_spans"`
	SpansPS  float64 `json:"spans_per_s"`
	WallS    float64 `json:"wall_s"`
	// RSS is the median peak RSS at each checkpoint; the last is the run's peak.
	RSS []rssPoint `json:"peak_rss"`
	// WorstRSSMiB is the largest peak RSS of any run.
	WorstRSSMiB float64 `json:"worst_peak_rss_mib"`
	// Lost is the most spans any run lost.
	Lost int64 `json:"lost"`
	// Refused is the most spans the server refused in any run.
	Refused int64 `json:"refused"`
}

func (s summary) peakRSS() float64 {
	if len(s.RSS) == 0 {
		return 0
	}
	return s.RSS[len(s.RSS)-1].MiB
}

// ratio is meshobs (or a variant) over a peer under one load: below 1
// meshobs is cheaper (CPU, RSS) or slower (spans/s).
type ratio struct {
	Load    string  `json:"load"`
	Server  string  `json:"server"`
	Peer    string  `json:"peer"`
	CPU     float64 `json:"cpu_per_span"`
	SpansPS float64 `json:"spans_per_s"`
	RSS     float64 `json:"peak_rss"`
}

// overloadSummary adds up the overload runs.
type overloadSummary struct {
	Runs          int              `json:"runs"`
	Limit         int              `json:"max_concurrent_requests"`
	Streams       int              `json:"streams_per_transport"`
	SentSpans     int64            `json:"sent_spans"`
	AcceptedSpans int64            `json:"accepted_spans"`
	RefusedSpans  int64            `json:"refused_spans"`
	RejectedSpans int64            `json:"rejected_spans"`
	FailedSpans   int64            `json:"failed_spans"`
	Refusals      map[string]int64 `json:"refusals"`
	// ServerAccepted is what meshobs said it accepted.
	ServerAccepted int64 `json:"server_accepted"`
	// Exact says that in every run sent = accepted + refused, and meshobs
	// accepted exactly what the client was told it accepted.
	Exact bool `json:"exact"`
}

type checkResult struct {
	Pass     bool     `json:"pass"`
	Failures []string `json:"failures"`
}

// report is the benchmark's result, as -json prints it.
type report struct {
	Spans           int64            `json:"spans_per_run"`
	Batch           int              `json:"batch"`
	Templates       int              `json:"templates"`
	AvgRequestBytes int              `json:"avg_request_bytes"`
	SpansPerTrace   float64          `json:"spans_per_trace"`
	JaegerMaxTraces int              `json:"jaeger_max_traces,omitempty"`
	Transports      []string         `json:"transports"`
	Streams         int              `json:"streams_per_transport"`
	Rounds          int              `json:"rounds"`
	NumCPU          int              `json:"num_cpu"`
	Runs            []runResult      `json:"runs"`
	Summary         []summary        `json:"summary"`
	Ratios          []ratio          `json:"ratios"`
	Overload        *overloadSummary `json:"overload,omitempty"`
	Check           checkResult      `json:"check"`
}

func newReport(o options, tmpls []*template, runs []runResult) report {
	r := report{
		Spans: int64(o.requests(o.spans) * o.batch), Batch: o.batch, Templates: len(tmpls),
		Transports: o.transports, Streams: o.streams, Rounds: o.rounds, NumCPU: runtime.NumCPU(),
		Runs: runs, Summary: []summary{}, Ratios: []ratio{},
	}
	if len(tmpls) > 0 {
		r.AvgRequestBytes, r.SpansPerTrace = avgSize(tmpls), spansPerTrace(tmpls)
	}
	if slices.Contains(o.servers, jaegerServer) {
		r.JaegerMaxTraces = o.jaegerMax
	}
	for _, load := range o.loads() {
		for _, s := range o.servers {
			if sum, ok := summarize(runs, s, load); ok {
				r.Summary = append(r.Summary, sum)
			}
		}
		// meshobs and its variants over the peers; meshobs over its variants.
		for _, m := range o.servers {
			mesh, ok := r.find(m, load)
			if !isMeshobs(m) || !ok {
				continue
			}
			peers := []string{jaegerServer, otelcolServer}
			if m == meshobsServer {
				for _, v := range o.servers {
					if v != m && isMeshobs(v) {
						peers = append(peers, v)
					}
				}
			}
			for _, peer := range peers {
				if p, ok := r.find(peer, load); ok {
					r.Ratios = append(r.Ratios, ratio{Load: load, Server: m, Peer: peer,
						CPU: div(mesh.CPUSPerM, p.CPUSPerM), SpansPS: div(mesh.SpansPS, p.SpansPS), RSS: div(mesh.peakRSS(), p.peakRSS())})
				}
			}
		}
	}
	r.Overload = summarizeOverload(o, runs)
	r.Check = r.check(o)
	return r
}

func (r *report) find(server, load string) (summary, bool) {
	for _, s := range r.Summary {
		if s.Server == server && s.Load == load {
			return s, true
		}
	}
	return summary{}, false
}

func (r *report) ratio(load, peer string) (ratio, bool) {
	for _, x := range r.Ratios {
		if x.Load == load && x.Server == meshobsServer && x.Peer == peer {
			return x, true
		}
	}
	return ratio{}, false
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func summarize(runs []runResult, server, load string) (summary, bool) {
	var cpu, sps, wall []float64
	var rss [][]float64
	s := summary{Server: server, Load: load}
	for _, r := range runs {
		if r.Server != server || r.Load != load {
			continue
		}
		s.Runs++
		cpu, sps, wall = append(cpu, r.CPUSPerM), append(sps, r.SpansPS), append(wall, r.WallS)
		for i, p := range r.RSS {
			if i == len(rss) {
				rss = append(rss, nil)
				s.RSS = append(s.RSS, rssPoint{Spans: p.Spans})
			}
			rss[i] = append(rss[i], p.MiB)
		}
		s.WorstRSSMiB = max(s.WorstRSSMiB, r.peakRSS())
		s.Lost = max(s.Lost, r.Lost)
		s.Refused = max(s.Refused, r.ServerCounts.Refused)
	}
	if s.Runs == 0 {
		return s, false
	}
	s.CPUSPerM, s.SpansPS, s.WallS = median(cpu), median(sps), median(wall)
	for i := range s.RSS {
		s.RSS[i].MiB = median(rss[i])
	}
	return s, true
}

func summarizeOverload(o options, runs []runResult) *overloadSummary {
	var s *overloadSummary
	for _, r := range runs {
		if r.Load != loadOverload || r.Client == nil {
			continue
		}
		if s == nil {
			s = &overloadSummary{Limit: o.overLimit, Streams: o.overStreams, Refusals: map[string]int64{}, Exact: true}
		}
		c := r.Client
		s.Runs++
		s.SentSpans += c.SentSpans
		s.AcceptedSpans += c.AcceptedSpans
		s.RefusedSpans += c.RefusedSpans
		s.RejectedSpans += c.RejectedSpans
		s.FailedSpans += c.FailedSpans
		for k, v := range c.Refusals {
			s.Refusals[k] += v
		}
		s.ServerAccepted += r.ServerCounts.Accepted
		if c.SentSpans != r.ServerCounts.Accepted+c.RefusedSpans+c.RejectedSpans || c.AcceptedSpans != r.ServerCounts.Accepted {
			s.Exact = false
		}
	}
	return s
}

// median of xs (not modified); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// check applies the targets to meshobs.
func (r *report) check(o options) checkResult {
	var fails []string
	fail := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	for _, load := range o.loads() {
		if _, ok := r.find(meshobsServer, load); !ok {
			fail("%s: meshobs not measured", load)
			continue
		}
		for _, p := range []struct {
			peer  string
			limit float64
		}{{jaegerServer, maxCPUVsJaeger}, {otelcolServer, maxCPUVsOtelcol}} {
			x, ok := r.ratio(load, p.peer)
			switch {
			case !ok:
				fail("%s: %s not measured, so meshobs's CPU per span cannot be compared with it", load, p.peer)
			case x.CPU > p.limit:
				fail("%s: meshobs CPU per span is %.2fx %s's (target <= %.2fx)", load, x.CPU, p.peer, p.limit)
			}
		}
	}
	for _, run := range r.Runs {
		if run.Server != meshobsServer || run.Load == loadOverload {
			continue
		}
		for _, p := range run.RSS {
			if p.MiB >= maxRSSMiB {
				fail("%s round %d: meshobs peak RSS %.0f MiB at %s spans (target < %.0f)", run.Load, run.Round, p.MiB, count(p.Spans), maxRSSMiB)
				break
			}
		}
		if len(run.RSS) > 1 && run.RSS[0].MiB > 0 {
			first, last := run.RSS[0], run.RSS[len(run.RSS)-1]
			if g := last.MiB / first.MiB; g > maxRSSGrowth {
				fail("%s round %d: meshobs peak RSS grew %.2fx from %s to %s spans (%.0f -> %.0f MiB; flat is <= %.2fx)",
					run.Load, run.Round, g, count(first.Spans), count(last.Spans), first.MiB, last.MiB, maxRSSGrowth)
			}
		}
		if run.Load == loadGenerator && run.Lost != 0 {
			fail("%s round %d: meshobs lost %d spans it acknowledged", run.Load, run.Round, run.Lost)
		}
	}
	switch ov := r.Overload; {
	case o.overSpans == 0 || !slices.Contains(o.servers, meshobsServer):
		fail("overload: not measured (-overload-n 0 or meshobs not among -servers)")
	case ov == nil:
		fail("overload: no run")
	default:
		if ov.RefusedSpans == 0 {
			fail("overload: meshobs refused nothing with %d streams per transport over max_concurrent_requests %d: saturation not reached", ov.Streams, ov.Limit)
		}
		for code := range ov.Refusals {
			if code != "Unavailable" && code != "503" {
				fail("overload: refusals with %s (retryable means UNAVAILABLE or 503)", code)
			}
		}
		if ov.FailedSpans > 0 {
			fail("overload: %d spans failed (not a retryable refusal)", ov.FailedSpans)
		}
		if !ov.Exact {
			fail("overload: sent %d != accepted %d + refused %d, or meshobs accepted %d", ov.SentSpans, ov.AcceptedSpans, ov.RefusedSpans, ov.ServerAccepted)
		}
	}
	return checkResult{Pass: len(fails) == 0, Failures: append([]string{}, fails...)}
}

func (r *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "OTLP ingest: %s spans per run, batches of %d (%d pre-encoded requests, %d bytes and %.1f spans a trace on average),\n",
		count(r.Spans), r.Batch, r.Templates, r.AvgRequestBytes, r.SpansPerTrace)
	fmt.Fprintf(w, "%s x %d streams; %d rounds, servers alternating, medians; %d CPUs", strings.Join(r.Transports, "+"), r.Streams, r.Rounds, r.NumCPU)
	if r.JaegerMaxTraces > 0 {
		fmt.Fprintf(w, "; Jaeger keeps %d traces", r.JaegerMaxTraces)
	}
	fmt.Fprint(w, "\n\n")
	fmt.Fprintf(w, "%-14s  %-14s  %14s  %10s  %-28s  %8s  %8s\n", "load", "server", "CPU s/1M spans", "spans/s", "peak RSS MiB (at spans)", "lost", "refused")
	for _, s := range r.Summary {
		fmt.Fprintf(w, "%-14s  %-14s  %14.3f  %10.0f  %-28s  %8d  %8d\n", s.Load, s.Server, s.CPUSPerM, s.SpansPS, rssString(s.RSS), s.Lost, s.Refused)
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%-14s  %-30s  %9s  %9s  %9s\n", "load", "ratio", "CPU/span", "spans/s", "peak RSS")
		for _, x := range r.Ratios {
			fmt.Fprintf(w, "%-14s  %-30s  %8.2fx  %8.2fx  %8.2fx\n", x.Load, x.Server+"/"+x.Peer, x.CPU, x.SpansPS, x.RSS)
		}
	}
	if ov := r.Overload; ov != nil {
		fmt.Fprintln(w)
		var codes []string
		for _, k := range slices.Sorted(maps.Keys(ov.Refusals)) {
			codes = append(codes, fmt.Sprintf("%s x%d", k, ov.Refusals[k]))
		}
		fmt.Fprintf(w, "overload (meshobs, max_concurrent_requests %d, %d streams per transport, %d runs): sent %d = accepted %d + refused %d + rejected %d (refusals: %s), failed %d; meshobs accepted %d; exact: %v\n",
			ov.Limit, ov.Streams, ov.Runs, ov.SentSpans, ov.AcceptedSpans, ov.RefusedSpans, ov.RejectedSpans,
			strings.Join(codes, ", "), ov.FailedSpans, ov.ServerAccepted, ov.Exact)
	}
	fmt.Fprintln(w)
	if r.Check.Pass {
		fmt.Fprintln(w, "targets: all met")
		return
	}
	fmt.Fprintln(w, "targets missed:")
	for _, f := range r.Check.Failures {
		fmt.Fprintln(w, "  - "+f)
	}
}
