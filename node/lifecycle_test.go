package node_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshobs/meshobs/node"
	"github.com/meshobs/meshobs/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// idleNode starts Run on an open, idle input; it returns the writer end
// of the input, the channel Run's result arrives on and the node.
func idleNode(t *testing.T, ctx context.Context) (*io.PipeWriter, <-chan error, *node.Node, *bufio.Reader) {
	t.Helper()
	p, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	n := node.New(p)
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() }) // ends the reader goroutine's blocked read
	outR, outW := io.Pipe()
	t.Cleanup(func() { outR.Close() })
	out := bufio.NewReader(outR)
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, r, outW); outW.Close() }()
	// One answered request proves Run is up and now idle on its read.
	if _, err := io.WriteString(w, `{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}`+"\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := out.ReadString('\n'); err != nil || !strings.Contains(line, `"init_ok"`) {
		t.Fatalf("first reply %q, %v", line, err)
	}
	return w, done, n, out
}

func waitRun(t *testing.T, done <-chan error, bound time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		t.Fatalf("Run did not return within %v", bound)
		return nil
	}
}

func TestRunReturnsWhenCancelledWhileIdle(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	_, done, _, _ := idleNode(t, ctx)
	cancel()
	if err := waitRun(t, done, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
}

func TestStopEndsAnIdleRun(t *testing.T) {
	_, done, n, _ := idleNode(t, context.Background())
	n.Stop()
	if err := waitRun(t, done, time.Second); !errors.Is(err, node.ErrStopped) {
		t.Fatalf("Run returned %v, want ErrStopped", err)
	}
	n.Stop() // no Run in progress: nothing to do
}

func TestRunEndsAtEOF(t *testing.T) {
	w, done, _, out := idleNode(t, context.Background())
	io.WriteString(w, `{"type":"generate","msg_id":2}`+"\n")
	w.Close()
	rest, err := io.ReadAll(out)
	if err != nil || !strings.HasPrefix(string(rest), `{"type":"service_graph","in_reply_to":2,`) {
		t.Fatalf("reply %q, %v", rest, err)
	}
	if err := waitRun(t, done, 5*time.Second); err != nil {
		t.Fatalf("Run at EOF: %v", err)
	}
}

// newTestNode returns a node over a fresh pipeline.
func newTestNode(t *testing.T) *node.Node {
	t.Helper()
	p, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return node.New(p)
}

// TestRunReadsARegularFile: a regular file is read on Run's goroutine to
// its end, and every line is answered.
func TestRunReadsARegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.jsonl")
	var in strings.Builder
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&in, `{"type":"record","msg_id":%d,"service":"api","duration_ms":1,"status":200}`+"\n", i)
	}
	if err := os.WriteFile(path, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	if err := newTestNode(t).Run(context.Background(), f, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2000 || !strings.Contains(lines[1999], `"in_reply_to":2000,"service":"api","request_count":2000}`) {
		t.Fatalf("%d replies, last %q", len(lines), lines[len(lines)-1])
	}
}

// TestRunOnAPipeStopsWhileIdle: an os.Pipe is read on Run's goroutine;
// cancelling the context ends a read blocked on it at once (a deadline in
// the past), with the replies so far flushed.
func TestRunOnAPipeStopsWhileIdle(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	outR, outW := io.Pipe()
	defer outR.Close()
	out := bufio.NewReader(outR)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := newTestNode(t)
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, r, outW); outW.Close() }()
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(w, `{"type":"record","msg_id":%d,"service":"api","duration_ms":1,"status":200}`+"\n", i)
		line, err := out.ReadString('\n')
		if err != nil || !strings.Contains(line, fmt.Sprintf(`"request_count":%d}`, i)) {
			t.Fatalf("reply %d: %q, %v (replies must be flushed before the node waits for input)", i, line, err)
		}
	}
	cancel()
	if err := waitRun(t, done, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	// The pipe is still usable: Run left no reader behind on it.
	if _, err := w.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if err := r.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if n, err := io.ReadFull(r, buf); err != nil || string(buf[:n]) != "x\n" {
		t.Fatalf("after Run: read %q, %v", buf[:n], err)
	}
}
