package tooltest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TelemetrygenOptions configure RunTelemetrygen.
type TelemetrygenOptions struct {
	// Endpoint is the OTLP/gRPC host:port the traces go to, in plaintext.
	Endpoint string
	// Traces is the number of traces; default 1.
	Traces int
	// ChildSpans is the number of child spans under each trace's root
	// span; default 0. Each trace has ChildSpans+1 spans.
	ChildSpans int
	// Service is the service.name of the spans; default "telemetrygen".
	Service string
	// Timeout bounds the run; default 60s.
	Timeout time.Duration
}

// Spans is the number of spans the run sends: Traces * (ChildSpans + 1).
func (o TelemetrygenOptions) Spans() int {
	return max(o.Traces, 1) * (o.ChildSpans + 1)
}

// Args are telemetrygen's arguments for these options: one worker, no rate
// limit, insecure gRPC.
func (o TelemetrygenOptions) Args() []string {
	if o.Service == "" {
		o.Service = "telemetrygen"
	}
	return []string{"traces",
		"--otlp-endpoint=" + o.Endpoint,
		"--otlp-insecure",
		"--traces=" + strconv.Itoa(max(o.Traces, 1)),
		"--child-spans=" + strconv.Itoa(o.ChildSpans),
		"--service=" + o.Service,
		"--workers=1",
		"--rate=0",
	}
}

// RunTelemetrygen sends traces with telemetrygen and waits for it to exit.
// It fails the test if telemetrygen fails (it exits non-zero when an export
// fails) or outlives Timeout, and returns its output.
func RunTelemetrygen(t testing.TB, opts TelemetrygenOptions) string {
	t.Helper()
	if opts.Endpoint == "" {
		t.Fatal("tooltest: telemetrygen: Endpoint is empty")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	bin := Binary(t, Telemetrygen)
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, opts.Args()...)
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("still running after %s: %w", opts.Timeout, err)
		}
		t.Fatalf("tooltest: telemetrygen %v: %v\n--- telemetrygen output ---\n%s", opts.Args(), err, tail(string(out), 8000))
	}
	return string(out)
}
