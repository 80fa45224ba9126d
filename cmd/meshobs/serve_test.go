package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var (
	receivingLine = regexp.MustCompile(`receiving OTLP"? grpc=(\S+) http=(\S+)`)
	apiLine       = regexp.MustCompile(`web UI"? url=(\S+)`)
)

// receiverNode starts meshobs with args and OTLP receivers on free ports; it
// returns the process, its stdin and stdout, and the receivers' addresses,
// read from the node's start-up line on stderr.
func receiverNode(t *testing.T, args ...string) (cmd *exec.Cmd, stdin io.WriteCloser, stdout *bufio.Reader, grpcAddr, httpAddr, apiURL string) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "receivers.yaml")
	os.WriteFile(cfg, []byte("receivers:\n  otlp:\n    protocols:\n      grpc: {endpoint: 127.0.0.1:0}\n      http: {endpoint: 127.0.0.1:0}\n"+
		"api: {endpoint: 127.0.0.1:0}\n"), 0o600)
	cmd = exec.Command(binary, append(args, "--config", cfg)...)
	var err error
	if stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addrs := make(chan []string, 1)
	go func() {
		var a []string
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			if m := receivingLine.FindStringSubmatch(sc.Text()); m != nil {
				a = m[1:]
			}
			if m := apiLine.FindStringSubmatch(sc.Text()); m != nil && a != nil {
				addrs <- append(a, m[1])
			}
			fmt.Fprintln(os.Stderr, "node:", sc.Text())
		}
	}()
	select {
	case a := <-addrs:
		return cmd, stdin, bufio.NewReader(out), a[0], a[1], a[2]
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not report its receivers and API within 30 s")
	}
	return
}

// TestServeReceivesFromAnOTelApp: `meshobs serve` takes spans from the OTel
// Go SDK's own OTLP/gRPC exporter, then stops on SIGTERM within bounds.
func TestServeReceivesFromAnOTelApp(t *testing.T) {
	cmd, _, _, grpcAddr, _, apiURL := receiverNode(t, "serve")
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(otelsemconv.ServiceNameKey.String("shop"))))
	_, span := tp.Tracer("app").Start(ctx, "GET /", trace.WithSpanKind(trace.SpanKindServer))
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export to meshobs serve: %v", err)
	}
	// What arrived is on the API, and meshobs's own counters on /metrics.
	for path, want := range map[string]string{
		"api/graph":              `{"type":"service_graph","nodes":["shop"],"edges":[]}`,
		"api/stats?service=shop": `{"service":"shop","request_count":1,"error_count":0`,
		"metrics":                `meshobs_receiver_items_total{outcome="accepted",receiver="otlp",signal="traces",transport="grpc"} 1`,
		"healthz":                "ok",
		"readyz":                 "ok",
		"":                       "<title>meshobs",
	} {
		resp, err := http.Get(apiURL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("GET /%s: %d %s; want it to contain %s", path, resp.StatusCode, body, want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10 s of SIGTERM")
	}
}

// TestRoundTrip: meshobs A (stdio, exporting every signal over OTLP) ->
// meshobs B (receiving beside its own stdio node): B answers query and
// generate as A does, nothing counted twice.
func TestRoundTrip(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			_, bIn, bOut, grpcAddr, httpAddr, _ := receiverNode(t)
			endpoint := "http://" + grpcAddr
			if protocol != "grpc" {
				endpoint = "http://" + httpAddr
			}
			cfgA := filepath.Join(t.TempDir(), "a.yaml")
			os.WriteFile(cfgA, []byte(fmt.Sprintf("exporters:\n  metric_interval: 100ms\n  otlp:\n    enabled: true\n    endpoint: %s\n    protocol: %s\n", endpoint, protocol)), 0o600)

			demo, err := os.ReadFile(demo)
			if err != nil {
				t.Fatal(err)
			}
			queries := []string{
				`{"type":"query","msg_id":901}`,
				`{"type":"query","msg_id":902,"detail":true}`,
				`{"type":"generate","msg_id":903}`,
				`{"type":"generate","msg_id":904,"detail":true}`,
				`{"type":"get_trace","msg_id":905,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`,
			}
			a := exec.Command(binary, "--config", cfgA)
			a.Stdin = strings.NewReader(string(demo) + strings.Join(queries, "\n") + "\n")
			a.Stderr = os.Stderr
			outA, err := a.Output() // A flushes its exporters before it exits
			if err != nil {
				t.Fatalf("node A: %v", err)
			}
			linesA := strings.Split(strings.TrimSpace(string(outA)), "\n")
			fromA := linesA[len(linesA)-len(queries):]

			for i, q := range queries {
				io.WriteString(bIn, q+"\n")
				gotB := readLine(t, bOut)
				bodyA := replyBody(t, fromA[i])
				if strings.Contains(q, "generate") {
					// Spans and logs travel in separate OTLP requests, so B
					// sees the calls of the two in another order than A:
					// the same nodes and edges, first seen in another order.
					gotB, bodyA = sortedGraph(t, gotB), sortedGraph(t, bodyA)
				}
				if gotB != bodyA {
					t.Errorf("%s\nA: %s\nB: %s", q, bodyA, gotB)
				}
			}
		})
	}
}

// replyBody returns the body of an enveloped or bare reply line, re-encoded
// bare as the node writes it.
func replyBody(t *testing.T, line string) string {
	t.Helper()
	var env struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal([]byte(line), &env); err == nil && env.Body != nil {
		return string(env.Body)
	}
	return line
}

// sortedGraph re-encodes a service_graph reply with its nodes and edges sorted.
func sortedGraph(t *testing.T, reply string) string {
	t.Helper()
	var g map[string]any
	if err := json.Unmarshal([]byte(reply), &g); err != nil {
		t.Fatal(err)
	}
	nodes, _ := g["nodes"].([]any)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].(string) < nodes[j].(string) })
	edges, _ := g["edges"].([]any)
	key := func(e any) string {
		m := e.(map[string]any)
		return m["source"].(string) + "\x00" + m["target"].(string)
	}
	sort.Slice(edges, func(i, j int) bool { return key(edges[i]) < key(edges[j]) })
	b, _ := json.Marshal(g)
	return string(b)
}
