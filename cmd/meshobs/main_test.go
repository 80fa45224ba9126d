package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden *.out.jsonl files")

// binary is the meshobs binary built once for the tests that drive it over stdio.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "meshobs-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "meshobs")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
		// The race runtime sleeps 1 s at exit by default (to catch late
		// races): exit-time bounds would measure that sleep.
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building meshobs: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	hexID     = regexp.MustCompile(`"([0-9a-f]{32}|[0-9a-f]{16})"`)
	timestamp = regexp.MustCompile(`"\d{4}-\d\d-\d\dT[0-9:.]+Z"`)
)

// mask replaces generated ids, numbered by first appearance, and wall-clock
// times, so golden files stay stable while still checking that ids repeat
// where they must.
func mask(out []byte, fixed map[string]bool) []byte {
	ids := map[string]string{}
	out = hexID.ReplaceAllFunc(out, func(m []byte) []byte {
		id := string(m[1 : len(m)-1])
		if fixed[id] {
			return m
		}
		if _, ok := ids[id]; !ok {
			ids[id] = fmt.Sprintf(`"<id%d:%d>"`, len(ids)+1, len(id))
		}
		return []byte(ids[id])
	})
	return timestamp.ReplaceAllFunc(out, func(m []byte) []byte {
		if bytes.HasPrefix(m, []byte(`"2026-01-02T`)) { // a timestamp given in the input
			return m
		}
		return []byte(`"<now>"`)
	})
}

func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.in.jsonl")
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".in.jsonl")
		t.Run(name, func(t *testing.T) {
			input, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(binary)
			cmd.Stdin = bytes.NewReader(input)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("meshobs: %v\n%s", err, stderr.String())
			}
			// Ids the input itself names are kept as they are.
			fixed := map[string]bool{}
			for _, m := range hexID.FindAllSubmatch(input, -1) {
				fixed[string(m[1])] = true
			}
			got := mask(stdout.Bytes(), fixed)
			wantLines := 0
			for _, l := range bytes.Split(input, []byte("\n")) {
				if len(bytes.TrimSpace(l)) > 0 {
					wantLines++
				}
			}
			if n := bytes.Count(got, []byte("\n")); n != wantLines {
				t.Errorf("%d reply lines for %d request lines", n, wantLines)
			}
			golden := strings.TrimSuffix(in, ".in.jsonl") + ".out.jsonl"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/meshobs -update)", err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
				for i := range max(len(gl), len(wl)) {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Errorf("line %d:\n got: %s\nwant: %s", i+1, g, w)
					}
				}
			}
		})
	}
}

// startNode runs the binary with pipes and returns a line-at-a-time client.
func startNode(t *testing.T, args ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, stdin, bufio.NewReader(stdout)
}

// readLine reads one reply, failing the test if none comes within a bound.
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := r.ReadString('\n')
		ch <- result{l, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatalf("reading reply: %v", res.err)
		}
		return strings.TrimSpace(res.line)
	case <-time.After(10 * time.Second):
		t.Fatal("no reply within 10s: replies are not flushed before the node waits for input")
		return ""
	}
}

// TestInteractive sends one request at a time and waits for each answer
// before sending the next, as an interactive client does.
func TestInteractive(t *testing.T) {
	cmd, stdin, stdout := startNode(t)
	steps := []struct{ send, want string }{
		{`{"type":"init","msg_id":1,"node_id":"n7","node_ids":["n7"]}`, `{"type":"init_ok","in_reply_to":1}`},
		{`{"src":"c","dest":"x","body":{"type":"record","msg_id":2,"service":"api","duration_ms":1,"status":200}}`,
			`{"src":"n7","dest":"c","body":{"type":"metrics_recorded","in_reply_to":2,"service":"api","request_count":1}}`},
		{`{"type":"record","msg_id":3,"service":"api","duration_ms":1,"status":200,"target_service":"db"}`,
			`{"type":"metrics_recorded","in_reply_to":3,"service":"api","request_count":2}`},
		{`{"type":"generate","msg_id":4}`,
			`{"type":"service_graph","in_reply_to":4,"nodes":["api","db"],"edges":[{"source":"api","target":"db","request_count":1}]}`},
	}
	for _, s := range steps {
		if _, err := io.WriteString(stdin, s.send+"\n"); err != nil {
			t.Fatal(err)
		}
		if got := readLine(t, stdout); got != s.want {
			t.Fatalf("sent %s\n got %s\nwant %s", s.send, got, s.want)
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after EOF: %v", err)
	}
}

// TestSignalsFlushAndExit checks that SIGTERM and SIGINT make the node answer
// what it read, flush and exit 0.
func TestSignalsFlushAndExit(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, stdin, stdout := startNode(t)
			io.WriteString(stdin, `{"type":"record","msg_id":1,"service":"api","duration_ms":1,"status":200}`+"\n")
			if got := readLine(t, stdout); !strings.Contains(got, `"request_count":1`) {
				t.Fatalf("reply %s", got)
			}
			// The node is idle now, blocked reading an open stdin.
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			signalled := time.Now()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after %v: %v", sig, err)
				}
				if d := time.Since(signalled); d > time.Second {
					t.Fatalf("idle node took %v to exit after %v, want < 1s", d, sig)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("node did not exit within 10s of %v", sig)
			}
		})
	}
}

func TestBadConfigExits2NamingTheKey(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ yaml, key string }{
		"unknown key": {"retention:\n  spanz: 3\n", "spanz"},
		"bad value":   {"retention:\n  spans: 0\n", "retention.spans"},
		"bad type":    {"max_line_bytes: lots\n", "lots"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o644)
			cmd := exec.Command(binary, "--config", path)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want code 2", err)
			}
			if !strings.Contains(stderr.String(), tc.key) {
				t.Fatalf("stderr %q does not name %q", stderr.String(), tc.key)
			}
		})
	}
}

func TestConfigFlagLoadsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("default_service: edge-proxy\n"), 0o644)
	cmd := exec.Command(binary, "--config", path)
	cmd.Stdin = strings.NewReader(`{"type":"trace","msg_id":1,"operation":"op"}` + "\n" + `{"type":"generate","msg_id":2}` + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"nodes":["edge-proxy"]`) {
		t.Fatalf("output %s", out)
	}
}

// TestGraphRulesFromConfig turns on the connector's user-node and virtual-node
// rules from a config file and checks that generate shows their calls.
func TestGraphRulesFromConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(path, []byte("graph:\n  user_node: true\n  virtual_nodes: true\n"), 0o644)
	cmd := exec.Command(binary, "--config", path)
	cmd.Stdin = strings.NewReader(strings.Join([]string{
		`{"type":"trace","msg_id":1,"operation":"GET /","service":"web","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`,
		`{"type":"trace","msg_id":2,"operation":"SELECT","service":"web","kind":"client","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","attributes":{"db.system":"postgresql"}}`,
		`{"type":"generate","msg_id":3}`,
	}, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	got := lines[len(lines)-1]
	for _, want := range []string{`{"source":"user","target":"web","request_count":1}`, `{"source":"web","target":"postgresql","request_count":1}`} {
		if !strings.Contains(got, want) {
			t.Errorf("generate %s lacks %s", got, want)
		}
	}
}
