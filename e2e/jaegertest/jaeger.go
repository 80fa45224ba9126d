package jaegertest

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/meshobs/meshobs/e2e/tooltest"
)

//go:embed testdata/jaeger.yaml.tmpl
var configTemplate string

// ConfigTemplate returns the text/template source of the Jaeger config.
func ConfigTemplate() string { return configTemplate }

// Options tune Start. The zero value is fine.
type Options struct {
	// Binary is the jaeger binary; default Binary(t).
	Binary string
	// StartTimeout bounds the wait for the health check; default 60s.
	StartTimeout time.Duration
	// StopTimeout bounds the wait after SIGTERM before SIGKILL; default 10s.
	StopTimeout time.Duration
	// MaxTraces for the memory storage; default 100000.
	MaxTraces int
	// Env is added to the environment of the Jaeger process.
	Env []string
}

// ConfigParams are the values the config template is rendered with.
type ConfigParams struct {
	OTLPGRPCPort, OTLPHTTPPort   int
	QueryHTTPPort, QueryGRPCPort int
	PrometheusPort, HealthPort   int
	InternalMetricsPort          int
	MaxTraces                    int
	LogSinkURL                   string // full URL of the OTLP/HTTP logs sink, ending in /v1/logs
}

// RenderConfig renders the Jaeger config template.
func RenderConfig(p ConfigParams) (string, error) {
	tmpl, err := template.New("jaeger.yaml").Option("missingkey=error").Parse(configTemplate)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, p); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Jaeger is a running Jaeger process. All endpoints are on 127.0.0.1.
type Jaeger struct {
	// OTLPGRPCEndpoint is host:port of the OTLP/gRPC receiver (plaintext), as
	// otlptracegrpc.WithEndpoint expects.
	OTLPGRPCEndpoint string
	// OTLPHTTPEndpoint is host:port of the OTLP/HTTP receiver (plaintext), as
	// otlp*http.WithEndpoint expects; paths are /v1/traces, /v1/metrics,
	// /v1/logs.
	OTLPHTTPEndpoint string
	// QueryURL is the base URL of the Jaeger query service (UI and /api/...).
	QueryURL string
	// QueryGRPCEndpoint is host:port of the Jaeger query gRPC API.
	QueryGRPCEndpoint string
	// PrometheusURL is the scrape URL (.../metrics) of the prometheus
	// exporter that holds the OTLP metrics received.
	PrometheusURL string
	// HealthURL is the healthcheckv2 status URL; 200 when healthy.
	HealthURL string
	// InternalMetricsURL is the scrape URL of Jaeger's own telemetry
	// (otelcol_receiver_accepted_spans_total, ...).
	InternalMetricsURL string

	Dir        string // temp dir holding the config and the output
	ConfigPath string // rendered config
	LogPath    string // stdout+stderr of the process, incl. debug exporter output
	PID        int

	client  *http.Client
	sink    *logSink
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error

	stopOnce    sync.Once
	stopTimeout time.Duration
}

// Start starts Jaeger on free loopback ports, waits until it is healthy and
// registers a cleanup that stops it (SIGTERM, then SIGKILL) and, if the test
// failed, logs the tail of its output.
func Start(t testing.TB, opts Options) *Jaeger {
	t.Helper()
	if opts.Binary == "" {
		opts.Binary = Binary(t)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.MaxTraces <= 0 {
		opts.MaxTraces = 100000
	}
	sink, err := newLogSink()
	if err != nil {
		t.Fatalf("jaegertest: log sink: %v", err)
	}
	t.Cleanup(sink.close)

	dir := t.TempDir()
	// A port picked free can be taken by someone else before Jaeger binds
	// it; retry with new ports in that case.
	const attempts = 3
	for i := 1; ; i++ {
		j, err := start(t, opts, dir, i, sink)
		if err == nil {
			return j
		}
		if i < attempts && errors.Is(err, errPortTaken) {
			t.Logf("jaegertest: attempt %d: %v; retrying with new ports", i, err)
			continue
		}
		t.Fatalf("jaegertest: %v", err)
	}
}

var errPortTaken = errors.New("a port was taken")

func start(t testing.TB, opts Options, dir string, attempt int, sink *logSink) (*Jaeger, error) {
	ports := tooltest.FreePorts(t, 7)
	p := ConfigParams{
		OTLPGRPCPort: ports[0], OTLPHTTPPort: ports[1],
		QueryHTTPPort: ports[2], QueryGRPCPort: ports[3],
		PrometheusPort: ports[4], HealthPort: ports[5], InternalMetricsPort: ports[6],
		MaxTraces:  opts.MaxTraces,
		LogSinkURL: sink.url + "/v1/logs",
	}
	cfg, err := RenderConfig(p)
	if err != nil {
		return nil, err
	}
	hp := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
	j := &Jaeger{
		OTLPGRPCEndpoint:   hp(p.OTLPGRPCPort),
		OTLPHTTPEndpoint:   hp(p.OTLPHTTPPort),
		QueryURL:           "http://" + hp(p.QueryHTTPPort),
		QueryGRPCEndpoint:  hp(p.QueryGRPCPort),
		PrometheusURL:      "http://" + hp(p.PrometheusPort) + "/metrics",
		HealthURL:          "http://" + hp(p.HealthPort) + "/status",
		InternalMetricsURL: "http://" + hp(p.InternalMetricsPort) + "/metrics",
		Dir:                dir,
		ConfigPath:         filepath.Join(dir, fmt.Sprintf("jaeger-%d.yaml", attempt)),
		LogPath:            filepath.Join(dir, fmt.Sprintf("jaeger-%d.log", attempt)),
		client:             &http.Client{Timeout: 10 * time.Second},
		sink:               sink,
		done:               make(chan struct{}),
		stopTimeout:        opts.StopTimeout,
	}
	if err := os.WriteFile(j.ConfigPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(j.LogPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opts.Binary, "--config", j.ConfigPath)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.SysProcAttr = sysProcAttr()
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", opts.Binary, err)
	}
	logf.Close() // the child has its own copy
	j.cmd = cmd
	j.PID = cmd.Process.Pid
	go func() {
		j.waitErr = cmd.Wait()
		close(j.done)
	}()

	if err := j.waitHealthy(opts.StartTimeout); err != nil {
		j.Stop()
		out := j.Output()
		if strings.Contains(out, "address already in use") {
			return nil, fmt.Errorf("%w: %v\n%s", errPortTaken, err, tail(out, 4000))
		}
		return nil, fmt.Errorf("%v\n--- jaeger output (%s) ---\n%s", err, j.LogPath, tail(out, 16000))
	}
	t.Logf("jaegertest: jaeger pid %d healthy in %s; query %s, OTLP grpc %s http %s, dir %s",
		j.PID, time.Since(begin).Round(time.Millisecond), j.QueryURL, j.OTLPGRPCEndpoint, j.OTLPHTTPEndpoint, dir)
	t.Cleanup(func() {
		if err := j.Stop(); err != nil {
			t.Errorf("jaegertest: stop: %v", err)
		}
		if t.Failed() {
			t.Logf("--- jaeger output (%s) ---\n%s", j.LogPath, tail(j.Output(), 16000))
		}
	})
	return j, nil
}

// waitHealthy polls the health check (and the query API) until both answer
// 200, the process exits, or the timeout passes.
func (j *Jaeger) waitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		select {
		case <-j.done:
			return fmt.Errorf("jaeger exited before becoming healthy: %v", j.waitErr)
		default:
		}
		last = j.ready()
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jaeger not healthy after %s: %v", timeout, last)
		}
		select {
		case <-j.done:
		case <-time.After(delay):
		}
	}
}

func (j *Jaeger) ready() error {
	for _, u := range []string{j.HealthURL, j.QueryURL + "/api/services"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := j.get(ctx, u)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// Stop stops the process: SIGTERM, then SIGKILL if it has not exited within
// Options.StopTimeout. It waits for the exit and is safe to call more than
// once; Start registers it as a cleanup.
func (j *Jaeger) Stop() error {
	var err error
	j.stopOnce.Do(func() {
		select {
		case <-j.done:
			return // already exited
		default:
		}
		_ = j.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-j.done:
			return
		case <-time.After(j.stopTimeout):
		}
		_ = j.cmd.Process.Kill()
		select {
		case <-j.done:
			err = fmt.Errorf("jaeger pid %d ignored SIGTERM for %s; killed", j.PID, j.stopTimeout)
		case <-time.After(10 * time.Second):
			err = fmt.Errorf("jaeger pid %d did not exit after SIGKILL", j.PID)
		}
	})
	return err
}

// Exited reports whether the process has exited.
func (j *Jaeger) Exited() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// Output returns the process's stdout and stderr so far. It includes Jaeger's
// own log and the debug exporter's detailed dump of every log record.
func (j *Jaeger) Output() string {
	b, err := os.ReadFile(j.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", j.LogPath, err)
	}
	return string(b)
}

// OTLPHTTPURL is the OTLP/HTTP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT expects.
func (j *Jaeger) OTLPHTTPURL() string { return "http://" + j.OTLPHTTPEndpoint }

func (j *Jaeger) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, &HTTPError{URL: url, StatusCode: resp.StatusCode, Body: string(tailBytes(body, 2000))}
	}
	return body, nil
}

// HTTPError is returned for a non-200 answer.
type HTTPError struct {
	URL        string
	StatusCode int
	Body       string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("GET %s: status %d: %s", e.URL, e.StatusCode, strings.TrimSpace(e.Body))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

func tailBytes(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return b[len(b)-n:]
}
