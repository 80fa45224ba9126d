package meshobs

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/meshobs/meshobs/receiver"
)

// TestInstanceLifecycle builds everything from a Config with receivers on
// free ports, runs the stdio node beside them, and shuts down leaving no
// goroutine behind (TestMain checks).
func TestInstanceLifecycle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Receivers = receiver.ServeDefaults()
	cfg.Receivers.OTLP.Protocols.GRPC.Endpoint = "127.0.0.1:0"
	cfg.Receivers.OTLP.Protocols.HTTP.Endpoint = "127.0.0.1:0"
	in, err := New(cfg, WithStderr(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if a := in.Receivers().Addrs(); a.GRPC == "" || a.HTTP == "" {
		t.Fatalf("receivers not listening: %+v", a)
	}
	var out strings.Builder
	if err := in.Node().Run(ctx, strings.NewReader(`{"type":"stats","msg_id":1}`+"\n"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"receivers":[`) {
		t.Fatalf("stats without the receivers' counts: %s", out.String())
	}
	sctx, cancel := in.ShutdownTimeout()
	defer cancel()
	if err := in.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}
