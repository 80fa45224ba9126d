package main

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshobs/meshobs/bench/otlp/meshtrace"
)

// testLog sends the harness's progress lines to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestHarnessAgainstMeshobs runs a tiny benchmark end to end against
// meshobs alone (built from the repository): both transports, the overload
// run, and the accounting the report and -check rest on.
func TestHarnessAgainstMeshobs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the harness reads /proc")
	}
	old := progressOut
	progressOut = testLog{t}
	t.Cleanup(func() { progressOut = old })
	o := defaultOptions()
	o.spans, o.batch, o.templates, o.rounds = 4096, 256, 3, 1
	o.servers = []string{meshobsServer}
	o.streams = 2
	o.tgSpans = 0
	o.overSpans, o.overLimit, o.overStreams = 16384, 1, 6
	o.timeout = 2 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}

	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs, want a generator and an overload run", len(rep.Runs))
	}
	g := rep.Runs[0]
	if g.Load != loadGenerator || g.Server != meshobsServer || g.Spans != 4096 {
		t.Fatalf("first run %s/%s of %d spans", g.Load, g.Server, g.Spans)
	}
	if g.Client.AcceptedSpans != 4096 || g.ServerCounts.Accepted != 4096 || g.ServerCounts.Stored != 4096 || g.Lost != 0 {
		t.Errorf("client accepted %d, meshobs accepted %d, stored %d, lost %d; want 4096, 4096, 4096, 0",
			g.Client.AcceptedSpans, g.ServerCounts.Accepted, g.ServerCounts.Stored, g.Lost)
	}
	for _, tr := range g.Transports {
		if tr.AcceptedSpans == 0 {
			t.Errorf("nothing accepted over %s: %+v", tr.Transport, tr)
		}
	}
	if g.CPUS <= 0 || g.SpansPS <= 0 || g.CPUSPerM <= 0 {
		t.Errorf("cpu %v s, %v spans/s, %v s/1M spans: want all > 0", g.CPUS, g.SpansPS, g.CPUSPerM)
	}
	if len(g.RSS) != 3 || g.RSS[0].Spans != 409 || g.RSS[2].Spans != 4096 {
		t.Errorf("RSS checkpoints %v, want at 409, 2048 and 4096 spans", g.RSS)
	}
	for _, p := range g.RSS {
		if p.MiB < 5 || p.MiB > 1000 {
			t.Errorf("peak RSS %v MiB at %d spans: not a process's", p.MiB, p.Spans)
		}
	}

	ov := rep.Overload
	if ov == nil {
		t.Fatal("no overload summary")
	}
	if ov.FailedSpans != 0 || !ov.Exact || ov.AcceptedSpans != 16384 || ov.ServerAccepted != 16384 {
		t.Errorf("overload: %+v; want every span accepted once, none failed, the counts exact", *ov)
	}
	if ov.RefusedSpans == 0 || ov.SentSpans != ov.AcceptedSpans+ov.RefusedSpans {
		t.Errorf("overload: sent %d, accepted %d, refused %d: want refusals with 12 streams over a bound of 1",
			ov.SentSpans, ov.AcceptedSpans, ov.RefusedSpans)
	}
	for code := range ov.Refusals {
		if code != "Unavailable" && code != "503" {
			t.Errorf("overload: refused with %s", code)
		}
	}

	// Without peers the comparisons cannot be made: -check says so.
	if rep.Check.Pass || !slices.ContainsFunc(rep.Check.Failures, func(f string) bool { return strings.Contains(f, "jaeger not measured") }) {
		t.Errorf("check %+v: want a failure naming the missing Jaeger figures", rep.Check)
	}
	var b strings.Builder
	rep.writeTable(&b)
	if !strings.Contains(b.String(), "generator       meshobs") || !strings.Contains(b.String(), "exact: true") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestTemplatePatch: every send of a template has trace ids of its own and
// the same tree (parents follow their spans), and decodes to the batch.
func TestTemplatePatch(t *testing.T) {
	td := meshtrace.NewBatch(rand.New(rand.NewPCG(7, 8)), time.Unix(1_700_000_000, 0), 512)
	tm, err := newTemplate(td)
	if err != nil {
		t.Fatal(err)
	}
	if tm.n != 512 || len(tm.spans) < 512 || len(tm.traces) != 512 {
		t.Fatalf("template: %d spans, %d trace id and %d span id offsets", tm.n, len(tm.traces), len(tm.spans))
	}
	seen := map[pcommon.TraceID]uint64{}
	var buf []byte
	for seq := range uint64(50) {
		buf = tm.patch(buf, seq)
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(buf); err != nil {
			t.Fatal(err)
		}
		ids := map[pcommon.SpanID]bool{}
		var spans []ptrace.Span
		for _, rs := range req.Traces().ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					ids[s.SpanID()] = true
					spans = append(spans, s)
					if other, ok := seen[s.TraceID()]; ok && other != seq {
						t.Fatalf("trace id %v in sends %d and %d", s.TraceID(), other, seq)
					}
					seen[s.TraceID()] = seq
				}
			}
		}
		for _, s := range spans {
			if p := s.ParentSpanID(); !p.IsEmpty() && !ids[p] {
				t.Fatalf("send %d: span %q lost its parent", seq, s.Name())
			}
		}
	}
}

func TestMeshtraceBatch(t *testing.T) {
	td := meshtrace.NewBatch(rand.New(rand.NewPCG(1, 1)), time.Unix(1_700_000_000, 0), 512)
	if td.SpanCount() != 512 {
		t.Fatalf("%d spans", td.SpanCount())
	}
	services := map[string]bool{}
	kinds := map[ptrace.SpanKind]int{}
	db := 0
	for _, rs := range td.ResourceSpans().All() {
		v, _ := rs.Resource().Attributes().Get("service.name")
		services[v.Str()] = true
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				kinds[s.Kind()]++
				if _, ok := s.Attributes().Get("db.system.name"); ok {
					db++
				}
				if s.EndTimestamp() < s.StartTimestamp() {
					t.Errorf("span %q ends before it starts", s.Name())
				}
			}
		}
	}
	if len(services) < 5 || len(services) > 8 {
		t.Errorf("%d services, want 5-8", len(services))
	}
	if kinds[ptrace.SpanKindServer] < 100 || kinds[ptrace.SpanKindClient] < 100 || db < 50 {
		t.Errorf("kinds %v, %d database calls", kinds, db)
	}
}

func TestParseProc(t *testing.T) {
	stat := []byte("4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 2210 0 0 0 250 125 0 0 20 0 9 0 100 1000 100 18446744073709551615\n")
	if got, err := parseStatCPU(stat); err != nil || got != 3.75 {
		t.Errorf("parseStatCPU = %v, %v; want 3.75 s", got, err)
	}
	if _, err := parseStatCPU([]byte("4242 (x) S 1")); err == nil {
		t.Error("a short stat line parsed")
	}
	status := []byte("Name:\tmeshobs\nVmPeak:\t 2000000 kB\nVmHWM:\t  307200 kB\nVmRSS:\t  102400 kB\n")
	if got, err := parseStatusKiB(status, "VmHWM"); err != nil || got != 300 {
		t.Errorf("VmHWM = %v, %v; want 300 MiB", got, err)
	}
	if _, err := parseStatusKiB(status, "VmSwap"); err == nil {
		t.Error("a missing key parsed")
	}
}

func TestPromSum(t *testing.T) {
	text := `# HELP otelcol_receiver_accepted_spans_total Number of spans.
# TYPE otelcol_receiver_accepted_spans_total counter
otelcol_receiver_accepted_spans_total{receiver="otlp",transport="grpc"} 1024
otelcol_receiver_accepted_spans_total{receiver="otlp",transport="http"} 512 1700000000000
otelcol_receiver_refused_spans_total{receiver="otlp",transport="grpc"} 3
otelcol_exporter_sent_spans{exporter="jaeger_storage_exporter"} 1500
otelcol_exporter_sent_spans{exporter="other"} 7
`
	for _, tc := range []struct {
		name, label string
		want        float64
	}{
		{"otelcol_receiver_accepted_spans", "", 1536},
		{"otelcol_receiver_refused_spans", "", 3},
		{"otelcol_exporter_sent_spans", `exporter="jaeger_storage_exporter"`, 1500},
		{"otelcol_missing", "", 0},
	} {
		if got := promSum(text, tc.name, tc.label); got != tc.want {
			t.Errorf("promSum(%s, %s) = %v, want %v", tc.name, tc.label, got, tc.want)
		}
	}
}

func TestParseVariants(t *testing.T) {
	vs, servers, err := parseVariants("before=/tmp/a, old=/tmp/b", []string{"meshobs", "jaeger"})
	if err != nil || vs["before"] != "/tmp/a" || vs["old"] != "/tmp/b" ||
		!slices.Equal(servers, []string{"meshobs", "meshobs:before", "meshobs:old", "jaeger"}) {
		t.Errorf("got %v, %v, %v", vs, servers, err)
	}
	for _, bad := range []string{"before", "=x", "a=x,a=y"} {
		if _, _, err := parseVariants(bad, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestReportCheck: each target, met and missed.
func TestReportCheck(t *testing.T) {
	o := defaultOptions()
	o.tgSpans = 0
	gen := func(server string, cpu, rss1, rss2 float64, lost int64) runResult {
		return runResult{Server: server, Load: loadGenerator, Round: 1, CPUSPerM: cpu, Lost: lost,
			RSS: []rssPoint{{Spans: 100_000, MiB: rss1}, {Spans: 1_000_000, MiB: rss2}}}
	}
	over := func(sent, acc, ref, server int64, codes map[string]int64) runResult {
		return runResult{Server: meshobsServer, Load: loadOverload, Round: 1,
			Client:       &transportStats{SentSpans: sent, AcceptedSpans: acc, RefusedSpans: ref, Refusals: codes},
			ServerCounts: serverCounts{Accepted: server, Stored: server}}
	}
	good := []runResult{gen(meshobsServer, 3, 200, 210, 0), gen(jaegerServer, 5, 100, 120, 0), gen(otelcolServer, 4, 60, 60, 0),
		over(1000, 600, 400, 600, map[string]int64{"Unavailable": 2, "503": 2})}
	for _, tc := range []struct {
		name string
		edit func([]runResult) []runResult
		want string
	}{
		{"all met", func(r []runResult) []runResult { return r }, ""},
		{"cpu vs jaeger", func(r []runResult) []runResult { r[0].CPUSPerM = 3.9; return r }, "0.78x jaeger"},
		{"cpu vs otelcol", func(r []runResult) []runResult { r[2].CPUSPerM = 2.9; return r }, "otelcol's"},
		{"rss", func(r []runResult) []runResult { r[0].RSS[1].MiB = 300; return r }, "peak RSS 300 MiB"},
		{"not flat", func(r []runResult) []runResult { r[0].RSS[1].MiB = 260; return r }, "grew 1.30x"},
		{"lost", func(r []runResult) []runResult { r[0].Lost = 1; return r }, "lost 1 spans"},
		{"no refusal", func(r []runResult) []runResult { r[3] = over(600, 600, 0, 600, nil); return r }, "saturation not reached"},
		{"not exact", func(r []runResult) []runResult {
			r[3] = over(1000, 600, 400, 599, map[string]int64{"503": 4})
			return r
		}, "sent 1000"},
		{"wrong code", func(r []runResult) []runResult {
			r[3] = over(1000, 600, 400, 600, map[string]int64{"ResourceExhausted": 4})
			return r
		}, "ResourceExhausted"},
		{"no jaeger", func(r []runResult) []runResult { return slices.Delete(r, 1, 2) }, "jaeger not measured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := tc.edit(cloneRuns(good))
			rep := newReport(o, nil, runs)
			if tc.want == "" {
				if !rep.Check.Pass {
					t.Fatalf("failures %v", rep.Check.Failures)
				}
				return
			}
			if rep.Check.Pass || !slices.ContainsFunc(rep.Check.Failures, func(f string) bool { return strings.Contains(f, tc.want) }) {
				t.Fatalf("failures %q, want one containing %q", rep.Check.Failures, tc.want)
			}
		})
	}
}

func cloneRuns(rs []runResult) []runResult {
	out := slices.Clone(rs)
	for i := range out {
		out[i].RSS = slices.Clone(out[i].RSS)
	}
	return out
}

func TestCheckpoints(t *testing.T) {
	for _, tc := range []struct {
		total int64
		want  []int64
	}{
		{10_000_000, []int64{1_000_000, 5_000_000, 10_000_000}},
		{4096, []int64{409, 2048, 4096}},
		{5, []int64{2, 5}},
		{1, []int64{1}},
	} {
		if got := checkpoints(tc.total); !slices.Equal(got, tc.want) {
			t.Errorf("checkpoints(%d) = %v, want %v", tc.total, got, tc.want)
		}
	}
}

// TestLoads: the generator, then one telemetrygen load per trace shape.
func TestLoads(t *testing.T) {
	o := defaultOptions()
	var l intList
	if err := l.Set("1, 3"); err != nil {
		t.Fatal(err)
	}
	o.tgChildren = l
	if got, want := o.loads(), []string{"generator", "telemetrygen/1", "telemetrygen/3"}; !slices.Equal(got, want) {
		t.Fatalf("loads %v, want %v", got, want)
	}
	if n := telemetrygenChildren("telemetrygen/3"); n != 3 {
		t.Fatalf("children of telemetrygen/3: %d", n)
	}
	if err := l.Set("1,x"); err == nil {
		t.Fatal("-telemetrygen-children 1,x accepted")
	}
	o.tgSpans = 0
	if got := o.loads(); !slices.Equal(got, []string{"generator"}) {
		t.Fatalf("loads without telemetrygen: %v", got)
	}
}

// TestFileName: a run's files are named without path separators.
func TestFileName(t *testing.T) {
	if got, want := fileName("meshobs:new", "telemetrygen/7", 2), "meshobs-new-telemetrygen-7-r2"; got != want {
		t.Fatalf("fileName %q, want %q", got, want)
	}
}
