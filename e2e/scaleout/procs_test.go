package scaleout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/meshobs/meshobs/e2e/tooltest"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// meshobsBinary builds cmd/meshobs once per test process.
func meshobsBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "meshobs-scaleout"); buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(buildDir, "meshobs"), "github.com/meshobs/meshobs/cmd/meshobs").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "meshobs")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// deployDir holds the checked-in configurations the test runs.
var deployDir = filepath.Join("..", "..", "deploy", "scale-out")

func readDeploy(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var loopbackAddr = regexp.MustCompile(`127\.0\.0\.1:(\d+)`)

// ports moves the fixed loopback ports of checked-in configurations to
// free ones, the same port of every file to the same free port.
type ports struct {
	t     *testing.T
	moved map[string]string
}

func newPorts(t *testing.T) *ports { return &ports{t: t, moved: map[string]string{}} }

// rewrite returns text with every 127.0.0.1:PORT moved.
func (p *ports) rewrite(text string) string {
	return loopbackAddr.ReplaceAllStringFunc(text, func(addr string) string {
		if m, ok := p.moved[addr]; ok {
			return m
		}
		m := tooltest.Loopback(tooltest.FreePorts(p.t, 1)[0])
		p.moved[addr] = m
		return m
	})
}

// of returns where a checked-in address was moved.
func (p *ports) of(addr string) string {
	m, ok := p.moved[addr]
	if !ok {
		p.t.Fatalf("address %s is in no rewritten configuration", addr)
	}
	return m
}

// meshobsNode is one running `meshobs serve`.
type meshobsNode struct {
	*tooltest.Process
	grpc    string // OTLP/gRPC endpoint
	metrics string // the Prometheus exporter's /metrics URL
	api     string // the HTTP API's base URL
}

// startMeshobs runs `meshobs serve` on config (already rewritten), whose
// receiver, API and Prometheus addresses are grpc, api and prom, and waits
// until the API says it is ready and the other two answer.
func startMeshobs(t *testing.T, name, config, grpc, api, prom string) *meshobsNode {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p := tooltest.Start(t, tooltest.Command{Name: name, Path: meshobsBinary(t), Args: []string{"serve", "--config", path}, Dir: dir})
	n := &meshobsNode{Process: p, grpc: grpc, metrics: "http://" + prom + "/metrics", api: "http://" + api}
	if err := p.WaitReady(60*time.Second, func() error {
		if _, err := get(context.Background(), n.api+"/readyz"); err != nil {
			return err
		}
		c, err := net.DialTimeout("tcp", grpc, time.Second)
		if err != nil {
			return err
		}
		c.Close()
		_, err = get(context.Background(), n.metrics)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// graphEdge is an edge of a generate reply.
type graphEdge struct {
	Source       string `json:"source"`
	Target       string `json:"target"`
	RequestCount int64  `json:"request_count"`
	ErrorCount   int64  `json:"error_count"`
}

// graph asks the node's API for its service graph (generate, with detail).
func (n *meshobsNode) graph(ctx context.Context) ([]graphEdge, error) {
	b, err := get(ctx, n.api+"/api/graph?detail=true")
	if err != nil {
		return nil, err
	}
	var g struct {
		Edges []graphEdge `json:"edges"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("/api/graph: %w: %.300s", err, b)
	}
	return g.Edges, nil
}

// scrape returns the node's /metrics samples named name.
func (n *meshobsNode) scrape(ctx context.Context, name string) ([]tooltest.Sample, error) {
	b, err := get(ctx, n.metrics)
	if err != nil {
		return nil, err
	}
	return tooltest.Samples(string(b), name), nil
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("GET %s: %s: %.300s", u, resp.Status, b)
	}
	return b, nil
}

// prometheus is a Prometheus started on a given prometheus.yml.
type prometheus struct {
	*tooltest.Process
	url string
}

// startPrometheus runs Prometheus on config with its API on a free port.
// (tooltest.StartPrometheus generates its own scrape config; this test
// runs the checked-in one.)
func startPrometheus(t *testing.T, config string) *prometheus {
	t.Helper()
	bin := tooltest.Binary(t, tooltest.Prometheus)
	dir := t.TempDir()
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := tooltest.Loopback(tooltest.FreePorts(t, 1)[0])
	p := tooltest.Start(t, tooltest.Command{Name: "prometheus", Path: bin, Dir: dir, Args: []string{
		"--config.file=" + path, "--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + addr}})
	s := &prometheus{Process: p, url: "http://" + addr}
	if err := p.WaitReady(60*time.Second, func() error {
		_, err := get(context.Background(), s.url+"/-/ready")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// query evaluates an instant query and returns its vector.
func (s *prometheus) query(ctx context.Context, q string) ([]tooltest.Sample, error) {
	b, err := get(ctx, s.url+"/api/v1/query?"+url.Values{"query": {q}}.Encode())
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	var reply struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &reply); err != nil || reply.Status != "success" {
		return nil, fmt.Errorf("query %q: %v: %.300s", q, err, b)
	}
	out := make([]tooltest.Sample, len(reply.Data.Result))
	for i, r := range reply.Data.Result {
		str, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v", q, r.Value)
		}
		out[i] = tooltest.Sample{Labels: r.Metric, Value: v}
	}
	return out, nil
}
