package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The servers under test. Each is started fresh for every run, on free
// 127.0.0.1 ports, and stopped after it.
const (
	meshobsServer = "meshobs"
	jaegerServer  = "jaeger"
	otelcolServer = "otelcol"
)

// serverCounts is what a server reports of the spans it received.
type serverCounts struct {
	// Accepted is the spans its receivers accepted.
	Accepted int64 `json:"accepted"`
	// Refused is the spans its receivers decoded and refused (meshobs:
	// refused; collectors: otelcol_receiver_refused_spans). Requests refused
	// before they were decoded are counted by the client only.
	Refused int64 `json:"refused"`
	// Stored is the spans that reached the end of its pipeline: meshobs's
	// stores (synchronous: the accepted ones), Jaeger's storage exporter, the
	// collector's spanmetrics connector (synchronous: the accepted ones).
	Stored int64 `json:"stored"`
}

// server is one running server under test.
type server interface {
	// Addrs are its OTLP/gRPC and OTLP/HTTP host:port.
	Addrs() (grpc, http string)
	// PID is its process id, for /proc.
	PID() int
	// Counts asks the server what it received.
	Counts(ctx context.Context) (serverCounts, error)
	// Drain waits until the server has stored the accepted spans (Jaeger's
	// batch processor hands them on asynchronously).
	Drain(ctx context.Context, accepted int64) error
	// Stop ends the process and waits for it.
	Stop() error
}

// serverOptions configure how servers are started.
type serverOptions struct {
	dir         string // scratch directory for configs and logs
	meshobs     string // binary
	meshobsArgs []string
	meshobsEnv  []string
	jaeger      string
	otelcol     string
	// jaegerMaxTraces is the memory storage's max_traces.
	jaegerMaxTraces int
	startTimeout    time.Duration
	// maxConcurrent is meshobs's receivers' max_concurrent_requests; 0 keeps the default.
	maxConcurrent int
	// logName names the run's config and log files: server, load and round.
	logName string
}

func startServer(ctx context.Context, name string, o serverOptions) (server, error) {
	if isMeshobs(name) {
		return startMeshobs(ctx, o)
	}
	switch name {
	case jaegerServer:
		return startCollector(ctx, name, o.jaeger, func(g, h, m int) (string, string) {
			return jaegerConfig(g, h, m, o.jaegerMaxTraces)
		}, o)
	case otelcolServer:
		return startCollector(ctx, name, o.otelcol, otelcolConfig, o)
	}
	return nil, fmt.Errorf("unknown server %q", name)
}

// process is a started child whose output goes to a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // of Wait, once done is closed
}

func startProcess(name string, cmd *exec.Cmd, logPath string, stderr io.Writer) (*process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(f, stderr)
	} else {
		cmd.Stderr = f
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) PID() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after grace, and waits. A process that
// exits on SIGTERM with a non-zero code is not an error: collectors do.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM; killed", p.name, grace)
	}
}

// tail is the end of the process's log, for error messages.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// waitReady polls ready every 50 ms until it returns nil, the process
// exits, or timeout passes.
func (p *process) waitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if p.exited() {
			return fmt.Errorf("%s exited while starting (%v); log %s:\n%s", p.name, p.err, p.log, p.tail())
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = ready(rctx)
		cancel()
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %v; log %s:\n%s", p.name, timeout, last, p.log, p.tail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// meshobs is `meshobs serve` with its OTLP receivers and its HTTP API on
// free ports; the API's /api/stats carries the receivers' counts.
type meshobs struct {
	*process
	grpc, http, api string
	client          *http.Client
}

var (
	receivingLine = regexp.MustCompile(`receiving OTLP"? grpc=(\S+) http=(\S+)`)
	apiLine       = regexp.MustCompile(`serving the HTTP API and web UI"? url=(\S+)`)
)

func startMeshobs(ctx context.Context, o serverOptions) (*meshobs, error) {
	if o.meshobs == "" {
		return nil, errors.New("meshobs: no binary")
	}
	limit := ""
	if o.maxConcurrent > 0 {
		limit = fmt.Sprintf(", max_concurrent_requests: %d", o.maxConcurrent)
	}
	cfg := filepath.Join(o.dir, o.logName+".yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:0"%s}
      http: {endpoint: "127.0.0.1:0"%s}
api: {endpoint: "127.0.0.1:0"}
`, limit, limit), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(o.meshobs, append([]string{"serve", "--config", cfg}, o.meshobsArgs...)...)
	lines := &lineWatcher{res: []*regexp.Regexp{receivingLine, apiLine}}
	p, err := startProcess(meshobsServer, cmd, filepath.Join(o.dir, o.logName+".log"), lines)
	if err != nil {
		return nil, err
	}
	m := &meshobs{process: p, client: &http.Client{Timeout: 10 * time.Second}}
	err = p.waitReady(ctx, o.startTimeout, func(context.Context) error {
		rcv, api := lines.match(0), lines.match(1)
		if rcv == nil || api == nil {
			return errors.New(`no "receiving OTLP" and "serving the HTTP API" lines on stderr yet`)
		}
		m.grpc, m.http, m.api = rcv[1], rcv[2], strings.TrimSuffix(api[1], "/")
		return nil
	})
	if err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// lineWatcher is a writer that remembers the first line matching each of res.
type lineWatcher struct {
	res []*regexp.Regexp
	mu  sync.Mutex
	buf []byte
	m   map[int][]string
}

func (w *lineWatcher) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.m) == len(w.res) {
		return len(b), nil
	}
	if w.m == nil {
		w.m = map[int][]string{}
	}
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		for j, re := range w.res {
			if m := re.FindStringSubmatch(string(w.buf[:i])); m != nil && w.m[j] == nil {
				w.m[j] = m
			}
		}
		w.buf = w.buf[i+1:]
	}
	return len(b), nil
}

// match is the first line matching res[i] and its groups, nil before one.
func (w *lineWatcher) match(i int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.m[i]
}

func (m *meshobs) Addrs() (string, string) { return m.grpc, m.http }

// Counts reads the receivers' counts from GET /api/stats.
func (m *meshobs) Counts(ctx context.Context) (serverCounts, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.api+"/api/stats", nil)
	if err != nil {
		return serverCounts{}, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return serverCounts{}, fmt.Errorf("meshobs: /api/stats: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return serverCounts{}, fmt.Errorf("meshobs: /api/stats: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return serverCounts{}, fmt.Errorf("meshobs: /api/stats: %s: %.200s", resp.Status, body)
	}
	var rep struct {
		Receivers []struct {
			Signal                      string
			Received, Accepted, Refused int64
		} `json:"receivers"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		return serverCounts{}, fmt.Errorf("meshobs: /api/stats %.200q: %w", body, err)
	}
	if rep.Receivers == nil {
		return serverCounts{}, fmt.Errorf("meshobs: /api/stats has no receivers: %.200s", body)
	}
	var c serverCounts
	for _, s := range rep.Receivers {
		if s.Signal == "traces" {
			c.Accepted += s.Accepted
			c.Refused += s.Refused
		}
	}
	c.Stored = c.Accepted
	return c, nil
}

// Drain returns at once: meshobs stores a span before it answers.
func (m *meshobs) Drain(context.Context, int64) error { return nil }

// Stop sends SIGTERM: serve stops its receivers, flushes, writes its
// profiles and exits.
func (m *meshobs) Stop() error {
	m.client.CloseIdleConnections()
	return m.stop(30 * time.Second)
}

// collector is Jaeger or the otelcol distribution: an OpenTelemetry
// Collector whose own metrics (otelcol_receiver_accepted_spans, ...) are
// served on a free port.
type collector struct {
	*process
	grpc, http, metrics string
	storeExporter       string // the exporter whose sent spans are the stored ones; "" = accepted
	client              *http.Client
}

// jaegerConfig is Jaeger v2's all-in-one configuration
// (cmd/jaeger/internal/all-in-one.yaml in v1.75.0) cut to the ingest path:
// the OTLP receiver, the batch processor and the memory storage holding
// maxTraces traces (Jaeger's default: 100,000); no query service, sampling
// or other receivers.
func jaegerConfig(grpcPort, httpPort, metricsPort, maxTraces int) (string, string) {
	return fmt.Sprintf(`service:
  extensions: [jaeger_storage]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus: {host: 127.0.0.1, port: %d, without_scope_info: true}
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: %d
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%d"}
      http: {endpoint: "127.0.0.1:%d"}
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`, metricsPort, maxTraces, grpcPort, httpPort), "jaeger_storage_exporter"
}

// otelcolConfig is the collector pipeline closest to what meshobs does:
// OTLP in, the spanmetrics connector (request counts and latency
// histograms per service and operation), metrics dropped by nop.
func otelcolConfig(grpcPort, httpPort, metricsPort int) (string, string) {
	return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%d"}
      http: {endpoint: "127.0.0.1:%d"}
connectors:
  spanmetrics:
exporters:
  nop:
service:
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus: {host: 127.0.0.1, port: %d, without_scope_info: true}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [spanmetrics]
    metrics:
      receivers: [spanmetrics]
      exporters: [nop]
`, grpcPort, httpPort, metricsPort), ""
}

func startCollector(ctx context.Context, name, bin string, config func(g, h, m int) (string, string), o serverOptions) (*collector, error) {
	if bin == "" {
		return nil, fmt.Errorf("%s: no binary", name)
	}
	var lastErr error
	for range 3 { // a port taken between the pick and the bind: pick again
		ports, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		yaml, store := config(ports[0], ports[1], ports[2])
		cfg := filepath.Join(o.dir, o.logName+".yaml")
		if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "--config", cfg)
		cmd.Dir = o.dir
		p, err := startProcess(name, cmd, filepath.Join(o.dir, o.logName+".log"), nil)
		if err != nil {
			return nil, err
		}
		c := &collector{process: p,
			grpc: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), http: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
			metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[2]), storeExporter: store,
			client: &http.Client{Timeout: 5 * time.Second}}
		lastErr = p.waitReady(ctx, o.startTimeout, func(ctx context.Context) error {
			if _, err := c.scrape(ctx); err != nil {
				return err
			}
			for _, a := range []string{c.grpc, c.http} {
				conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", a)
				if err != nil {
					return err
				}
				conn.Close()
			}
			return nil
		})
		if lastErr == nil {
			return c, nil
		}
		c.Stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, lastErr
}

func (c *collector) Addrs() (string, string) { return c.grpc, c.http }

func (c *collector) scrape(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.metrics, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", c.metrics, resp.Status)
	}
	return string(b), nil
}

// Counts reads the collector's own metrics.
func (c *collector) Counts(ctx context.Context) (serverCounts, error) {
	text, err := c.scrape(ctx)
	if err != nil {
		return serverCounts{}, fmt.Errorf("%s: metrics: %w", c.name, err)
	}
	cs := serverCounts{
		Accepted: int64(promSum(text, "otelcol_receiver_accepted_spans", "")),
		Refused:  int64(promSum(text, "otelcol_receiver_refused_spans", "")),
	}
	cs.Stored = cs.Accepted
	if c.storeExporter != "" {
		cs.Stored = int64(promSum(text, "otelcol_exporter_sent_spans", `exporter="`+c.storeExporter+`"`))
	}
	return cs, nil
}

// Drain waits until the storage exporter has sent what the receiver accepted.
func (c *collector) Drain(ctx context.Context, accepted int64) error {
	for {
		cs, err := c.Counts(ctx)
		if err != nil {
			return err
		}
		if cs.Stored >= accepted {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %d of %d accepted spans stored: %w", c.name, cs.Stored, accepted, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *collector) Stop() error {
	c.client.CloseIdleConnections()
	return c.stop(10 * time.Second)
}

// promSum adds the samples of metric name (with or without the _total
// suffix) in Prometheus text exposition whose labels contain label.
func promSum(text, name, label string) float64 {
	var sum float64
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		metric, value, ok := strings.Cut(line, " ")
		if i := strings.LastIndexByte(line, '}'); i >= 0 {
			metric, value, ok = line[:i+1], strings.TrimSpace(line[i+1:]), true
		}
		if !ok {
			continue
		}
		n, labels, _ := strings.Cut(metric, "{")
		if n != name && n != name+"_total" {
			continue
		}
		if label != "" && !strings.Contains(labels, label) {
			continue
		}
		value, _, _ = strings.Cut(value, " ") // a timestamp may follow
		v, err := strconv.ParseFloat(value, 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// freePorts returns n distinct free 127.0.0.1 ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
