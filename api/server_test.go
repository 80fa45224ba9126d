package api_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/api"
	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/telemetry"
)

// TestAPIAnswersAsStdio: every /api/ answer is, byte for byte, what
// telemetry.AppendReply writes for the same query, and the bare-body reply
// of the stdio node to the same request.
func TestAPIAnswersAsStdio(t *testing.T) {
	p := newPipeline(t)
	q := p.Query()
	s := startServer(t, api.Config{}, q)
	ctx := context.Background()
	demoID, _ := trace.TraceIDFromHex(demoTrace)
	logs := func(r telemetry.LogRequest) func() (telemetry.Reply, error) {
		return func() (telemetry.Reply, error) { return q.AccessLogs(ctx, r) }
	}
	graph := func(r telemetry.GraphRequest) func() (telemetry.Reply, error) {
		return func() (telemetry.Reply, error) { return q.Graph(ctx, r) }
	}
	stats := func(service string) func() (telemetry.Reply, error) {
		return func() (telemetry.Reply, error) { return q.Stats(ctx, telemetry.StatsRequest{Service: service}) }
	}
	def := telemetry.DefaultRawLimit
	for _, c := range []struct {
		path, stdio string
		query       func() (telemetry.Reply, error)
	}{
		{"/api/graph", `{"type":"generate"}`, graph(telemetry.GraphRequest{})},
		{"/api/graph?detail=true", `{"type":"generate","detail":true}`, graph(telemetry.GraphRequest{Detail: true})},
		{"/api/graph?detail=false", `{"type":"generate","detail":false}`, graph(telemetry.GraphRequest{})},
		{"/api/graph?format=dot", `{"type":"generate","format":"dot"}`, graph(telemetry.GraphRequest{Format: "dot"})},
		{"/api/graph?detail=true&format=mermaid", `{"type":"generate","detail":true,"format":"mermaid"}`, graph(telemetry.GraphRequest{Detail: true, Format: "mermaid"})},
		{"/api/graph?detail=&format=", `{"type":"generate"}`, graph(telemetry.GraphRequest{})},
		{"/api/logs", `{"type":"query"}`, logs(telemetry.LogRequest{Limit: def})},
		{"/api/logs?source_service=frontend", `{"type":"query","filter":{"source_service":"frontend"}}`,
			logs(telemetry.LogRequest{Filter: exporters.LogFilter{Source: "frontend"}, Limit: def})},
		{"/api/logs?source_service=catalog&target_service=postgres&detail=true",
			`{"type":"query","detail":true,"filter":{"source_service":"catalog","target_service":"postgres"}}`,
			logs(telemetry.LogRequest{Filter: exporters.LogFilter{Source: "catalog", Target: "postgres"}, Detail: true, Limit: def})},
		{"/api/logs?status_class=5xx", `{"type":"query","filter":{"status_class":"5xx"}}`,
			logs(telemetry.LogRequest{Filter: exporters.LogFilter{StatusClass: 5}, Limit: def})},
		{"/api/logs?status=200&detail=true", `{"type":"query","detail":true,"filter":{"status":200}}`,
			logs(telemetry.LogRequest{Filter: exporters.LogFilter{Status: 200}, Detail: true, Limit: def})},
		{"/api/logs?source_service=&target_service=&status=&status_class=&detail=&raw=&limit=", `{"type":"query"}`,
			logs(telemetry.LogRequest{Limit: def})},
		{"/api/logs?raw=true", `{"type":"query","raw":true}`, logs(telemetry.LogRequest{Raw: true, Limit: def})},
		{"/api/logs?raw=true&limit=3", `{"type":"query","raw":true,"limit":3}`, logs(telemetry.LogRequest{Raw: true, Limit: 3})},
		{"/api/logs?raw=true&limit=0", `{"type":"query","raw":true,"limit":0}`, logs(telemetry.LogRequest{Raw: true})},
		{"/api/logs?raw=true&status_class=2xx&target_service=redis", `{"type":"query","raw":true,"filter":{"status_class":"2xx","target_service":"redis"}}`,
			logs(telemetry.LogRequest{Filter: exporters.LogFilter{Target: "redis", StatusClass: 2}, Raw: true, Limit: def})},
		{"/api/stats", `{"type":"stats"}`, stats("")},
		{"/api/stats?service=frontend", `{"type":"stats","service":"frontend"}`, stats("frontend")},
		{"/api/stats?service=nobody", `{"type":"stats","service":"nobody"}`, stats("nobody")},
		{"/api/traces/" + demoTrace, `{"type":"get_trace","trace_id":"` + demoTrace + `"}`,
			func() (telemetry.Reply, error) { return q.Trace(ctx, demoID) }},
	} {
		t.Run(c.path, func(t *testing.T) {
			r := get(t, s, c.path)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			reply, err := c.query()
			if err != nil {
				t.Fatal(err)
			}
			if want := string(telemetry.AppendReply(nil, reply)); r.body != want {
				t.Errorf("body\n %s\nAppendReply\n %s", r.body, want)
			}
			if want := stdio(t, p, c.stdio)[0]; r.body != want {
				t.Errorf("body\n %s\nstdio\n %s", r.body, want)
			}
		})
	}
}

// TestAPIListsAreNeverNull: an empty pipeline answers [] everywhere.
func TestAPIListsAreNeverNull(t *testing.T) {
	p, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	s := startServer(t, api.Config{}, p.Query())
	for path, want := range map[string]string{
		"/api/graph":          `{"type":"service_graph","nodes":[],"edges":[]}`,
		"/api/logs":           `{"type":"access_logs","logs":[]}`,
		"/api/logs?raw=true":  `{"type":"access_logs","logs":[]}`,
		"/api/stats":          `{"type":"golden_signals","services":[]}`,
		"/api/graph?detail=1": `{"type":"error","code":12,"text":"detail must be true or false, not \"1\""}`,
	} {
		if r := get(t, s, path); r.body != want {
			t.Errorf("%s: %d %s, want %s", path, r.status, r.body, want)
		}
	}
}

// TestAPIErrors: each refusal has its status and the error body naming
// what was wrong, and changes nothing.
func TestAPIErrors(t *testing.T) {
	p := newPipeline(t)
	s := startServer(t, api.Config{}, p.Query())
	before := get(t, s, "/api/graph?detail=true").body
	long := strings.Repeat("x", 257)
	for _, c := range []struct {
		target string
		status int
		code   int
		text   string
	}{
		{"/api/graph?detail=yes", 400, 12, `detail must be true or false, not "yes"`},
		{"/api/graph?format=svg", 400, 12, `format must be "dot" or "mermaid", not "svg"`},
		{"/api/graph?detail=true&detail=false", 400, 12, "detail must be given once, not 2 times"},
		{"/api/graph?colour=red", 400, 12, `unknown parameter "colour": this path takes detail, format`},
		{"/api/logs?status=600", 400, 12, `status must be an integer HTTP status from 100 to 599, not "600"`},
		{"/api/logs?status=ok", 400, 12, `status must be an integer HTTP status from 100 to 599, not "ok"`},
		{"/api/logs?status_class=6xx", 400, 12, `status_class must be one of "1xx", "2xx", "3xx", "4xx", "5xx", not "6xx"`},
		{"/api/logs?limit=-1", 400, 12, `limit must be an integer >= 0, not "-1"`},
		{"/api/logs?limit=1.5", 400, 12, `limit must be an integer >= 0, not "1.5"`},
		{"/api/logs?limit=99999999999", 400, 12, `limit must be an integer >= 0, not "99999999999"`},
		{"/api/logs?raw=1", 400, 12, `raw must be true or false, not "1"`},
		{"/api/logs?detail=TRUE", 400, 12, `detail must be true or false, not "TRUE"`},
		{"/api/logs?source_service=" + long, 400, 12, "source_service is longer than 256 bytes"},
		{"/api/logs?target_service=" + long, 400, 12, "target_service is longer than 256 bytes"},
		{"/api/logs?filter=x", 400, 12, `unknown parameter "filter": this path takes source_service, target_service, status, status_class, detail, raw, limit`},
		{"/api/logs?raw=%zz", 400, 12, "malformed query string"},
		{"/api/stats?service=" + long, 400, 12, "service is longer than 256 bytes"},
		{"/api/traces/xyz", 400, 12, "trace_id must be 32 lower-case hex digits, not all zero"},
		{"/api/traces/" + strings.ToUpper(demoTrace), 400, 12, "trace_id must be 32 lower-case hex digits"},
		{"/api/traces/00000000000000000000000000000000", 400, 12, "trace_id must be 32 lower-case hex digits"},
		{"/api/traces/", 400, 12, "trace_id must be 32 lower-case hex digits"},
		{"/api/traces/" + demoTrace + "?detail=true", 400, 12, `unknown parameter "detail": this path takes none`},
		{"/api/traces/0123456789abcdef0123456789abcdef", 404, 20, "trace 0123456789abcdef0123456789abcdef is not held by this node"},
		{"/api/traces/" + demoTrace + "/spans", 404, 10, `no such path "/api/traces/` + demoTrace + `/spans"`},
		{"/api/traces", 404, 10, `no such path "/api/traces"; there are /api/graph, /api/logs`},
		{"/api/nope", 404, 10, `no such path "/api/nope"`},
		{"/favicon.ico", 404, 10, `no such path "/favicon.ico"`},
		{"/metrics", 404, 10, "/metrics is not configured on this server"},
		{"POST /api/graph", 405, 10, "method POST is not allowed; use GET"},
		{"PUT /api/traces/" + demoTrace, 405, 10, "method PUT is not allowed"},
		{"DELETE /", 405, 10, "method DELETE is not allowed"},
		{"POST /healthz", 405, 10, "method POST is not allowed"},
	} {
		t.Run(c.target, func(t *testing.T) {
			r := get(t, s, c.target)
			if r.status != c.status {
				t.Errorf("status %d, want %d", r.status, c.status)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var e struct {
				Type string
				Code int
				Text string
			}
			if err := json.Unmarshal([]byte(r.body), &e); err != nil {
				t.Fatalf("body %q: %v", r.body, err)
			}
			if e.Type != "error" || e.Code != c.code || !strings.Contains(e.Text, c.text) {
				t.Errorf("body %s, want code %d and text with %q", r.body, c.code, c.text)
			}
			if want := string(telemetry.AppendReply(nil, &telemetry.Error{Code: e.Code, Text: e.Text})); r.body != want {
				t.Errorf("body %s, want the error body %s", r.body, want)
			}
			if c.status == 405 && r.header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", r.header.Get("Allow"))
			}
		})
	}
	if after := get(t, s, "/api/graph?detail=true").body; after != before {
		t.Errorf("refused requests changed the graph:\n%s\n%s", before, after)
	}
}

func TestHEADAnswersHeadersOnly(t *testing.T) {
	s := startServer(t, api.Config{}, newPipeline(t).Query())
	full := get(t, s, "/api/graph?detail=true")
	head := get(t, s, "HEAD /api/graph?detail=true")
	if head.status != 200 || head.body != "" || head.header.Get("Content-Type") != "application/json" ||
		head.header.Get("Content-Length") != strconv.Itoa(len(full.body)) {
		t.Errorf("HEAD: %d %q %v (GET body %d bytes)", head.status, head.body, head.header, len(full.body))
	}
}

func TestProbes(t *testing.T) {
	var ready atomic.Bool
	s := startServer(t, api.Config{}, newPipeline(t).Query(), api.WithReady(ready.Load))
	if r := get(t, s, "/healthz"); r.status != 200 || r.body != "ok\n" {
		t.Errorf("/healthz: %d %q", r.status, r.body)
	}
	if r := get(t, s, "/readyz"); r.status != 503 {
		t.Errorf("/readyz while not ready: %d %q", r.status, r.body)
	}
	ready.Store(true)
	if r := get(t, s, "/readyz"); r.status != 200 || r.body != "ok\n" {
		t.Errorf("/readyz when ready: %d %q", r.status, r.body)
	}
	if r := get(t, s, "HEAD /healthz"); r.status != 200 {
		t.Errorf("HEAD /healthz: %d", r.status)
	}
}

func TestPageIsOneDocument(t *testing.T) {
	s := startServer(t, api.Config{}, newPipeline(t).Query())
	for _, path := range []string{"/", "/index.html"} {
		r := get(t, s, path)
		if r.status != 200 || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%s: %d %v", path, r.status, r.header)
		}
		for _, want := range []string{`<svg id="graph"`, "var dagre=", "class GraphView", "const TraceView", ".graph-pane {"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
		if strings.Contains(r.body, "<script src=") || strings.Contains(r.body, `<link rel="stylesheet"`) {
			t.Errorf("%s still refers to other files", path)
		}
		csp := r.header.Get("Content-Security-Policy")
		if strings.Count(csp, "'sha256-") != 5 || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
	}
}

// writeToken writes a token file and returns its path.
func writeToken(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBearerAuth(t *testing.T) {
	cfg := api.Config{Auth: api.AuthConfig{BearerTokenFile: writeToken(t, "s3cret-token\n")}}
	reg := prometheus.NewRegistry()
	s := startServer(t, cfg, newPipeline(t).Query(), api.WithMetrics(reg))
	const good, html = "Bearer s3cret-token", "text/html,application/xhtml+xml"
	for _, c := range []struct {
		target string
		header []string
		status int
	}{
		{"/api/graph", nil, 401},
		{"/api/graph", []string{"Authorization", "Bearer wrong"}, 401},
		{"/api/graph", []string{"Authorization", "Bearer s3cret-tok"}, 401},
		{"/api/graph", []string{"Authorization", "Basic czNjcmV0LXRva2Vu"}, 401},
		{"/api/graph", []string{"Authorization", good}, 200},
		{"/api/graph", []string{"Authorization", "bearer s3cret-token"}, 200},
		{"/api/graph?token=s3cret-token", nil, 401}, // ?token= is for the page only
		{"/api/traces/" + demoTrace, []string{"Authorization", good}, 200},
		{"/api/nope", nil, 401}, // no map of the API without the token
		{"/metrics", nil, 401},
		{"/metrics", []string{"Authorization", good}, 200},
		{"/", nil, 401},
		{"/?token=wrong", nil, 401},
		{"/?token=s3cret-token", nil, 200},
		{"/?token=s3cret-token&refresh=2", nil, 200},
		{"/", []string{"Authorization", good}, 200},
		{"/healthz", nil, 200},
		{"/readyz", nil, 200},
	} {
		r := get(t, s, c.target, c.header...)
		if r.status != c.status {
			t.Errorf("%s %v: %d, want %d: %s", c.target, c.header, r.status, c.status, r.body)
		}
		if r.status == 401 {
			if r.header.Get("WWW-Authenticate") != `Bearer realm="meshobs"` {
				t.Errorf("%s: WWW-Authenticate %q", c.target, r.header.Get("WWW-Authenticate"))
			}
			want := `{"type":"error","code":12,"text":"a valid bearer token is required: Authorization: Bearer <token> (the page: /?token=<token>)"}`
			if r.body != want {
				t.Errorf("%s: 401 body %s", c.target, r.body)
			}
		}
	}
	// A browser asking for the page without the token gets a page asking for it.
	r := get(t, s, "/", "Accept", html)
	if r.status != 401 || !strings.Contains(r.body, `id="login"`) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("page without token for a browser: %d %s", r.status, r.body)
	}
	if r := get(t, s, "/?token=s3cret-token", "Accept", html); r.status != 200 || !strings.Contains(r.body, `<svg id="graph"`) {
		t.Errorf("page with ?token=: %d", r.status)
	}
}

func TestNewRefusesBadAuthAndTLSFiles(t *testing.T) {
	q := newPipeline(t).Query()
	missing := filepath.Join(t.TempDir(), "missing")
	for _, c := range []struct {
		cfg  api.Config
		want string
	}{
		{api.Config{}, "api.endpoint is empty"},
		{api.Config{Endpoint: "127.0.0.1"}, "api.endpoint: must be host:port"},
		{api.Config{Endpoint: "127.0.0.1:0", Auth: api.AuthConfig{BearerTokenFile: missing}}, "api.auth.bearer_token_file"},
		{api.Config{Endpoint: "127.0.0.1:0", Auth: api.AuthConfig{BearerTokenFile: writeToken(t, " \n")}}, "holds no token"},
		{api.Config{Endpoint: "127.0.0.1:0", TLS: api.TLSConfig{CertFile: missing, KeyFile: missing}}, "api.tls"},
		{api.Config{Endpoint: "127.0.0.1:0", TLS: api.TLSConfig{CertFile: missing}}, "api.tls: cert_file and key_file must be set together"},
	} {
		if _, err := api.New(c.cfg, q); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want %q", c.cfg, err, c.want)
		}
	}
}

// blockingGatherer holds every Gather until release is closed, and says
// when one has started.
type blockingGatherer struct {
	entered chan struct{}
	release chan struct{}
}

func (g *blockingGatherer) Gather() ([]*dto.MetricFamily, error) {
	g.entered <- struct{}{}
	<-g.release
	return nil, nil
}

func TestConcurrencyCapRefusesAtOnce(t *testing.T) {
	g := &blockingGatherer{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s := startServer(t, api.Config{MaxConcurrentRequests: 1}, newPipeline(t).Query(), api.WithMetrics(g))
	first := make(chan response, 1)
	go func() { r, _ := fetch(s.Addr(), "/metrics"); first <- r }()
	<-g.entered // the only slot is taken
	r := get(t, s, "/api/graph")
	if r.status != 503 || r.header.Get("Retry-After") != "1" ||
		r.body != `{"type":"error","code":11,"text":"too many requests in progress (api.max_concurrent_requests); retry later"}` {
		t.Errorf("beyond the cap: %d %v %s", r.status, r.header, r.body)
	}
	if r := get(t, s, "/healthz"); r.status != 200 {
		t.Errorf("/healthz beyond the cap: %d", r.status)
	}
	close(g.release)
	if r := <-first; r.status != 200 {
		t.Errorf("the request in progress: %d %s", r.status, r.body)
	}
	if r := get(t, s, "/api/graph"); r.status != 200 {
		t.Errorf("after the slot is free: %d %s", r.status, r.body)
	}
}

func TestShutdownWaitsForRequestsInProgress(t *testing.T) {
	g := &blockingGatherer{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s, err := api.New(api.Config{Endpoint: "127.0.0.1:0"}, newPipeline(t).Query(), api.WithMetrics(g))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "" {
		t.Errorf("Addr before Start: %q", s.Addr())
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown before Start: %v", err)
	}
	s, err = api.New(api.Config{Endpoint: "127.0.0.1:0"}, newPipeline(t).Query(), api.WithMetrics(g))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	first := make(chan response, 1)
	go func() { r, _ := fetch(s.Addr(), "/metrics"); first <- r }()
	<-g.entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	close(g.release)
	if r := <-first; r.status != 200 {
		t.Errorf("request in progress at Shutdown: %d %s", r.status, r.body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if err := s.Start(context.Background()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}
}

func TestShutdownBoundedByContext(t *testing.T) {
	g := &blockingGatherer{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(g.release) // lets the cut-off handler return before the leak check
	s, err := api.New(api.Config{Endpoint: "127.0.0.1:0"}, newPipeline(t).Query(), api.WithMetrics(g))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	failed := make(chan error, 1)
	go func() { _, err := fetch(s.Addr(), "/metrics"); failed <- err }()
	<-g.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); err == nil {
		t.Error("Shutdown with a request in progress and a done context returned nil")
	}
	if err := <-failed; err == nil {
		t.Error("the request in progress was not cut off")
	}
}

func TestStartOnTakenPortNamesTheKey(t *testing.T) {
	q := newPipeline(t).Query()
	a := startServer(t, api.Config{}, q)
	b, err := api.New(api.Config{Endpoint: a.Addr()}, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "api.endpoint") {
		t.Errorf("Start on a taken port: %v", err)
	}
}

// TestShutdownDoesNotWaitForSilentConnections: a connection that has sent
// nothing (a browser's spare one) does not hold Shutdown up (net/http
// alone waits 5 s for it).
func TestShutdownDoesNotWaitForSilentConnections(t *testing.T) {
	s, err := api.New(api.Config{Endpoint: "127.0.0.1:0"}, newPipeline(t).Query())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	c, err := d.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := get(t, s, "/healthz"); r.status != 200 { // the server has seen the silent one by now
		t.Fatal(r.status)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v with a silent connection open", d)
	}
}
