package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/meshobs/meshobs/bench/internal/gobuild"
	"github.com/meshobs/meshobs/bench/workload"
)

// binary is one node under test.
type binary struct {
	name string
	path string
	args []string
}

// runResult is what one run of one binary measured.
type runResult struct {
	Binary string  `json:"binary"`
	Round  int     `json:"round"`
	WallS  float64 `json:"wall_s"`
	CPUS   float64 `json:"cpu_s"`
	RSSMiB float64 `json:"peak_rss_mib"`
}

// build compiles pkg of the current module into dir/name.
func build(ctx context.Context, dir, name, pkg string) (string, error) {
	root, err := gobuild.ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	progress("go build -o %s %s", filepath.Join(dir, name), pkg)
	return gobuild.Build(ctx, root, dir, name, pkg)
}

func writeWorkload(path string, cfg workload.Config) (workload.Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return workload.Stats{}, err
	}
	st, err := workload.Write(f, cfg)
	return st, errors.Join(err, f.Close())
}

func writeWorkloadTo(path string, cfg workload.Config) error {
	if path == "-" {
		_, err := workload.Write(os.Stdout, cfg)
		return err
	}
	_, err := writeWorkload(path, cfg)
	return err
}

// errorMarkers find error replies, with or without a space after the colon.
var errorMarkers = [][]byte{[]byte(`"type":"error"`), []byte(`"type": "error"`)}

// runOnce runs b with the file at input as stdin and checks that it answered
// every one of the want lines without an error reply.
func runOnce(ctx context.Context, b binary, input string, want int, timeout time.Duration) (runResult, error) {
	in, err := os.Open(input)
	if err != nil {
		return runResult{}, err
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.path, b.args...)
	cmd.Stdin = in // a file: the child reads it directly, no copying goroutine
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return runResult{}, err
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return runResult{}, fmt.Errorf("%s: %w", b.name, err)
	}
	lines, errLines, firstErr, readErr := countReplies(stdout)
	waitErr := cmd.Wait()
	wall := time.Since(start)

	fail := func(format string, args ...any) (runResult, error) {
		msg := fmt.Sprintf("%s: "+format, append([]any{b.name}, args...)...)
		if s := stderr.String(); s != "" {
			msg += "\n--- stderr tail ---\n" + s
		}
		return runResult{}, errors.New(msg)
	}
	switch {
	case ctx.Err() != nil:
		return fail("no exit within %v", timeout)
	case waitErr != nil:
		return fail("%v", waitErr)
	case readErr != nil:
		return fail("reading stdout: %v", readErr)
	case lines != want:
		return fail("%d reply lines to %d request lines", lines, want)
	case errLines > 0:
		return fail("%d error replies to a valid workload, first: %s", errLines, firstErr)
	}
	ps := cmd.ProcessState
	r := runResult{
		Binary: b.name,
		WallS:  wall.Seconds(),
		CPUS:   (ps.UserTime() + ps.SystemTime()).Seconds(),
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		r.RSSMiB = float64(ru.Maxrss) / 1024 // Linux reports KiB
	}
	return r, nil
}

// countReplies counts newline-terminated lines, and error replies among them,
// on r.
func countReplies(r io.Reader) (lines, errLines int, firstErr string, err error) {
	br := bufio.NewReaderSize(r, 1<<20)
	isErr := false // the current line, possibly read in several chunks, is an error
	for {
		chunk, err := br.ReadSlice('\n')
		for _, m := range errorMarkers {
			if !isErr && bytes.Contains(chunk, m) {
				isErr = true
				if errLines == 0 {
					firstErr = string(chunk[:min(len(chunk), 300)])
				}
			}
		}
		switch {
		case err == nil:
			lines++
			if isErr {
				errLines++
			}
			isErr = false
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			if len(chunk) > 0 {
				return lines, errLines, firstErr, errors.New("last reply line has no newline")
			}
			return lines, errLines, firstErr, nil
		default:
			return lines, errLines, firstErr, err
		}
	}
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = append(t.b[:0], t.b[len(t.b)-4096:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
