// Command stdio is the meshobs stdio throughput benchmark: it writes one seeded
// workload to a file, then runs the bare echo node, the floor node and meshobs
// on it in alternating rounds, each reading the file as stdin, and reports
// medians of wall time, CPU time and peak RSS per binary with the
// meshobs/echo and meshobs/floor ratios.
//
//	go run ./bench/stdio -n 1000000 -rounds 5
//
// See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshobs/meshobs/bench/workload"
)

type options struct {
	messages    int
	services    int
	seed        uint64
	rounds      int
	meshobs     string
	meshobsArgs string
	floor       string
	echo        string
	extra       extraFlag
	noFloor     bool
	rssSizes    sizesFlag
	jsonOut     bool
	check       bool
	timeout     time.Duration
	workloadOut string
}

// extraFlag collects -extra name=path: more binaries in the rotation, e.g.
// an older meshobs build to compare with.
type extraFlag []binary

func (e *extraFlag) String() string { return "" }

func (e *extraFlag) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want name=path, got %q", v)
	}
	if slices.ContainsFunc(*e, func(b binary) bool { return b.name == name }) || name == "echo" || name == "floor" || name == "meshobs" {
		return fmt.Errorf("binary name %q used twice", name)
	}
	*e = append(*e, binary{name: name, path: path})
	return nil
}

// sizesFlag is a comma-separated list of message counts.
type sizesFlag []int

func (s *sizesFlag) String() string {
	parts := make([]string, len(*s))
	for i, n := range *s {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

func (s *sizesFlag) Set(v string) error {
	*s = nil
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return fmt.Errorf("want message counts >= 2 separated by commas, got %q", v)
		}
		*s = append(*s, n)
	}
	return nil
}

func main() {
	var o options
	flag.IntVar(&o.messages, "n", workload.DefaultMessages, "messages in the workload, the leading init included")
	flag.IntVar(&o.services, "services", workload.DefaultServices, "distinct services in the workload")
	flag.Uint64Var(&o.seed, "seed", workload.DefaultSeed, "workload seed")
	flag.IntVar(&o.rounds, "rounds", 5, "runs per binary, in alternating rounds")
	flag.StringVar(&o.meshobs, "meshobs", "", "meshobs binary (default: go build ./cmd/meshobs)")
	flag.StringVar(&o.meshobsArgs, "meshobs-args", "", "extra arguments for meshobs (and -extra binaries), split on spaces")
	flag.StringVar(&o.floor, "floor", "", "floor binary (default: go build ./bench/floor)")
	flag.StringVar(&o.echo, "echo", "", "bare echo binary (default: go build ./bench/echo)")
	flag.Var(&o.extra, "extra", "`name=path` of one more binary in the rotation, run with -meshobs-args, compared with meshobs (repeatable), e.g. an older build")
	flag.BoolVar(&o.noFloor, "no-floor", false, "leave the floor out of the rotation (quicker A/B runs)")
	flag.Var(&o.rssSizes, "rss-sizes", "after the rounds, run meshobs once per `list` of message counts (e.g. 1000000,10000000) and report peak RSS per size")
	flag.BoolVar(&o.jsonOut, "json", false, "print the results as JSON instead of a table")
	flag.BoolVar(&o.check, "check", false, fmt.Sprintf("exit 1 unless meshobs meets the targets (CPU <= %.1fx echo, wall <= %.1fx floor, peak RSS < %.0f MiB, flat over -rss-sizes)", maxEchoCPURatio, maxFloorWallRatio, maxRSSMiB))
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "limit per run; a run over it fails")
	flag.StringVar(&o.workloadOut, "workload-out", "", "only write the workload to this file (- for stdout) and exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "stdio:", err)
		os.Exit(1)
	}
}

func (o options) validate() error {
	var errs []error
	if o.rounds < 1 {
		errs = append(errs, fmt.Errorf("-rounds must be >= 1, got %d", o.rounds))
	}
	if o.timeout <= 0 {
		errs = append(errs, fmt.Errorf("-timeout must be > 0, got %v", o.timeout))
	}
	errs = append(errs, o.workload().Validate())
	for _, n := range o.rssSizes {
		c := o.workload()
		c.Messages = n
		errs = append(errs, c.Validate())
	}
	return errors.Join(errs...)
}

func (o options) workload() workload.Config {
	return workload.Config{Messages: o.messages, Services: o.services, Seed: o.seed}
}

// binaries returns the rotation: echo, floor (unless -no-floor), meshobs, extras.
func (o options) binaries(echo, floor, meshobs string) []binary {
	args := strings.Fields(o.meshobsArgs)
	bins := []binary{{name: "echo", path: echo}}
	if !o.noFloor {
		bins = append(bins, binary{name: "floor", path: floor})
	}
	bins = append(bins, binary{name: "meshobs", path: meshobs, args: args})
	for _, e := range o.extra {
		e.args = args
		bins = append(bins, e)
	}
	return bins
}

func run(ctx context.Context, o options) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.workloadOut != "" {
		return writeWorkloadTo(o.workloadOut, o.workload())
	}
	tmp, err := os.MkdirTemp("", "meshobs-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	echoBin, floorBin, meshobsBin := o.echo, o.floor, o.meshobs
	if echoBin == "" {
		if echoBin, err = build(ctx, tmp, "echo", "./bench/echo"); err != nil {
			return err
		}
	}
	if floorBin == "" && !o.noFloor {
		if floorBin, err = build(ctx, tmp, "floor", "./bench/floor"); err != nil {
			return err
		}
	}
	if meshobsBin == "" {
		if meshobsBin, err = build(ctx, tmp, "meshobs", "./cmd/meshobs"); err != nil {
			return fmt.Errorf("%w (pass -meshobs to use a prebuilt binary)", err)
		}
	}

	input := tmp + "/workload.jsonl"
	progress("writing %d messages to %s", o.messages, input)
	st, err := writeWorkload(input, o.workload())
	if err != nil {
		return err
	}

	bins := o.binaries(echoBin, floorBin, meshobsBin)
	var runs []runResult
	for round := 1; round <= o.rounds; round++ {
		// Each round starts one binary later, so that none always runs
		// first (or right after the same neighbour).
		for i := range bins {
			b := bins[(round-1+i)%len(bins)]
			r, err := runOnce(ctx, b, input, st.Lines, o.timeout)
			if err != nil {
				return fmt.Errorf("round %d: %w", round, err)
			}
			r.Round = round
			progress("round %d %-10s wall %6.3fs  cpu %6.3fs  rss %6.1f MiB", round, b.name, r.WallS, r.CPUS, r.RSSMiB)
			runs = append(runs, r)
		}
	}
	os.Remove(input)

	var sizes []sizeResult
	for _, n := range o.rssSizes {
		c := o.workload()
		c.Messages = n
		path := fmt.Sprintf("%s/workload-%d.jsonl", tmp, n)
		progress("writing %d messages to %s", n, path)
		sst, err := writeWorkload(path, c)
		if err != nil {
			return err
		}
		r, err := runOnce(ctx, bins[slices.IndexFunc(bins, func(b binary) bool { return b.name == "meshobs" })], path, sst.Lines, o.timeout)
		os.Remove(path)
		if err != nil {
			return fmt.Errorf("%d messages: %w", n, err)
		}
		progress("size %d meshobs wall %6.3fs  cpu %6.3fs  rss %6.1f MiB", n, r.WallS, r.CPUS, r.RSSMiB)
		sizes = append(sizes, sizeResult{Messages: sst.Lines, WallS: r.WallS, CPUS: r.CPUS, RSSMiB: r.RSSMiB})
	}

	rep := newReport(o, st, bins, runs, sizes)
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.writeTable(os.Stdout)
	}
	if o.check && !rep.Check.Pass {
		return errors.New("check failed: " + strings.Join(rep.Check.Failures, "; "))
	}
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "# "+format+"\n", args...)
}
