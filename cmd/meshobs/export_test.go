package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// exportFaultRun is what one run of the binary against a faulty endpoint took.
type exportFaultRun struct {
	replies  time.Duration // from start until the last reply was read
	shutdown time.Duration // from the last reply until the process exited
	stderr   string
}

// faultInput is n records (every tenth with a trace id) and n/10 spans.
func faultInput(n int) []byte {
	var b bytes.Buffer
	services := []string{"frontend", "catalog", "cart", "postgres", "redis"}
	for i := range n {
		src, dst := services[i%3], services[3+i%2]
		fmt.Fprintf(&b, `{"type":"record","msg_id":%d,"service":%q,"target_service":%q,"duration_ms":%d,"status":%d,"method":"GET","path":"/items"`,
			i+1, src, dst, i%50, []int{200, 200, 200, 404, 503}[i%5])
		if i%10 == 0 {
			fmt.Fprintf(&b, `,"trace_id":"%032x","span_id":"%016x"`, i+1, i+1)
		}
		b.WriteString("}\n")
		if i%10 == 0 {
			fmt.Fprintf(&b, `{"type":"trace","msg_id":%d,"service":%q,"operation":"GET /items","duration_ms":3,"status":200}`+"\n", n+i+1, src)
		}
	}
	return b.Bytes()
}

// runFault feeds input to the binary with config, counts the replies and
// times them and the shutdown after EOF.
func runFault(t *testing.T, config string, input []byte) exportFaultRun {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meshobs.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "--config", path)
	// A race-enabled binary sleeps 1s at exit by default; that is not ours.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The deadline is a failure bound, not synchronisation: a stuck node is killed.
	killer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer killer.Stop()
	want := bytes.Count(input, []byte("\n"))
	r := bufio.NewReaderSize(stdout, 1<<16)
	got := 0
	for {
		line, err := r.ReadSlice('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading replies: %v", err)
		}
		if bytes.Contains(line, []byte(`"type":"error"`)) {
			t.Fatalf("error reply: %s", line)
		}
		got++
		if got == want {
			break
		}
	}
	repliesDone := time.Now()
	_, _ = io.Copy(io.Discard, r)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("meshobs: %v\nstderr:\n%s", err, stderr.String())
	}
	if got != want {
		t.Fatalf("%d replies for %d requests\nstderr:\n%s", got, want, stderr.String())
	}
	return exportFaultRun{replies: repliesDone.Sub(start), shutdown: time.Since(repliesDone), stderr: stderr.String()}
}

// silentEndpoint accepts TCP connections and never answers: every export
// to it hangs until its timeout.
func silentEndpoint(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// healthyEndpoint is an OTLP/HTTP receiver that accepts everything, for
// comparison.
func healthyEndpoint(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// closedEndpoint returns a loopback address nobody listens on.
func closedEndpoint(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

var exportLine = regexp.MustCompile(`meshobs: export: otlp (traces|logs|metrics): (\d+) accepted, (\d+) exported, (\d+) dropped`)

// TestExportFaults: with the OTLP endpoint down or silent, replies keep
// flowing at about the speed they flow without exporters, shutdown takes at
// most shutdown_timeout plus a margin, and the loss is reported on stderr.
func TestExportFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 20k records several times")
	}
	const records = 20_000
	input := faultInput(records)
	const shutdownTimeout = time.Second
	config := func(addr, protocol string, timeout time.Duration) string {
		return fmt.Sprintf(`shutdown_timeout: %s
exporters:
  metric_interval: 200ms
  batch_delay: 100ms
  otlp:
    enabled: true
    endpoint: %s
    protocol: %s
    insecure: true
    timeout: %s
`, shutdownTimeout, addr, protocol, timeout)
	}
	base := runFault(t, "shutdown_timeout: 1s\n", input)
	t.Logf("no exporter: %d replies in %s (%.0f/s), shutdown %s", records*11/10, base.replies.Round(time.Millisecond),
		float64(records*11/10)/base.replies.Seconds(), base.shutdown.Round(time.Millisecond))
	up := runFault(t, config(healthyEndpoint(t), "http/protobuf", 5*time.Second), input)
	t.Logf("healthy OTLP/HTTP endpoint: %d replies in %s (%.0f/s), shutdown %s", records*11/10, up.replies.Round(time.Millisecond),
		float64(records*11/10)/up.replies.Seconds(), up.shutdown.Round(time.Millisecond))
	// A burst faster than the endpoint drains may overflow queue_size: those
	// items are dropped and counted, but no export fails.
	for _, m := range exportLine.FindAllStringSubmatch(up.stderr, -1) {
		if exported, _ := strconv.Atoi(m[3]); exported == 0 || strings.Contains(up.stderr, m[0]+" (") &&
			!strings.Contains(up.stderr, m[0]+" (0 in failed exports") {
			t.Errorf("healthy endpoint: %q:\n%s", m[0], up.stderr)
		}
	}
	if n := len(exportLine.FindAllString(up.stderr, -1)); n != 3 {
		t.Errorf("healthy endpoint: %d export reports, want 3:\n%s", n, up.stderr)
	}

	for _, endpoint := range []struct {
		name string
		addr func(*testing.T) string
	}{{"down", closedEndpoint}, {"silent", silentEndpoint}} {
		for _, protocol := range []string{"grpc", "http/protobuf"} {
			t.Run(endpoint.name+"/"+strings.ReplaceAll(protocol, "/", "-"), func(t *testing.T) {
				run := runFault(t, config(endpoint.addr(t), protocol, 500*time.Millisecond), input)
				t.Logf("%d replies in %s (%.0f/s; %.2fx the time without exporter, %.2fx with a healthy one), shutdown %s",
					records*11/10, run.replies.Round(time.Millisecond), float64(records*11/10)/run.replies.Seconds(),
					run.replies.Seconds()/base.replies.Seconds(), run.replies.Seconds()/up.replies.Seconds(),
					run.shutdown.Round(time.Millisecond))
				// Generous bounds for 2 shared cores under -race: the
				// point is "not stuck behind the endpoint", which would
				// take 20000/512 batches x 500ms or hang outright.
				if limit := 2*up.replies + 5*time.Second; run.replies > limit {
					t.Errorf("replies took %s, over %s (healthy endpoint: %s)", run.replies, limit, up.replies)
				}
				if limit := shutdownTimeout + 2*time.Second; run.shutdown > limit {
					t.Errorf("shutdown took %s, over shutdown_timeout %s + 2s", run.shutdown, shutdownTimeout)
				}
				found := map[string]bool{}
				for _, m := range exportLine.FindAllStringSubmatch(run.stderr, -1) {
					found[m[1]] = true
					accepted, _ := strconv.Atoi(m[2])
					exported, _ := strconv.Atoi(m[3])
					dropped, _ := strconv.Atoi(m[4])
					if exported != 0 || dropped != accepted || accepted == 0 {
						t.Errorf("report %q: want everything accepted dropped", m[0])
					}
					want := map[string]int{"traces": records / 10, "logs": records}[m[1]]
					if want != 0 && accepted != want {
						t.Errorf("report %q: accepted %d, want %d", m[0], accepted, want)
					}
				}
				for _, s := range []string{"traces", "logs", "metrics"} {
					if !found[s] {
						t.Errorf("stderr reports no %s drops:\n%s", s, run.stderr)
					}
				}
				if t.Failed() || testing.Verbose() {
					t.Logf("stderr:\n%s", run.stderr)
				}
			})
		}
	}
}

// TestStatsReportsExports: with an exporter configured, the stats reply
// carries its counts in "exports"; without one, the reply is unchanged
// (the golden files cover that).
func TestStatsReportsExports(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meshobs.yaml")
	config := fmt.Sprintf("exporters:\n  otlp:\n    enabled: true\n    endpoint: %s\n    insecure: true\n    protocol: grpc\n    timeout: 200ms\n", closedEndpoint(t))
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, stdin, stdout := startNode(t, "--config", path)
	io.WriteString(stdin, `{"type":"record","msg_id":1,"service":"api","duration_ms":1,"status":200}`+"\n")
	readLine(t, stdout)
	io.WriteString(stdin, `{"type":"stats","msg_id":2}`+"\n")
	got := readLine(t, stdout)
	want := `"exports":[{"exporter":"otlp","signal":"traces","accepted":0,"exported":0,"failed":0,"dropped":0},` +
		`{"exporter":"otlp","signal":"logs","accepted":1,`
	if !strings.Contains(got, want) || !strings.Contains(got, `{"exporter":"otlp","signal":"metrics",`) {
		t.Errorf("stats reply %s\nwant it to contain %s", got, want)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// vanishingEndpoint is an OTLP/HTTP receiver that accepts its first requests,
// then disappears mid-run: it closes its listener and every connection.
func vanishingEndpoint(t *testing.T, serve int32) string {
	var (
		n    atomic.Int32
		once sync.Once
		srv  *httptest.Server
	)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > serve {
			once.Do(func() {
				srv.Listener.Close()
				go srv.CloseClientConnections()
			})
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestExportEndpointVanishes: an endpoint that goes away mid-run costs no
// reply, shutdown stays within its bound, and what got through and what was
// lost are both reported.
func TestExportEndpointVanishes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 20k records")
	}
	const records = 20_000
	run := runFault(t, fmt.Sprintf(`shutdown_timeout: 1s
exporters:
  metric_interval: 200ms
  batch_delay: 50ms
  batch_size: 256
  otlp:
    enabled: true
    endpoint: %s
    protocol: http/protobuf
    insecure: true
    timeout: 500ms
`, vanishingEndpoint(t, 4)), faultInput(records))
	if limit := 3 * time.Second; run.shutdown > limit {
		t.Errorf("shutdown took %s, over %s", run.shutdown, limit)
	}
	var exported, dropped int
	reports := exportLine.FindAllStringSubmatch(run.stderr, -1)
	for _, m := range reports {
		accepted, _ := strconv.Atoi(m[2])
		e, _ := strconv.Atoi(m[3])
		d, _ := strconv.Atoi(m[4])
		if accepted != e+d {
			t.Errorf("report %q: accepted != exported + dropped", m[0])
		}
		exported += e
		dropped += d
	}
	if len(reports) != 3 || exported == 0 || dropped == 0 {
		t.Errorf("want some exported before the endpoint vanished and some dropped after (exported %d, dropped %d):\n%s",
			exported, dropped, run.stderr)
	}
	t.Logf("replies in %s, shutdown %s, exported %d, dropped %d", run.replies.Round(time.Millisecond),
		run.shutdown.Round(time.Millisecond), exported, dropped)
}
