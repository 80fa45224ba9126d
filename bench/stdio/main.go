// Command stdio is the meshobs stdio throughput benchmark: it writes one seeded
// workload to a file, then runs the floor node and meshobs on it alternately,
// each reading the file as stdin, and reports medians of wall time, CPU time and
// peak RSS per binary with the meshobs/floor ratios.
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
	jsonOut     bool
	check       bool
	timeout     time.Duration
	workloadOut string
}

func main() {
	var o options
	flag.IntVar(&o.messages, "n", workload.DefaultMessages, "messages in the workload, the leading init included")
	flag.IntVar(&o.services, "services", workload.DefaultServices, "distinct services in the workload")
	flag.Uint64Var(&o.seed, "seed", workload.DefaultSeed, "workload seed")
	flag.IntVar(&o.rounds, "rounds", 5, "runs per binary, alternating floor and meshobs")
	flag.StringVar(&o.meshobs, "meshobs", "", "meshobs binary (default: go build ./cmd/meshobs)")
	flag.StringVar(&o.meshobsArgs, "meshobs-args", "", "extra arguments for meshobs, split on spaces")
	flag.StringVar(&o.floor, "floor", "", "floor binary (default: go build ./bench/floor)")
	flag.BoolVar(&o.jsonOut, "json", false, "print the results as JSON instead of a table")
	flag.BoolVar(&o.check, "check", false, "exit 1 unless meshobs meets the targets (wall <= 1.0x floor, CPU <= 2 µs/msg, peak RSS < 150 MiB)")
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
	return errors.Join(errs...)
}

func (o options) workload() workload.Config {
	return workload.Config{Messages: o.messages, Services: o.services, Seed: o.seed}
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

	floorBin, meshobsBin := o.floor, o.meshobs
	if floorBin == "" {
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

	bins := []binary{
		{name: "floor", path: floorBin},
		{name: "meshobs", path: meshobsBin, args: strings.Fields(o.meshobsArgs)},
	}
	var runs []runResult
	for round := 1; round <= o.rounds; round++ {
		for _, b := range bins {
			r, err := runOnce(ctx, b, input, st.Lines, o.timeout)
			if err != nil {
				return fmt.Errorf("round %d: %w", round, err)
			}
			r.Round = round
			progress("round %d %-8s wall %6.3fs  cpu %6.3fs  rss %6.1f MiB", round, b.name, r.WallS, r.CPUS, r.RSSMiB)
			runs = append(runs, r)
		}
	}

	rep := newReport(o, st, runs)
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
