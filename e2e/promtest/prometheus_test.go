package promtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A minimal Prometheus starter, until e2e/tooltest's lands on main.

// promServer is a running Prometheus on a free loopback port.
type promServer struct {
	url    string
	cmd    *exec.Cmd
	done   chan struct{}
	log    string
	client *http.Client
}

// prometheusBinary finds Prometheus: MESHOBS_PROMETHEUS_BIN, else PATH. A
// missing one fails the test under CI and skips it elsewhere.
func prometheusBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MESHOBS_PROMETHEUS_BIN"); p != "" {
		return p
	}
	p, err := exec.LookPath("prometheus")
	if err == nil {
		return p
	}
	msg := "prometheus is not installed: apt-get install prometheus (or set MESHOBS_PROMETHEUS_BIN)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startPrometheus starts Prometheus scraping targets every 500 ms with
// config (a prometheus.yml; empty: one job "meshobs" over targets), waits
// until it is ready, and stops it by pid at cleanup.
func startPrometheus(t testing.TB, config string, targets ...string) *promServer {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	if config == "" {
		quoted := make([]string, len(targets))
		for i, tg := range targets {
			quoted[i] = strconv.Quote(tg)
		}
		config = fmt.Sprintf("global:\n  scrape_interval: 500ms\n  scrape_timeout: 500ms\nscrape_configs:\n"+
			"  - job_name: meshobs\n    static_configs:\n      - targets: [%s]\n", strings.Join(quoted, ", "))
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &promServer{url: "http://" + addr, cmd: cmd, done: make(chan struct{}), log: logPath,
		client: &http.Client{Timeout: 5 * time.Second}}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("--- prometheus log ---\n%s", tail(out, 8000))
		}
	})
	eventually(t, 60*time.Second, func(ctx context.Context) error {
		select {
		case <-s.done:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("prometheus exited:\n%s", tail(out, 4000))
		default:
		}
		_, err := s.get(ctx, "/-/ready")
		return err
	})
	return s
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (s *promServer) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("GET %s: %s: %s", path, resp.Status, tail(b, 500))
	}
	return b, nil
}

// sample is one element of an instant vector.
type sample struct {
	labels map[string]string
	value  float64
}

// errBadQuery marks a query Prometheus refused (it does not parse): polling
// again cannot help.
var errBadQuery = errors.New("bad query")

// query evaluates an instant PromQL query through /api/v1/query.
func (s *promServer) query(ctx context.Context, q string) ([]sample, error) {
	body, err := s.get(ctx, "/api/v1/query?"+url.Values{"query": {q}}.Encode())
	var reply struct {
		Status, ErrorType, Error string
		Data                     struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if body != nil && json.Unmarshal(body, &reply) == nil && reply.ErrorType == "bad_data" {
		return nil, fmt.Errorf("%w: %q: %s", errBadQuery, q, reply.Error)
	}
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	if reply.Status != "success" || reply.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: status %q, result type %q: %s", q, reply.Status, reply.Data.ResultType, reply.Error)
	}
	out := make([]sample, len(reply.Data.Result))
	for i, r := range reply.Data.Result {
		str, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", q, r.Value, err)
		}
		out[i] = sample{r.Metric, v}
	}
	return out, nil
}

// waitForQuery polls q until check accepts its result (nil: any non-empty
// vector), failing the test after timeout or at once on a query that does
// not parse.
func (s *promServer) waitForQuery(t testing.TB, timeout time.Duration, q string, check func([]sample) error) []sample {
	t.Helper()
	if check == nil {
		check = func(v []sample) error {
			if len(v) == 0 {
				return errors.New("empty result")
			}
			return nil
		}
	}
	var got []sample
	eventually(t, timeout, func(ctx context.Context) error {
		v, err := s.query(ctx, q)
		if errors.Is(err, errBadQuery) {
			t.Fatal(err)
		}
		if err != nil {
			return err
		}
		got = v
		return check(v)
	})
	return got
}

// eventually polls cond until it returns nil, backing off from 20 ms to
// 500 ms, and fails the test with cond's last error after timeout.
func eventually(t testing.TB, timeout time.Duration, cond func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	delay := 20 * time.Millisecond
	for {
		err := cond(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not within %s: %v", timeout, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}
