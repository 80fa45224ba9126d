package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitExit waits for cmd, failing the test if it does not exit within bound.
func waitExit(t *testing.T, cmd *exec.Cmd, bound time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		_ = cmd.Process.Kill()
		t.Fatalf("meshobs did not exit within %v", bound)
		return nil
	}
}

// TestStdoutClosedByReader closes the read end of stdout and keeps sending:
// the write fails with EPIPE (SIGPIPE is ignored) and meshobs exits 0.
func TestStdoutClosedByReader(t *testing.T) {
	cmd := exec.Command(binary)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	go func() {
		// Until meshobs exits and this write fails in turn.
		line := []byte(`{"type":"record","msg_id":1,"service":"api","duration_ms":1,"status":200}` + "\n")
		for {
			if _, err := stdin.Write(line); err != nil {
				return
			}
		}
	}()
	if err := waitExit(t, cmd, 20*time.Second); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "broken pipe") {
		t.Fatalf("stderr does not say why: %q", stderr.String())
	}
}

// TestStdinClosedMidLine closes stdin in the middle of a line: the complete
// lines are answered, the partial one is an unparseable line (code 12), and
// meshobs exits 0; a complete last line without newline is answered as usual.
func TestStdinClosedMidLine(t *testing.T) {
	rec := `{"type":"record","msg_id":1,"service":"api","duration_ms":1,"status":200}`
	tests := []struct {
		name, in string
		want     []string
	}{
		{"partial line", rec + "\n" + `{"type":"record","msg_id":2,"serv`, []string{
			`{"type":"metrics_recorded","in_reply_to":1,"service":"api","request_count":1}`,
			`{"type":"error","code":12,"text":"invalid JSON: unexpected end of JSON input"}`,
		}},
		{"complete line without newline", rec, []string{
			`{"type":"metrics_recorded","in_reply_to":1,"service":"api","request_count":1}`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, stdin, stdout := startNode(t)
			if _, err := io.WriteString(stdin, tc.in); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tc.in, "\n") {
				// The first reply comes before EOF: the node waits mid-line.
				if got := readLine(t, stdout); got != tc.want[0] {
					t.Fatalf("got %s, want %s", got, tc.want[0])
				}
				tc.want = tc.want[1:]
			}
			stdin.Close()
			for _, w := range tc.want {
				if got := readLine(t, stdout); got != w {
					t.Fatalf("got %s, want %s", got, w)
				}
			}
			if err := waitExit(t, cmd, 10*time.Second); err != nil {
				t.Fatalf("exit: %v", err)
			}
		})
	}
}

// vmRSS returns the resident set size of process pid, in KiB.
func vmRSS(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestSoak streams soakMessages requests of every kind through meshobs at
// full speed, checks that every reply comes, complete and in order, and
// that RSS stays flat once the stores' rings are full.
func TestSoak(t *testing.T) {
	t.Run("in-memory", func(t *testing.T) { soak(t, "") })
	// Every outbound exporter that needs no peer of its own: OTLP to a
	// healthy local receiver, and the Prometheus endpoint.
	t.Run("exporters", func(t *testing.T) {
		soak(t, fmt.Sprintf(`exporters:
  metric_interval: 100ms
  otlp:
    enabled: true
    endpoint: %s
    protocol: http/protobuf
    insecure: true
  prometheus:
    enabled: true
    listen: 127.0.0.1:0
`, healthyEndpoint(t)))
	})
}

// soak drives a bounded stream at full speed through the binary with extra
// config, checking every reply in order and that RSS stays flat.
func soak(t *testing.T, extra string) {
	n := 200_000
	if raceEnabled {
		n = 20_000 // the race detector is ~10x slower; RSS is not checked
	}
	if testing.Short() {
		t.Skip("soak in -short mode")
	}
	cfg := filepath.Join(t.TempDir(), "soak.yaml")
	// Small rings fill within the first few percent of the run.
	if err := os.WriteFile(cfg, []byte("retention:\n  access_logs: 5000\n  spans: 5000\n"+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, stdin, stdout := startNode(t, "--config", cfg)
	start := time.Now()

	request := func(i int) (line, wantType string) {
		svc := fmt.Sprintf("svc%d", i%10)
		switch {
		case i%100 == 99:
			return fmt.Sprintf(`{"type":"record","msg_id":%d,"service":"%s","status":200}`, i, svc), "error"
		case i%100 == 98:
			return fmt.Sprintf(`{"type":"generate","msg_id":%d}`, i), "service_graph"
		case i%100 == 97:
			return fmt.Sprintf(`{"type":"query","msg_id":%d,"filter":{"source_service":"%s"}}`, i, svc), "access_logs"
		case i%100 == 96:
			return fmt.Sprintf(`{"type":"query","msg_id":%d,"raw":true,"limit":20}`, i), "access_logs"
		case i%3 == 0:
			return fmt.Sprintf(`{"type":"trace","msg_id":%d,"operation":"op","service":"%s","trace_id":"%032x","duration_ms":2}`, i, svc, i/30+1), "trace_created"
		default:
			return fmt.Sprintf(`{"src":"c","dest":"n","body":{"type":"record","msg_id":%d,"service":"%s","target_service":"db%d","duration_ms":%d,"status":%d}}`,
				i, svc, i%3, i%500, 200+(i%2)*300), "metrics_recorded"
		}
	}
	go func() {
		w := bufio.NewWriterSize(stdin, 64<<10)
		for i := range n {
			line, _ := request(i)
			w.WriteString(line)
			w.WriteByte('\n')
		}
		w.Flush()
		stdin.Close()
	}()

	var rssEarly, rssMid, rssEnd int
	for i := range n {
		line, err := stdout.ReadString('\n')
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		_, wantType := request(i)
		if !strings.Contains(line, `"type":"`+wantType+`"`) || !strings.Contains(line, `"in_reply_to":`+strconv.Itoa(i)+`,`) {
			t.Fatalf("reply %d out of order or wrong: %s", i, line)
		}
		switch i {
		case n / 10:
			rssEarly = vmRSS(t, cmd.Process.Pid)
		case n / 2:
			rssMid = vmRSS(t, cmd.Process.Pid)
		case n - n/10: // while it still runs: the last replies fit in the pipe
			rssEnd = vmRSS(t, cmd.Process.Pid)
		}
	}
	if extra, err := stdout.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Fatalf("reply after the last: %q %v", extra, err)
	}
	if err := waitExit(t, cmd, 30*time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
	elapsed := time.Since(start)
	t.Logf("soak: %d messages in %v (%.0f/s), RSS at 10%% %d KiB, midway %d KiB, at 90%% %d KiB",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), rssEarly, rssMid, rssEnd)
	if !raceEnabled && rssEnd > rssMid+rssMid/4+8<<10 {
		t.Fatalf("RSS grew from %d KiB midway to %d KiB at 90%%", rssMid, rssEnd)
	}
}
