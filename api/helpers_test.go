package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshobs/meshobs/api"
	"github.com/meshobs/meshobs/node"
	"github.com/meshobs/meshobs/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// demoTrace is the trace id of examples/demo.jsonl's spans.
const demoTrace = "4bf92f3577b34da6a3ce929d0e0e4736"

// fixedNow is the clock of every test pipeline, so rates are reproducible.
var fixedNow = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

// newPipeline returns a pipeline fed with examples/demo.jsonl and then
// extra (request lines), through the stdio node; its clock stands still.
func newPipeline(t testing.TB, extra ...string) *telemetry.Pipeline {
	t.Helper()
	return newPipelineAt(t, func() time.Time { return fixedNow }, extra...)
}

// tickingClock returns a clock that starts at fixedNow and moves on by
// step at each reading: reproducible, and yet not every entry at one instant.
func tickingClock(step time.Duration) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return fixedNow.Add(time.Duration(n.Add(1)) * step) }
}

// newPipelineAt is newPipeline with the clock now.
func newPipelineAt(t testing.TB, now func() time.Time, extra ...string) *telemetry.Pipeline {
	t.Helper()
	p, err := telemetry.New(telemetry.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	demo, err := os.ReadFile(filepath.Join("..", "examples", "demo.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	in := io.MultiReader(bytes.NewReader(demo), strings.NewReader(strings.Join(extra, "\n")+"\n"))
	if err := node.New(p).Run(context.Background(), in, io.Discard); err != nil {
		t.Fatal(err)
	}
	return p
}

// stdio answers request lines with a fresh stdio node on p, one reply per line.
func stdio(t testing.TB, p *telemetry.Pipeline, lines ...string) []string {
	t.Helper()
	var out bytes.Buffer
	if err := node.New(p).Run(context.Background(), strings.NewReader(strings.Join(lines, "\n")+"\n"), &out); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// startServer starts a server for cfg (endpoint 127.0.0.1:0 when empty) on
// q and stops it at the end of the test.
func startServer(t testing.TB, cfg api.Config, q *telemetry.Query, opts ...api.Option) *api.Server {
	t.Helper()
	if cfg.Endpoint == "" {
		cfg.Endpoint = "127.0.0.1:0"
	}
	s, err := api.New(cfg, q, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

// client keeps no idle connection, so none outlives a test.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}

// response is one answer, read whole.
type response struct {
	status int
	header http.Header
	body   string
}

// get sends one request (GET unless target is "METHOD /path") and fails
// the test when it cannot; only from the test's goroutine.
func get(t testing.TB, s *api.Server, target string, header ...string) response {
	t.Helper()
	r, err := fetch(s.Addr(), target, header...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fetch sends one request to addr, from any goroutine.
func fetch(addr, target string, header ...string) (response, error) {
	method := http.MethodGet
	if m, p, ok := strings.Cut(target, " "); ok {
		method, target = m, p
	}
	req, err := http.NewRequest(method, "http://"+addr+target, nil)
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}, err
}
