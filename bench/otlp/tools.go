package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/meshobs/meshobs/bench/internal/gobuild"
)

// Pinned versions of the peers (the tools modules under tools/ pin the same).
const (
	jaegerVersion       = "v1.75.0"
	telemetrygenVersion = "v0.161.0"
	otelcolVersion      = "v0.161.0"
)

// findTool returns the binary of an external tool: the path given by flag,
// else $MESHOBS_<TOOL>_BIN, else what `bash tools/build.sh --paths` names
// (when the repository has it), else the newest matching build in the
// cache directory tools/build.sh fills. It builds nothing.
func findTool(ctx context.Context, root, tool, version, flagValue string) (string, error) {
	if flagValue != "" {
		return checkExecutable(flagValue)
	}
	env := "MESHOBS_" + strings.ToUpper(tool) + "_BIN"
	if p := os.Getenv(env); p != "" {
		return checkExecutable(p)
	}
	if script := filepath.Join(root, "tools", "build.sh"); isFile(script) {
		out, err := exec.CommandContext(ctx, "bash", script, "--paths").Output()
		if err == nil {
			for line := range strings.SplitSeq(string(out), "\n") {
				if p, ok := strings.CutPrefix(line, tool+"="); ok && isExecutable(p) {
					return p, nil
				}
			}
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(root, ".cache")
	}
	// <family>-<version>[-<source hash>]-<GOOS>-<GOARCH>/<tool>
	matches, _ := filepath.Glob(filepath.Join(cache, "meshobs", tool+"-"+version+"-*"+runtime.GOOS+"-"+runtime.GOARCH, tool))
	slices.SortFunc(matches, func(a, b string) int { return modTime(b).Compare(modTime(a)) })
	for _, p := range matches {
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s %s not found (flag -%s, $%s, or `bash tools/build.sh` to build it)", tool, version, tool, env)
}

func checkExecutable(p string) (string, error) {
	if !isExecutable(p) {
		return "", fmt.Errorf("%s is not an executable file", p)
	}
	return p, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func modTime(p string) time.Time {
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// build compiles pkg of the module at root into dir/name.
func build(ctx context.Context, root, dir, name, pkg string) (string, error) {
	progress("go build -o %s %s", filepath.Join(dir, name), pkg)
	return gobuild.Build(ctx, root, dir, name, pkg)
}
