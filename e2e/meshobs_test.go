package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// meshobsBinary builds cmd/meshobs once per test process.
func meshobsBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "meshobs-e2e")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "meshobs")
		out, err := exec.Command("go", "build", "-o", buildPath, "github.com/meshobs/meshobs/cmd/meshobs").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

// node is a running meshobs driven one request at a time.
type node struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr syncBuffer
	msgID  int
}

// syncBuffer is a bytes.Buffer the process may write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startNode runs meshobs with the config text and extra environment.
func startNode(t *testing.T, config string, env ...string) *node {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meshobs.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, cmd: exec.Command(meshobsBinary(t), "--config", path)}
	n.cmd.Env = append(os.Environ(), env...)
	n.cmd.Stderr = &n.stderr
	var err error
	if n.stdin, err = n.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.stdout = bufio.NewReader(out)
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			_ = n.cmd.Process.Kill()
			_ = n.cmd.Wait()
		}
	})
	return n
}

// call sends a bare body (msg_id added) and returns the decoded reply,
// failing the test on an error reply or no reply within a bound.
func (n *node) call(body map[string]any) map[string]any {
	n.t.Helper()
	n.msgID++
	body["msg_id"] = n.msgID
	line, err := json.Marshal(body)
	if err != nil {
		n.t.Fatal(err)
	}
	if _, err := n.stdin.Write(append(line, '\n')); err != nil {
		n.t.Fatalf("write %s: %v", line, err)
	}
	type result struct {
		line []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := n.stdout.ReadBytes('\n')
		ch <- result{l, err}
	}()
	var res result
	select {
	case res = <-ch:
	case <-time.After(10 * time.Second):
		n.t.Fatalf("no reply to %s within 10s", line)
	}
	if res.err != nil {
		n.t.Fatalf("reply to %s: %v\nstderr:\n%s", line, res.err, n.stderr.String())
	}
	var reply map[string]any
	if err := json.Unmarshal(res.line, &reply); err != nil {
		n.t.Fatalf("reply %s: %v", res.line, err)
	}
	if reply["type"] == "error" {
		n.t.Fatalf("request %s: error reply %s", line, res.line)
	}
	return reply
}

// close sends EOF and waits for a clean exit within a bound; it returns stderr.
func (n *node) close(bound time.Duration) string {
	n.t.Helper()
	n.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- n.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			n.t.Fatalf("meshobs exit: %v\nstderr:\n%s", err, n.stderr.String())
		}
	case <-time.After(bound):
		n.t.Fatalf("meshobs did not exit within %s of EOF\nstderr:\n%s", bound, n.stderr.String())
	}
	return n.stderr.String()
}
