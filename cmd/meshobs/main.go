// Command meshobs is an OpenTelemetry-native observability node for service
// meshes. Without a subcommand it is the stdio node: newline-delimited JSON
// requests on stdin, one reply line per request on stdout, diagnostics on
// stderr (docs/protocol.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/meshobs/meshobs"
)

func main() {
	stdin, restore := pollableStdin()
	code := run(os.Args[1:], stdin, os.Stdout, os.Stderr)
	restore()
	os.Exit(code)
}

const usage = `meshobs: an OpenTelemetry-native observability node for service meshes.

Usage:
  meshobs [--config FILE] < requests.jsonl   the stdio node (docs/protocol.md)
  meshobs serve [--config FILE]              a collector node: OTLP in on 127.0.0.1:4317 (gRPC)
                                             and 127.0.0.1:4318 (HTTP), HTTP API and web UI on
                                             http://127.0.0.1:4319/, until SIGINT/SIGTERM
  meshobs graph [flags] [FILE]               replay a request stream, write its service graph
  meshobs validate [--config FILE]           check a configuration file, start nothing
  meshobs version                            print the version
  meshobs help [COMMAND]                     print this help, or a command's

Flags of the stdio node:
`

// run is main with its inputs injected; it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "graph":
			return runGraph(args[1:], stdin, stdout, stderr)
		case "serve":
			return runServe(args[1:], stdout, stderr)
		case "validate":
			return runValidate(args[1:], stdout, stderr)
		case "version":
			if len(args) > 1 {
				fmt.Fprintf(stderr, "meshobs version: unexpected arguments: %s\n", strings.Join(args[1:], " "))
				return 2
			}
			fmt.Fprintln(stdout, version())
			return 0
		case "help":
			return runHelp(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("meshobs", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration `file` (default: the built-in config.yaml)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `file` (pprof)")
	memProfile := fs.String("memprofile", "", "write a heap profile to `file` at exit (pprof)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if *showVersion {
		fmt.Fprintln(stdout, version())
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meshobs: unexpected argument %q: the stdio node reads requests on stdin (meshobs < %s), or see meshobs help\n", fs.Arg(0), fs.Arg(0))
		return 2
	}
	cfg, code := loadConfig("meshobs", *configPath, stderr)
	if code != 0 {
		return code
	}
	in, stopProfile, code := build("meshobs", stdioGOGC, cfg, *cpuProfile, stderr)
	if code != 0 {
		return code
	}
	defer stopProfile()
	// A reader that closes stdout must not kill us with SIGPIPE: the write
	// fails instead, and we shut down cleanly.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	code = 0
	if err := in.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "meshobs: %v\n", err)
		code = 1
	} else if err := in.Node().Run(ctx, stdin, stdout); err != nil {
		switch {
		case errors.Is(err, context.Canceled):
			fmt.Fprintln(stderr, "meshobs: shutting down on signal")
		case errors.Is(err, syscall.EPIPE):
			fmt.Fprintf(stderr, "meshobs: %v\n", err)
		default:
			fmt.Fprintf(stderr, "meshobs: %v\n", err)
			code = 1
		}
	}
	stop()
	if *memProfile != "" {
		writeHeapProfile(*memProfile, stderr) // while the pipeline still holds its data
	}
	sctx, cancel := in.ShutdownTimeout()
	defer cancel()
	if err := in.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "meshobs: shutdown: %v\n", err)
	}
	return code
}

// parseFlags parses args with fs; -h and --help print the usage on stdout
// and exit 0, a bad flag prints it on stderr and exits 2. done reports
// whether the caller must return code.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, true
	case err != nil:
		fs.SetOutput(stderr)
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		fs.Usage()
		return 2, true
	}
	fs.SetOutput(stderr)
	return 0, false
}

// loadConfig returns the file's configuration, or the built-in one when
// path is empty; code 2 when it is not valid.
func loadConfig(cmd, path string, stderr io.Writer) (meshobs.Config, int) {
	if path == "" {
		return meshobs.DefaultConfig(), 0
	}
	cfg, err := meshobs.LoadConfig(path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return cfg, 2
	}
	return cfg, 0
}

// runValidate is `meshobs validate`: it checks a configuration and starts nothing.
func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("meshobs validate", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration `file` to check (default: the built-in config.yaml)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: meshobs validate [--config FILE]\n\nChecks a configuration file and exits 0 when it is valid, or 2 naming\nevery invalid key. Starts nothing.\n\n")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	path := *configPath
	if path == "" && fs.NArg() == 1 {
		path = fs.Arg(0) // meshobs validate FILE
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meshobs validate: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if _, code := loadConfig("meshobs validate", path, stderr); code != 0 {
		return code
	}
	if path == "" {
		path = "the built-in configuration"
	}
	fmt.Fprintf(stdout, "%s is valid\n", path)
	return 0
}

// runHelp is `meshobs help [COMMAND]`.
func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return run([]string{"--help"}, nil, stdout, stderr)
	}
	switch args[0] {
	case "graph", "validate", "serve":
		return run([]string{args[0], "--help"}, nil, stdout, stderr)
	case "version", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "meshobs help: unknown command %q\n", args[0])
	return 2
}

// version returns the module version and VCS revision from the build info.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "meshobs (unknown version)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	out := "meshobs " + v
	if rev != "" {
		out += " " + rev[:min(12, len(rev))] + modified
	}
	return out + " " + bi.GoVersion
}

// runServe is `meshobs serve`: a daemon with no stdin, receiving OTLP
// (on the default addresses unless the config has a receivers section)
// until SIGINT or SIGTERM, then stopping the receivers (in-flight requests
// finish) and flushing the exporters within shutdown_timeout.
func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("meshobs serve", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration `file` (default: the built-in config.yaml)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `file` (pprof), from start to shutdown")
	memProfile := fs.String("memprofile", "", "write a heap profile to `file` at shutdown (pprof)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: meshobs serve [--config FILE]\n\n"+
			"Runs meshobs as a collector node: OTLP/gRPC on 127.0.0.1:4317 and OTLP/HTTP on\n"+
			"127.0.0.1:4318, the HTTP API and web UI on http://127.0.0.1:4319/, unless the\n"+
			"config's receivers and api sections say otherwise, until SIGINT or SIGTERM.\n"+
			"Reads no stdin.\n\n")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meshobs serve: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	cfg, code := loadConfig("meshobs serve", *configPath, stderr)
	if code != 0 {
		return code
	}
	cfg = meshobs.ServeDefaults(cfg)
	in, stopProfile, code := build("meshobs serve", serveGOGC, cfg, *cpuProfile, stderr)
	if code != 0 {
		return code
	}
	defer stopProfile()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	code = 0
	if err := in.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "meshobs serve: %v\n", err)
		code = 1
	} else {
		<-ctx.Done()
		fmt.Fprintln(stderr, "meshobs serve: shutting down on signal")
	}
	stop()
	if *memProfile != "" {
		writeHeapProfile(*memProfile, stderr) // while the pipeline still holds its data
	}
	sctx, cancel := in.ShutdownTimeout()
	defer cancel()
	if err := in.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "meshobs serve: shutdown: %v\n", err)
	}
	return code
}

// GOGC of each long-running command, unless the environment sets GOGC.
// What meshobs keeps is bounded (rings, capped aggregates), so the heap's
// garbage headroom is what peak RSS is made of: GOGC below the default's
// 100 trades CPU for memory. Measured on the 1M-message stdio workload,
// whose stores hold no pointers: peak RSS 91 MiB at 50, 99-102 MiB at 70
// (1M to 10M messages, flat) for 3% less CPU, 112 MiB at 100 for no
// more; under OTLP load (meshobs serve, 2M spans, GOGC 100 -> 50) 305 ->
// 215 MiB for about 11% more CPU.
const (
	stdioGOGC = 70
	serveGOGC = 50
)

// lowerGOGC sets GOGC to percent unless the environment sets GOGC.
func lowerGOGC(percent int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
}

// build prepares a long-running command: GOGC (gogc unless the environment
// sets it), the CPU profile when asked for, and the instance cfg
// describes. code is 0, or the exit code when it could not (2: the profile
// file, 1: the instance).
func build(cmd string, gogc int, cfg meshobs.Config, cpuProfile string, stderr io.Writer) (in *meshobs.Instance, stopProfile func(), code int) {
	lowerGOGC(gogc)
	stopProfile = func() {}
	if cpuProfile != "" {
		stop, err := startCPUProfile(cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
			return nil, nil, 2
		}
		stopProfile = stop
	}
	in, err := meshobs.New(cfg, meshobs.WithStderr(stderr))
	if err != nil {
		stopProfile()
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return nil, nil, 1
	}
	return in, stopProfile, 0
}
