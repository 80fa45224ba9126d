// Command otlp is the meshobs OTLP ingest benchmark. It sends the same
// pre-encoded OTLP trace export requests (a mesh of seven services: HTTP
// client/server pairs and database calls, batches of 512 spans) over gRPC
// and HTTP, from several concurrent streams, to meshobs, to Jaeger v1.75.0
// with its memory storage, and to an OTel Collector running the otlp
// receiver, the spanmetrics connector and the nop exporter, alternating the
// servers round by round, then does the same with telemetrygen as the load.
// It reports per server the medians of the CPU seconds per million spans,
// spans per second at saturation, peak RSS (at a tenth, half and all of the
// spans) and spans lost, with the meshobs/Jaeger and meshobs/Collector
// ratios, and checks that meshobs refuses only retryably when overloaded.
//
//	go run ./bench/otlp -n 1000000 -rounds 3
//	go run ./bench/otlp -n 10000000 -rounds 3 -check
//
// See bench/otlp/README.md and docs/performance.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/meshobs/meshobs/bench/internal/gobuild"
)

type options struct {
	spans       int
	batch       int
	templates   int
	seed        uint64
	rounds      int
	servers     []string
	transports  []string
	streams     int
	tgSpans     int
	tgWorkers   int
	tgChildren  []int
	tgQueue     int
	overSpans   int
	overLimit   int
	overStreams int
	meshobs     string
	meshobsArgs string
	variants    map[string]string // other meshobs binaries, by name ("meshobs:NAME" servers)
	jaeger      string
	jaegerMax   int
	otelcol     string
	tg          string
	profileDir  string
	jsonOut     bool
	jsonFile    string
	check       bool
	timeout     time.Duration
	keep        bool
}

func defaultOptions() options {
	return options{
		spans: 1_000_000, batch: 512, templates: 8, seed: 1, rounds: 3,
		servers:    []string{meshobsServer, jaegerServer, otelcolServer},
		transports: []string{"grpc", "http"}, streams: 4,
		tgSpans: 200_000, tgWorkers: 2, tgChildren: []int{1, 7},
		overSpans: 200_000, overLimit: 4, overStreams: 16,
		timeout: 10 * time.Minute,
	}
}

func main() {
	o := defaultOptions()
	var servers, transports, variants string
	flag.IntVar(&o.spans, "n", o.spans, "spans per run (rounded up to whole batches); RSS is read at n/10, n/2 and n")
	flag.IntVar(&o.batch, "batch", o.batch, "spans per export request")
	flag.IntVar(&o.templates, "templates", o.templates, "distinct pre-encoded requests, sent in turn with fresh ids")
	flag.Uint64Var(&o.seed, "seed", o.seed, "workload seed")
	flag.IntVar(&o.rounds, "rounds", o.rounds, "rounds; each runs every server once per load, in turn")
	flag.StringVar(&servers, "servers", strings.Join(o.servers, ","), "servers to measure, in round order")
	flag.StringVar(&transports, "transports", strings.Join(o.transports, ","), "transports the generator sends on, concurrently")
	flag.IntVar(&o.streams, "streams", o.streams, "concurrent streams (goroutines, one connection each) per transport")
	flag.IntVar(&o.tgSpans, "telemetrygen-n", o.tgSpans, "spans telemetrygen generates per run (OTLP/gRPC, unthrottled, batches of -batch); 0: no telemetrygen runs")
	flag.IntVar(&o.tgWorkers, "telemetrygen-workers", o.tgWorkers, "telemetrygen workers")
	children := intList(o.tgChildren)
	flag.Var(&children, "telemetrygen-children", "telemetrygen runs, one per value: the child spans of its traces (--child-spans; telemetrygen's own default is 1), load telemetrygen/N")
	flag.IntVar(&o.tgQueue, "telemetrygen-queue", o.tgQueue, "telemetrygen's span queue (OTEL_BSP_MAX_QUEUE_SIZE; spans generated while it is full are dropped by telemetrygen); 0: -telemetrygen-n, nothing dropped")
	flag.IntVar(&o.overSpans, "overload-n", o.overSpans, "spans of the overload run against meshobs; 0: none")
	flag.IntVar(&o.overLimit, "overload-limit", o.overLimit, "meshobs's max_concurrent_requests per transport in the overload run")
	flag.IntVar(&o.overStreams, "overload-streams", o.overStreams, "streams per transport in the overload run (more than -overload-limit)")
	flag.StringVar(&o.meshobs, "meshobs", "", "meshobs binary (default: go build ./cmd/meshobs)")
	flag.StringVar(&o.meshobsArgs, "meshobs-args", "", "extra meshobs arguments, split on spaces")
	flag.StringVar(&variants, "variants", "", "other meshobs binaries measured beside it, in the same rounds: NAME=PATH,... (servers meshobs:NAME, right after meshobs)")
	flag.StringVar(&o.jaeger, "jaeger", "", "Jaeger "+jaegerVersion+" binary (default: $MESHOBS_JAEGER_BIN, else tools/build.sh's)")
	flag.IntVar(&o.jaegerMax, "jaeger-max-traces", 0, "Jaeger's memory storage max_traces; 0: the traces of meshobs's retained spans (retention.spans, 100,000) on this workload")
	flag.StringVar(&o.otelcol, "otelcol", "", "tools/otelcol binary (default: $MESHOBS_OTELCOL_BIN, else tools/build.sh's)")
	flag.StringVar(&o.tg, "telemetrygen", "", "telemetrygen "+telemetrygenVersion+" binary (default: $MESHOBS_TELEMETRYGEN_BIN, else tools/build.sh's)")
	flag.StringVar(&o.profileDir, "profile", "", "write meshobs CPU and heap profiles of every run into this directory")
	flag.BoolVar(&o.jsonOut, "json", false, "print the results as JSON instead of a table")
	flag.StringVar(&o.jsonFile, "json-file", "", "also write the results as JSON to this file")
	flag.BoolVar(&o.check, "check", false, "exit 1 unless meshobs meets the targets (docs/performance.md)")
	flag.DurationVar(&o.timeout, "timeout", o.timeout, "limit per run")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch directory (configs and server logs)")
	flag.Parse()
	o.tgChildren = children
	o.servers = splitList(servers)
	o.transports = splitList(transports)
	var err error
	if o.variants, o.servers, err = parseVariants(variants, o.servers); err != nil {
		fmt.Fprintln(os.Stderr, "otlp: -variants:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlp:", err)
		os.Exit(1)
	}
	if o.jsonFile != "" {
		if err := writeJSON(o.jsonFile, rep); err != nil {
			fmt.Fprintln(os.Stderr, "otlp:", err)
			os.Exit(1)
		}
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "otlp:", err)
			os.Exit(1)
		}
	} else {
		rep.writeTable(os.Stdout)
	}
	if o.check && !rep.Check.Pass {
		fmt.Fprintln(os.Stderr, "otlp: check failed: "+strings.Join(rep.Check.Failures, "; "))
		os.Exit(1)
	}
}

// parseVariants reads NAME=PATH,... and puts the servers meshobs:NAME
// right after meshobs in servers.
func parseVariants(s string, servers []string) (map[string]string, []string, error) {
	vs := map[string]string{}
	var names []string
	for _, f := range splitList(s) {
		name, path, ok := strings.Cut(f, "=")
		if !ok || name == "" || path == "" {
			return nil, nil, fmt.Errorf("%q is not NAME=PATH", f)
		}
		if _, dup := vs[name]; dup {
			return nil, nil, fmt.Errorf("%q twice", name)
		}
		vs[name] = path
		names = append(names, meshobsServer+":"+name)
	}
	if len(names) == 0 {
		return vs, servers, nil
	}
	i := slices.Index(servers, meshobsServer)
	if i < 0 {
		i = len(servers) - 1
	}
	return vs, slices.Insert(slices.Clone(servers), i+1, names...), nil
}

// isMeshobs reports whether a server is meshobs or one of its variants.
func isMeshobs(server string) bool {
	return server == meshobsServer || strings.HasPrefix(server, meshobsServer+":")
}

func writeJSON(path string, rep report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// loads are the loads of a round: the generator, then telemetrygen once
// for each -telemetrygen-children value.
func (o options) loads() []string {
	loads := []string{loadGenerator}
	if o.tgSpans > 0 {
		for _, c := range o.tgChildren {
			loads = append(loads, fmt.Sprintf("%s/%d", loadTelemetrygen, c))
		}
	}
	return loads
}

// telemetrygenChildren is N of the load telemetrygen/N.
func telemetrygenChildren(load string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(load, loadTelemetrygen+"/"))
	return n
}

// intList is a flag of comma-separated integers.
type intList []int

func (l *intList) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(s string) error {
	*l = nil
	for _, f := range splitList(s) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("%q is not an integer", f)
		}
		*l = append(*l, v)
	}
	return nil
}

func (o options) validate() error {
	var errs []error
	positive := func(name string, v int) {
		if v < 1 {
			errs = append(errs, fmt.Errorf("-%s must be >= 1, got %d", name, v))
		}
	}
	positive("n", o.spans)
	positive("batch", o.batch)
	positive("templates", o.templates)
	positive("rounds", o.rounds)
	positive("streams", o.streams)
	positive("telemetrygen-workers", o.tgWorkers)
	if len(o.tgChildren) == 0 {
		errs = append(errs, errors.New("-telemetrygen-children: no value"))
	}
	for _, c := range o.tgChildren {
		positive("telemetrygen-children", c)
	}
	positive("overload-limit", o.overLimit)
	if o.tgSpans < 0 || o.tgQueue < 0 || o.overSpans < 0 || o.jaegerMax < 0 {
		errs = append(errs, errors.New("-telemetrygen-n, -telemetrygen-queue, -overload-n and -jaeger-max-traces must be >= 0"))
	}
	if o.overSpans > 0 && o.overStreams <= o.overLimit {
		errs = append(errs, fmt.Errorf("-overload-streams (%d) must exceed -overload-limit (%d) to overload meshobs", o.overStreams, o.overLimit))
	}
	if o.timeout <= 0 {
		errs = append(errs, fmt.Errorf("-timeout must be > 0, got %v", o.timeout))
	}
	if len(o.servers) == 0 {
		errs = append(errs, errors.New("-servers is empty"))
	}
	for _, s := range o.servers {
		if name, ok := strings.CutPrefix(s, meshobsServer+":"); ok {
			if o.variants[name] == "" {
				errs = append(errs, fmt.Errorf("-servers: %s has no binary in -variants", s))
			}
			continue
		}
		if !slices.Contains([]string{meshobsServer, jaegerServer, otelcolServer}, s) {
			errs = append(errs, fmt.Errorf("-servers: unknown server %q (meshobs, jaeger, otelcol)", s))
		}
	}
	if len(o.transports) == 0 {
		errs = append(errs, errors.New("-transports is empty"))
	}
	for _, t := range o.transports {
		if t != "grpc" && t != "http" {
			errs = append(errs, fmt.Errorf("-transports: unknown transport %q (grpc, http)", t))
		}
	}
	return errors.Join(errs...)
}

// requests is the number of export requests of spans spans, rounded up.
func (o options) requests(spans int) int { return (spans + o.batch - 1) / o.batch }

// The loads.
const (
	loadGenerator    = "generator"
	loadTelemetrygen = "telemetrygen" // telemetrygen/N: traces of a root and N children
	loadOverload     = "overload"
)

// runResult is what one run of one server under one load measured.
type runResult struct {
	Server string `json:"server"`
	Load   string `json:"load"`
	Round  int    `json:"round"`
	// Spans is what the load sent once (telemetrygen: generated).
	Spans int64 `json:"spans"`
	// Client is what the client saw (the generator's loads only).
	Client *transportStats `json:"client,omitempty"`
	// Transports is the client's view per transport.
	Transports []transportStats `json:"transports,omitempty"`
	// ServerCounts is what the server said it received.
	ServerCounts serverCounts `json:"server_counts"`
	// Lost is the spans acknowledged to the client (telemetrygen: generated)
	// that the server did not store.
	Lost    int64   `json:"lost"`
	WallS   float64 `json:"wall_s"`
	CPUS    float64 `json:"cpu_s"`
	SpansPS float64 `json:"spans_per_s"`
	// CPUSPerM is CPU seconds per million stored spans.
	CPUSPerM float64 `json:"cpu_s_per_1m_spans"`
	// RSS is the peak RSS when the stored spans first reached each
	// checkpoint; the last is the peak of the whole run.
	RSS []rssPoint `json:"peak_rss"`
}

type rssPoint struct {
	Spans int64   `json:"spans"`
	MiB   float64 `json:"mib"`
}

func (r runResult) peakRSS() float64 {
	if len(r.RSS) == 0 {
		return 0
	}
	return r.RSS[len(r.RSS)-1].MiB
}

// checkpoints are the accepted-span counts at which peak RSS is read.
func checkpoints(total int64) []int64 {
	var out []int64
	for _, c := range []int64{total / 10, total / 2, total} {
		if c > 0 && (len(out) == 0 || c > out[len(out)-1]) {
			out = append(out, c)
		}
	}
	return out
}

// bench holds what every run shares.
type bench struct {
	o     options
	tmpls []*template
	srv   serverOptions
	tg    string
}

func run(ctx context.Context, o options) (report, error) {
	if err := o.validate(); err != nil {
		return report{}, err
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return report{}, errors.New("needs Linux's /proc for CPU time and peak RSS")
	}
	root, err := gobuild.ModuleRoot(ctx)
	if err != nil {
		return report{}, err
	}
	tmp, err := os.MkdirTemp("", "meshobs-otlp-bench-")
	if err != nil {
		return report{}, err
	}
	if o.keep {
		progress("scratch directory (kept): %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	b := &bench{o: o, srv: serverOptions{dir: tmp, startTimeout: 90 * time.Second,
		meshobsArgs: strings.Fields(o.meshobsArgs)}}
	for _, s := range o.servers {
		switch s {
		case meshobsServer:
			if b.srv.meshobs = o.meshobs; b.srv.meshobs == "" {
				if b.srv.meshobs, err = build(ctx, root, tmp, "meshobs", "./cmd/meshobs"); err != nil {
					return report{}, err
				}
			}
		case jaegerServer:
			if b.srv.jaeger, err = findTool(ctx, root, "jaeger", jaegerVersion, o.jaeger); err != nil {
				return report{}, err
			}
		case otelcolServer:
			if b.srv.otelcol, err = findTool(ctx, root, "otelcol", otelcolVersion, o.otelcol); err != nil {
				return report{}, err
			}
		}
	}
	if o.tgSpans > 0 {
		if b.tg, err = findTool(ctx, root, "telemetrygen", telemetrygenVersion, o.tg); err != nil {
			return report{}, err
		}
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return report{}, err
		}
	}

	t0 := time.Now()
	if b.tmpls, err = newTemplates(o.templates, o.batch, o.seed); err != nil {
		return report{}, err
	}
	progress("%d templates of %d spans (%d bytes each on average, %.1f spans a trace) generated and encoded in %v",
		len(b.tmpls), o.batch, avgSize(b.tmpls), spansPerTrace(b.tmpls), time.Since(t0).Round(time.Millisecond))
	if b.srv.jaegerMaxTraces = o.jaegerMax; b.srv.jaegerMaxTraces == 0 {
		b.srv.jaegerMaxTraces = int(meshobsRetainedSpans / spansPerTrace(b.tmpls))
	}
	o.jaegerMax = b.srv.jaegerMaxTraces // for the report
	if slices.Contains(o.servers, jaegerServer) {
		progress("jaeger: memory storage max_traces %d", b.srv.jaegerMaxTraces)
	}

	var runs []runResult
	for round := 1; round <= o.rounds; round++ {
		for _, load := range o.loads() {
			for _, s := range o.servers {
				r, err := b.measure(ctx, s, load, round)
				if err != nil {
					return report{}, fmt.Errorf("round %d, %s, %s: %w", round, load, s, err)
				}
				progress("round %d %-14s %-14s %8.0f spans/s  cpu %7.3fs = %6.3f s/1M spans  rss %s  lost %d",
					round, load, s, r.SpansPS, r.CPUS, r.CPUSPerM, rssString(r.RSS), r.Lost)
				runs = append(runs, r)
			}
		}
		if o.overSpans > 0 && slices.Contains(o.servers, meshobsServer) {
			r, err := b.overload(ctx, round)
			if err != nil {
				return report{}, fmt.Errorf("round %d, overload: %w", round, err)
			}
			c := r.Client
			progress("round %d %-14s %-8s sent %d = accepted %d + refused %d (%v) + failed %d; server accepted %d",
				round, loadOverload, meshobsServer, c.SentSpans, c.AcceptedSpans, c.RefusedSpans, c.Refusals, c.FailedSpans, r.ServerCounts.Accepted)
			runs = append(runs, r)
		}
	}
	return newReport(o, b.tmpls, runs), nil
}

// meshobsRetainedSpans is meshobs's retention.spans default: the spans it
// keeps for get_trace.
const meshobsRetainedSpans = 100_000

// spansPerTrace is the templates' average trace size (a trace cut at the
// end of a batch counts as one).
func spansPerTrace(ts []*template) float64 {
	spans, traces := 0, 0
	for _, t := range ts {
		spans += t.n
		traces += t.nTraces
	}
	return float64(spans) / float64(max(traces, 1))
}

func avgSize(ts []*template) int {
	n := 0
	for _, t := range ts {
		n += len(t.raw)
	}
	return n / len(ts)
}

func rssString(ps []rssPoint) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%.0f@%s", p.MiB, count(p.Spans)))
	}
	return strings.Join(parts, " ") + " MiB"
}

// count formats a span count to three digits: 100k, 1M, 2.05k.
func count(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.3gM", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%.3gk", float64(n)/1e3)
	}
	return strconv.FormatInt(n, 10)
}

// measure starts one server, loads it, and reads what it cost.
func (b *bench) measure(ctx context.Context, name, load string, round int) (runResult, error) {
	ctx, cancel := context.WithTimeout(ctx, b.o.timeout)
	defer cancel()
	so := b.srv
	so.logName = fileName(name, load, round)
	if isMeshobs(name) && b.o.profileDir != "" {
		base := filepath.Join(b.o.profileDir, fileName(name, load, round))
		so.meshobsArgs = append(slices.Clone(so.meshobsArgs), "--cpuprofile", base+".cpu.pprof", "--memprofile", base+".heap.pprof")
	}
	if v, ok := strings.CutPrefix(name, meshobsServer+":"); ok {
		so.meshobs = b.o.variants[v]
	}
	srv, err := startServer(ctx, name, so)
	if err != nil {
		return runResult{}, err
	}
	defer srv.Stop()
	pid := srv.PID()
	grpcAddr, httpAddr := srv.Addrs()
	r := runResult{Server: name, Load: load, Round: round}

	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return r, err
	}
	start := time.Now()
	var acked int64 // what the server acknowledged, the figure loss is counted against
	var marks *rssMarks
	switch load {
	case loadGenerator:
		requests := b.o.requests(b.o.spans)
		r.Spans = int64(requests * b.o.batch)
		marks = newRSSMarks(pid, checkpoints(r.Spans))
		res, err := runLoad(ctx, loadSpec{requests: requests, transports: b.o.transports, streams: b.o.streams,
			backoff: 5 * time.Millisecond}, b.tmpls, grpcAddr, httpAddr, marks.observe)
		if err != nil {
			return r, err
		}
		t := res.total()
		r.Client, r.Transports = &t, res.Transports
		if t.FailedSpans > 0 {
			return r, fmt.Errorf("%d spans failed: %s", t.FailedSpans, t.FirstFailure)
		}
		acked = t.AcceptedSpans
	default: // telemetrygen/N
		children := telemetrygenChildren(load)
		perTrace := children + 1 // a root and its children
		traces := max(b.o.tgSpans/(perTrace*b.o.tgWorkers), 1)
		r.Spans = int64(traces * perTrace * b.o.tgWorkers)
		if err := b.telemetrygen(ctx, grpcAddr, traces, children, so.logName); err != nil {
			return r, err
		}
		acked = r.Spans
	}
	cs, err := srv.Counts(ctx)
	if err != nil {
		return r, err
	}
	if err := srv.Drain(ctx, cs.Accepted); err != nil {
		return r, err
	}
	wall := time.Since(start)
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return r, err
	}
	peak, err := peakRSSMiB(pid)
	if err != nil {
		return r, err
	}
	if r.ServerCounts, err = srv.Counts(ctx); err != nil {
		return r, err
	}
	r.Lost = acked - r.ServerCounts.Stored
	r.WallS = wall.Seconds()
	r.CPUS = cpu1 - cpu0
	if st := r.ServerCounts.Stored; st > 0 {
		r.SpansPS = float64(st) / r.WallS
		r.CPUSPerM = r.CPUS / float64(st) * 1e6
	}
	r.RSS = []rssPoint{{Spans: r.ServerCounts.Stored, MiB: peak}}
	if marks != nil {
		r.RSS = marks.points(r.RSS)
	}
	if err := srv.Stop(); err != nil {
		progress("%s: %v", name, err)
	}
	return r, nil
}

// fileName names the files of one run (config, log, profiles): server and
// load with their ':' and '/' made '-'.
func fileName(server, load string, round int) string {
	safe := strings.NewReplacer(":", "-", "/", "-")
	return fmt.Sprintf("%s-%s-r%d", safe.Replace(server), safe.Replace(load), round)
}

// rssMarks reads peak RSS as the accepted spans pass each checkpoint but
// the last (which is the run's end, read after the server has drained).
type rssMarks struct {
	pid   int
	mu    sync.Mutex
	marks []int64
	got   []rssPoint
}

func newRSSMarks(pid int, marks []int64) *rssMarks {
	return &rssMarks{pid: pid, marks: marks[:max(len(marks)-1, 0)]}
}

func (m *rssMarks) observe(total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.got) < len(m.marks) && total >= m.marks[len(m.got)] {
		mib, err := peakRSSMiB(m.pid)
		if err != nil {
			mib = 0
		}
		m.got = append(m.got, rssPoint{Spans: m.marks[len(m.got)], MiB: mib})
	}
}

// points puts the checkpoints before the run's final figure.
func (m *rssMarks) points(final []rssPoint) []rssPoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append(slices.Clone(m.got), final...)
}

// telemetrygen runs telemetrygen against a server's OTLP/gRPC endpoint:
// unthrottled, batches of -batch, traces of a root span and children
// children.
func (b *bench) telemetrygen(ctx context.Context, grpcAddr string, traces, children int, logName string) error {
	args := []string{"traces", "--otlp-endpoint=" + grpcAddr, "--otlp-insecure",
		"--traces=" + strconv.Itoa(traces), "--child-spans=" + strconv.Itoa(children), "--workers=" + strconv.Itoa(b.o.tgWorkers),
		"--rate=0", "--batch-size=" + strconv.Itoa(b.o.batch), "--service=shop", "--timeout=60s"}
	cmd := exec.CommandContext(ctx, b.tg, args...)
	cmd.Dir = b.srv.dir
	queue := b.o.tgQueue
	if queue == 0 {
		queue = traces * (children + 1) * b.o.tgWorkers
	}
	// Unthrottled, telemetrygen generates faster than any server takes spans;
	// its SDK batch processor drops what does not fit its queue.
	cmd.Env = append(os.Environ(), "OTEL_BSP_MAX_QUEUE_SIZE="+strconv.Itoa(queue))
	logPath := filepath.Join(b.srv.dir, "telemetrygen-to-"+logName+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		tail, _ := os.ReadFile(logPath)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("telemetrygen %s: %w\n%s", strings.Join(args, " "), err, tail)
	}
	return nil
}

// overload sends to a meshobs whose receivers take -overload-limit requests
// at once from -overload-streams streams per transport: refusals are
// expected, and every one must be retryable and counted.
func (b *bench) overload(ctx context.Context, round int) (runResult, error) {
	ctx, cancel := context.WithTimeout(ctx, b.o.timeout)
	defer cancel()
	so := b.srv
	so.logName = fmt.Sprintf("%s-%s-r%d", meshobsServer, loadOverload, round)
	so.maxConcurrent = b.o.overLimit
	srv, err := startServer(ctx, meshobsServer, so)
	if err != nil {
		return runResult{}, err
	}
	defer srv.Stop()
	grpcAddr, httpAddr := srv.Addrs()
	requests := b.o.requests(b.o.overSpans)
	r := runResult{Server: meshobsServer, Load: loadOverload, Round: round, Spans: int64(requests * b.o.batch), RSS: []rssPoint{}}
	res, err := runLoad(ctx, loadSpec{requests: requests, transports: b.o.transports, streams: b.o.overStreams,
		backoff: time.Millisecond}, b.tmpls, grpcAddr, httpAddr, nil)
	if err != nil {
		return r, err
	}
	t := res.total()
	r.Client, r.Transports = &t, res.Transports
	r.WallS = res.Wall.Seconds()
	if r.ServerCounts, err = srv.Counts(ctx); err != nil {
		return r, err
	}
	r.Lost = t.AcceptedSpans - r.ServerCounts.Stored
	return r, srv.Stop()
}

func progress(format string, args ...any) {
	fmt.Fprintf(progressOut, "# "+format+"\n", args...)
}

// progressOut is where progress lines go; tests silence it.
var progressOut io.Writer = os.Stderr
