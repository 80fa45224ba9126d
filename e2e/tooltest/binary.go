package tooltest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Tool names an external program that the end-to-end tests run.
type Tool string

// The tools. The Go ones are built by tools/build.sh from the modules under
// tools/; Prometheus and Chromium are Debian packages it installs.
const (
	Jaeger       Tool = "jaeger"       // Jaeger v2 all-in-one (tools/jaeger)
	HotROD       Tool = "hotrod"       // Jaeger's HotROD demo (tools/jaeger)
	Telemetrygen Tool = "telemetrygen" // OTLP load generator (tools/telemetrygen)
	Otelcol      Tool = "otelcol"      // meshobs's collector distribution (tools/otelcol)
	Prometheus   Tool = "prometheus"   // Debian package prometheus
	Chromium     Tool = "chromium"     // Debian package chromium
)

// Tools lists every Tool.
var Tools = []Tool{Jaeger, HotROD, Telemetrygen, Otelcol, Prometheus, Chromium}

// InstallCommand is what a developer runs to build or install every tool.
const InstallCommand = "bash tools/build.sh"

// ErrNotFound is returned (wrapped) by Lookup when a tool is not installed.
var ErrNotFound = errors.New("not installed")

// EnvVar is the environment variable that names the tool's binary, e.g.
// MESHOBS_JAEGER_BIN. test.sh exports it for each tool.
func (tool Tool) EnvVar() string {
	if tool == Chromium {
		return "MESHOBS_CHROMIUM"
	}
	return "MESHOBS_" + strings.ToUpper(string(tool)) + "_BIN"
}

// module is the tools/ module that builds a Go tool, with the module path
// whose required version keys its cache directory.
func (tool Tool) module() (dir, versionOf string) {
	switch tool {
	case Jaeger, HotROD:
		return "jaeger", "github.com/jaegertracing/jaeger"
	case Telemetrygen:
		return "telemetrygen", "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"
	case Otelcol:
		return "otelcol", "go.opentelemetry.io/collector/otelcol"
	}
	return "", ""
}

// InCI reports whether the tests run under CI (env CI set), where a missing
// tool fails its tests instead of skipping them.
func InCI() bool { return os.Getenv("CI") != "" }

// Binary returns the path of the tool's binary (see Lookup). When the tool is
// missing it fails the test under CI and skips it elsewhere, naming the
// command that installs it.
func Binary(t testing.TB, tool Tool) string {
	t.Helper()
	p, err := Lookup(tool)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("tooltest: %v (run `%s` from the repository root, or set %s)", err, InstallCommand, tool.EnvVar())
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Lookup finds the tool's binary: the file its environment variable names
// (an error if that file is missing), else the file tools/build.sh builds into
// the user cache directory (Go tools) or the program on PATH (Debian
// packages). The error wraps ErrNotFound when the tool is simply missing.
func Lookup(tool Tool) (string, error) {
	if !slices.Contains(Tools, tool) {
		return "", fmt.Errorf("tooltest: unknown tool %q", tool)
	}
	if p := os.Getenv(tool.EnvVar()); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("%s: %s=%s is not an executable file", tool, tool.EnvVar(), p)
		}
		return p, nil
	}
	switch tool {
	case Prometheus, Chromium:
		p, err := exec.LookPath(string(tool))
		if err != nil {
			return "", fmt.Errorf("%s: %w: not on PATH", tool, ErrNotFound)
		}
		return p, nil
	}
	p, err := CachePath(tool)
	if err != nil {
		return "", err
	}
	if !isExecutable(p) {
		return "", fmt.Errorf("%s: %w: no %s", tool, ErrNotFound, p)
	}
	return p, nil
}

// CachePath is where tools/build.sh puts a Go tool's binary:
// <cache>/meshobs/<family>-<version>[-<source hash>]-<GOOS>-<GOARCH>/<tool>,
// with <cache> the user cache directory (${XDG_CACHE_HOME:-$HOME/.cache},
// else <repo>/.cache) and <version> read from tools/<family>/go.mod. Only
// the otelcol key has a source hash, since its main.go is ours.
func CachePath(tool Tool) (string, error) {
	dir, versionOf := tool.module()
	if dir == "" {
		return "", fmt.Errorf("tooltest: %s is not built from tools/", tool)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	modDir := filepath.Join(root, "tools", dir)
	version, err := requiredVersion(filepath.Join(modDir, "go.mod"), versionOf)
	if err != nil {
		return "", err
	}
	key := dir + "-" + version
	if tool == Otelcol {
		h, err := SourceHash(modDir)
		if err != nil {
			return "", err
		}
		key += "-" + h
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(root, ".cache")
	}
	return filepath.Join(cache, "meshobs", key+"-"+runtime.GOOS+"-"+runtime.GOARCH, string(tool)), nil
}

// SourceHash is the first 12 hex digits of the SHA-256 of a module
// directory's go.mod, go.sum and *.go files (in byte order of their names),
// concatenated; tools/build.sh computes the same with sha256sum.
func SourceHash(dir string) (string, error) {
	gofiles, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", err
	}
	slices.Sort(gofiles)
	h := sha256.New()
	for _, f := range append([]string{filepath.Join(dir, "go.mod"), filepath.Join(dir, "go.sum")}, gofiles...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("tooltest: source hash: %w", err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// RepoRoot finds the meshobs repository root: the nearest ancestor of the
// working directory (go test runs in the package directory), or else of this
// source file, that holds tools/jaeger/go.mod.
func RepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, d := range starts {
		for {
			if isFile(filepath.Join(d, "tools", "jaeger", "go.mod")) {
				return d, nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", errors.New("tooltest: cannot find the repository root (no tools/jaeger/go.mod above the working directory)")
}

// requiredVersion reads the version of module mod that go.mod requires.
func requiredVersion(gomod, mod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", fmt.Errorf("tooltest: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(s.Text()), "require "))
		if len(fields) >= 2 && fields[0] == mod {
			return fields[1], nil
		}
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("tooltest: read %s: %w", gomod, err)
	}
	return "", fmt.Errorf("tooltest: %s does not require %s", gomod, mod)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
