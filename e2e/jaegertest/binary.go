package jaegertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvBinary names the environment variable that, when set, points at a
// jaeger binary to use instead of building one.
const EnvBinary = "MESHOBS_JAEGER_BIN"

const (
	toolsModule  = "github.com/meshobs/meshobs/tools"
	jaegerModule = "github.com/jaegertracing/jaeger"
	jaegerPkg    = jaegerModule + "/cmd/jaeger"
	buildTimeout = 30 * time.Minute
)

var (
	binMu   sync.Mutex
	binPath string
)

// Binary returns the path of a jaeger binary, building it on first use.
//
// If MESHOBS_JAEGER_BIN is set it is used as is. Otherwise the binary is
// built with `go build` inside <repo>/tools, at the Jaeger version that
// tools/go.mod requires, into
// <os.UserCacheDir()>/meshobs/jaeger-<version>/jaeger, and reused from there
// by later runs. Concurrent test processes serialise on a lock file.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := binary(t)
	if err != nil {
		t.Fatalf("jaegertest: %v", err)
	}
	return p
}

// Build is an alias of Binary.
func Build(t testing.TB) string {
	t.Helper()
	return Binary(t)
}

func binary(t testing.TB) (string, error) {
	binMu.Lock()
	defer binMu.Unlock()
	if binPath != "" {
		return binPath, nil
	}
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", EnvBinary, err)
		}
		binPath = p
		return p, nil
	}
	toolsDir, err := ToolsDir()
	if err != nil {
		return "", err
	}
	version, err := jaegerVersion(filepath.Join(toolsDir, "go.mod"))
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache dir (set %s): %w", EnvBinary, err)
	}
	dir := filepath.Join(cache, "meshobs", "jaeger-"+version+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	out := filepath.Join(dir, "jaeger")
	if isExecutable(out) {
		binPath = out
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(out) { // built by another process while we waited
		binPath = out
		return out, nil
	}

	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	tmp := out + fmt.Sprintf(".tmp%d", os.Getpid())
	t.Logf("jaegertest: building jaeger %s into %s (first run only; takes minutes on a cold build cache; set %s to skip)", version, out, EnvBinary)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok && time.Until(dl) < 20*time.Minute {
			t.Logf("jaegertest: warning: the test deadline is in %s; a cold jaeger build takes about 10 minutes on 2 busy cores (use go test -timeout 30m, or set %s)",
				time.Until(dl).Round(time.Second), EnvBinary)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", tmp, jaegerPkg)
	cmd.Dir = toolsDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.SysProcAttr = sysProcAttr() // dies with the test process
	output, err := cmd.CombinedOutput()
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build %s in %s: %v\n%s", jaegerPkg, toolsDir, err, output)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return "", err
	}
	t.Logf("jaegertest: built jaeger in %s", time.Since(start).Round(time.Second))
	binPath = out
	return out, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func lockFile(p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// ToolsDir finds the directory of the github.com/meshobs/meshobs/tools
// module: <dir>/tools for the nearest ancestor dir of the working
// directory (go test runs in the package directory), falling back to the
// location of this source file.
func ToolsDir() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, d := range starts {
		for {
			cand := filepath.Join(d, "tools")
			if mod, err := modulePath(filepath.Join(cand, "go.mod")); err == nil && mod == toolsModule {
				return cand, nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", errors.New("cannot find the tools module (" + toolsModule + "); set " + EnvBinary)
}

func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", gomod)
}

// jaegerVersion reads the version of the Jaeger module required in go.mod.
func jaegerVersion(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && f[0] == jaegerModule {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s does not require %s", gomod, jaegerModule)
}
