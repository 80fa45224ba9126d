// Command meshobs is the meshobs stdio node: newline-delimited JSON requests
// on stdin, one reply line per request on stdout, diagnostics on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/meshobs/meshobs"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/node"
	"github.com/meshobs/meshobs/telemetry"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs injected; it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "graph" {
		return runGraph(args[1:], stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("meshobs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration `file` (default: the built-in config.yaml)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `file` (pprof)")
	memProfile := fs.String("memprofile", "", "write a heap profile to `file` at exit (pprof)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: meshobs [--config FILE] < requests.jsonl\n"+
			"       meshobs graph [-format json|dot|mermaid|svg] [-o FILE] [FILE]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := meshobs.DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = meshobs.LoadConfig(*configPath); err != nil {
			fmt.Fprintf(stderr, "meshobs: %v\n", err)
			return 2
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if os.Getenv("GOGC") == "" {
		// What meshobs keeps is bounded (rings, capped aggregates), so the
		// heap's garbage headroom is what peak RSS is made of: at GOGC=50 it
		// is half the default's. Measured on the 1M-message stdio workload:
		// peak RSS 138 -> 108 MiB for 5-8% more CPU. GOGC in the environment wins.
		debug.SetGCPercent(50)
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "meshobs: %v\n", err)
			return 2
		}
		defer stop()
	}

	exportOpts, out, err := outboundOptions(cfg.Exporters, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "meshobs: %v\n", err)
		return 1
	}
	p, err := telemetry.New(append([]telemetry.Option{
		telemetry.WithDefaultService(cmp(os.Getenv("OTEL_SERVICE_NAME"), cfg.DefaultService)),
		telemetry.WithRetention(cfg.Retention.AccessLogs, cfg.Retention.Spans),
		telemetry.WithLimits(cfg.Limits.MaxServices, cfg.Limits.MaxEdges, cfg.Limits.MaxMetricSeries),
		telemetry.WithSpanGraph(
			graph.WithClientServer(cfg.Graph.ClientServer),
			graph.WithMessaging(cfg.Graph.Messaging),
			graph.WithVirtualNodes(cfg.Graph.VirtualNodes),
			graph.WithUserNode(cfg.Graph.UserNode)),
	}, exportOpts...)...)
	if err != nil {
		fmt.Fprintf(stderr, "meshobs: %v\n", err)
		return 1
	}
	n := node.New(p, node.WithMaxLineBytes(cfg.MaxLineBytes), node.WithLogger(logger), node.WithExports(out.Stats))

	// A reader that closes stdout must not kill us with SIGPIPE: the write
	// fails instead, and we shut down cleanly.
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	done := make(chan error, 1)
	go func() { done <- n.Run(stdin, stdout) }()
	code := 0
	select {
	case err = <-done:
		if err != nil && !errors.Is(err, node.ErrStopped) {
			fmt.Fprintf(stderr, "meshobs: %v\n", err)
			if !errors.Is(err, syscall.EPIPE) {
				code = 1
			}
		}
	case sig := <-sigs:
		logger.Info("shutting down", "signal", sig.String())
		if err := n.Stop(); err != nil && !errors.Is(err, syscall.EPIPE) {
			fmt.Fprintf(stderr, "meshobs: %v\n", err)
		}
	}

	if *memProfile != "" {
		writeHeapProfile(*memProfile, stderr) // while the pipeline still holds its data
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "meshobs: shutdown: %v\n", err)
	}
	if err := out.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "meshobs: shutdown: %v\n", err)
	}
	out.Report(stderr)
	return code
}

// cmp returns the first non-empty string.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
