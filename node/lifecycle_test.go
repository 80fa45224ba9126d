package node_test

import (
	"bufio"
	"context"
	"errors"
	"io"
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
