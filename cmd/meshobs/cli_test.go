package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCmd runs the binary with args and stdin; it returns stdout, stderr and the exit code.
func runCmd(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestCLIConventions(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("retention:\n  spans: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("graph:\n  user_node: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string // substrings
	}{
		{"--help", []string{"--help"}, 0, "Usage:", ""},
		{"-h", []string{"-h"}, 0, "meshobs graph", ""},
		{"help", []string{"help"}, 0, "meshobs validate", ""},
		{"help graph", []string{"help", "graph"}, 0, "Usage: meshobs graph", ""},
		{"graph --help", []string{"graph", "--help"}, 0, "-format", ""},
		{"--version", []string{"--version"}, 0, "meshobs ", ""},
		{"version", []string{"version"}, 0, "meshobs ", ""},
		{"stray argument", []string{"examples/demo.jsonl"}, 2, "", `unexpected argument "examples/demo.jsonl"`},
		{"unknown flag", []string{"--nope"}, 2, "", "flag provided but not defined: -nope"},
		{"validate default", []string{"validate"}, 0, "built-in configuration is valid", ""},
		{"validate good", []string{"validate", "--config", good}, 0, "is valid", ""},
		{"validate file argument", []string{"validate", good}, 0, "is valid", ""},
		{"validate bad", []string{"validate", "--config", bad}, 2, "", "retention.spans: must be at least 1"},
		{"validate missing", []string{"validate", "--config", filepath.Join(dir, "none.yaml")}, 2, "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No stdin is given: a command that read it would still end (EOF),
			// but help, version and validate must not touch it.
			start := time.Now()
			out, errOut, code := runCmd(t, "", tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, out, errOut, tt.code, tt.stdout, tt.stderr)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// TestGraphFollowsConfig proves that `meshobs graph --config` draws what the
// stdio node answers for the same input and config: both are built by the
// one constructor, graph rules and limits included.
func TestGraphFollowsConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(cfg, []byte("graph:\n  user_node: true\nlimits:\n  max_edges: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	input, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	input = append([]byte(`{"type":"trace","msg_id":900,"service":"web","operation":"GET /"}`+"\n"), input...)

	stdio, errOut, code := runCmd(t, string(input)+`{"type":"generate","msg_id":999,"detail":true}`+"\n", "--config", cfg)
	if code != 0 {
		t.Fatalf("stdio node: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(stdio), "\n")
	var fromNode map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &fromNode); err != nil {
		t.Fatal(err)
	}
	delete(fromNode, "in_reply_to")

	out, errOut, code := runCmd(t, string(input), "graph", "--config", cfg)
	if code != 0 {
		t.Fatalf("meshobs graph: exit %d: %s", code, errOut)
	}
	var fromGraph map[string]any
	if err := json.Unmarshal([]byte(out), &fromGraph); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromNode)
	b, _ := json.Marshal(fromGraph)
	if !bytes.Equal(a, b) {
		t.Fatalf("meshobs graph --config draws\n%s\nthe stdio node answers\n%s", b, a)
	}
	if !strings.Contains(string(b), `"source":"user","target":"web"`) {
		t.Fatalf("user_node: true in the config, but no user -> web edge: %s", b)
	}
	if !strings.Contains(string(b), `"meshobs.overflow"`) {
		t.Fatalf("limits.max_edges: 3 in the config, but no overflow edge: %s", b)
	}
}

// TestGraphFlagsAfterFile: flags may follow the input file.
func TestGraphFlagsAfterFile(t *testing.T) {
	out, errOut, code := runCmd(t, "", "graph", demo, "-format", "dot")
	if code != 0 || !strings.HasPrefix(out, "digraph") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
