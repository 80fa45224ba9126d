package tooltest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCachePathsMatchBuildScript checks that the paths tools/build.sh
// builds into are the ones Lookup searches.
func TestCachePathsMatchBuildScript(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range [][]string{
		{"XDG_CACHE_HOME=" + t.TempDir()},
		{"XDG_CACHE_HOME=", "HOME=" + t.TempDir()},
	} {
		cmd := exec.Command("bash", filepath.Join(root, "tools", "build.sh"), "--paths")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("build.sh --paths: %v\n%s", err, out)
		}
		for _, v := range env {
			name, val, _ := strings.Cut(v, "=")
			t.Setenv(name, val)
		}
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			k, v, _ := strings.Cut(line, "=")
			got[k] = v
		}
		for _, tool := range []Tool{Jaeger, HotROD, Telemetrygen, Otelcol} {
			want, err := CachePath(tool)
			if err != nil {
				t.Fatal(err)
			}
			if got[string(tool)] != want {
				t.Errorf("%v: build.sh builds %s into %q, CachePath says %q", env, tool, got[string(tool)], want)
			}
		}
	}
}

func TestCachePathKeys(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/cache")
	for tool, prefix := range map[Tool]string{
		Jaeger:       "/cache/meshobs/jaeger-v1.75.0-",
		HotROD:       "/cache/meshobs/jaeger-v1.75.0-",
		Telemetrygen: "/cache/meshobs/telemetrygen-v0.161.0-",
		Otelcol:      "/cache/meshobs/otelcol-v0.161.0-",
	} {
		p, err := CachePath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p, prefix) || filepath.Base(p) != string(tool) {
			t.Errorf("CachePath(%s) = %q, want %s...%s", tool, p, prefix, tool)
		}
	}
	if _, err := CachePath(Prometheus); err == nil {
		t.Error("CachePath(prometheus) did not fail: it is a Debian package, not built")
	}
}

func TestLookupFromEnv(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(Otelcol.EnvVar(), self)
	if p, err := Lookup(Otelcol); err != nil || p != self {
		t.Errorf("Lookup with %s=%s: %q, %v", Otelcol.EnvVar(), self, p, err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	t.Setenv(Otelcol.EnvVar(), missing)
	if _, err := Lookup(Otelcol); err == nil || !strings.Contains(err.Error(), Otelcol.EnvVar()) {
		t.Errorf("Lookup with a missing file: %v, want an error naming %s", err, Otelcol.EnvVar())
	}
	t.Setenv(Otelcol.EnvVar(), "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // an empty cache
	if _, err := Lookup(Otelcol); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup with an empty cache: %v, want ErrNotFound", err)
	}
	if _, err := Lookup("nosuchtool"); err == nil {
		t.Error("Lookup of an unknown tool did not fail")
	}
}

func TestEnvVars(t *testing.T) {
	want := map[Tool]string{
		Jaeger: "MESHOBS_JAEGER_BIN", HotROD: "MESHOBS_HOTROD_BIN", Telemetrygen: "MESHOBS_TELEMETRYGEN_BIN",
		Otelcol: "MESHOBS_OTELCOL_BIN", Prometheus: "MESHOBS_PROMETHEUS_BIN", Chromium: "MESHOBS_CHROMIUM",
	}
	for _, tool := range Tools {
		if got := tool.EnvVar(); got != want[tool] {
			t.Errorf("%s.EnvVar() = %s, want %s", tool, got, want[tool])
		}
	}
}

// TestToolsPresentInCI fails under CI when test.sh left a tool out; off CI it
// reports which ones are missing.
func TestToolsPresentInCI(t *testing.T) {
	for _, tool := range Tools {
		if _, err := Lookup(tool); err != nil {
			if InCI() {
				t.Errorf("%v", err)
			} else {
				t.Logf("%v (run `%s`)", err, InstallCommand)
			}
		}
	}
}
