package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const demo = "../../examples/demo.jsonl"

// needDot fails in CI (env CI set), where test.sh installs Graphviz, and
// skips elsewhere when dot is not on the PATH.
func needDot(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("dot"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Graphviz dot is not on the PATH; test.sh installs it (apt-get install graphviz)")
		}
		t.Skip("Graphviz dot is not on the PATH; ./test.sh installs it")
	}
}

// runGraphCmd runs `meshobs graph args...` with stdin and returns its outputs and exit code.
func runGraphCmd(t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"graph"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	if env != nil {
		cmd.Env = env
	}
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

func TestGraphCommand(t *testing.T) {
	demoInput, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		check  func(t *testing.T, out string)
		svg    bool
		stderr string
	}{
		{name: "json from a file", args: []string{demo}, check: func(t *testing.T, out string) {
			var g struct {
				Type  string
				Nodes []string
				Edges []struct {
					Source, Target string
					RequestCount   int64                  `json:"request_count"`
					ErrorCount     *int64                 `json:"error_count"`
					Latency        *struct{ P95 float64 } `json:"latency_ms"`
				}
			}
			if err := json.Unmarshal([]byte(out), &g); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if g.Type != "service_graph" || strings.Join(g.Nodes, ",") != "frontend,catalog,cart,postgres,redis" || len(g.Edges) != 4 {
				t.Fatalf("graph %+v", g)
			}
			for _, e := range g.Edges {
				if e.ErrorCount == nil || e.Latency == nil || e.Latency.P95 <= 0 {
					t.Errorf("edge %+v lacks detail", e)
				}
			}
		}},
		{name: "dot from stdin", args: []string{"-format", "dot"}, stdin: string(demoInput), check: func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "digraph meshobs {") || !strings.Contains(out, `label="3 req\n33.3% err\np95 830 ms"`) {
				t.Errorf("dot output:\n%s", out)
			}
		}},
		{name: "mermaid from stdin as -", args: []string{"-format", "mermaid", "-"}, stdin: string(demoInput), check: func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "flowchart LR\n") || !strings.Contains(out, `-->|"2 req<br>50% err<br>p95 812 ms"|`) {
				t.Errorf("mermaid output:\n%s", out)
			}
		}},
		{name: "svg", args: []string{"-format", "svg", demo}, svg: true},
		{name: "unterminated last line and rejected lines", args: []string{"-format", "dot"},
			stdin: "not json\n" + `{"type":"record","service":"a","target":"b","duration_ms":1,"status":200}`,
			check: func(t *testing.T, out string) {
				if !strings.Contains(out, `label="1 req\n0% err\np95 1 ms"`) {
					t.Errorf("dot output:\n%s", out)
				}
			}, stderr: "1 of 2 requests rejected; the first (non-blank line 1): invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.svg {
				needDot(t)
			}
			out, stderr, code := runGraphCmd(t, tt.stdin, nil, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
			if tt.svg {
				checkSVG(t, []byte(out))
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

func checkSVG(t *testing.T, svg []byte) {
	t.Helper()
	var doc struct {
		XMLName xml.Name
	}
	if err := xml.Unmarshal(svg, &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("not an SVG document (%v):\n%.300s", err, svg)
	}
	for _, s := range []string{">frontend<", ">postgres<", ">p95 830 ms<"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("SVG lacks %s", s)
		}
	}
}

func TestGraphCommandWritesFile(t *testing.T) {
	needDot(t)
	path := filepath.Join(t.TempDir(), "g.svg")
	out, stderr, code := runGraphCmd(t, "", nil, "-format", "svg", "-o", path, demo)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	svg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, svg)
}

func TestGraphCommandFailures(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    []string
		code   int
		stderr string
	}{
		{"unknown format", []string{"-format", "png", demo}, nil, 2, `-format must be json, dot, mermaid or svg, not "png"`},
		{"two files", []string{demo, demo}, nil, 2, "one input file at most"},
		{"every request rejected", []string{"testdata/rejected.jsonl"}, nil, 1, "no request of the input was accepted"},
		{"missing file", []string{"no/such/file.jsonl"}, nil, 1, "no such file"},
		{"svg without dot", []string{"-format", "svg", demo}, []string{"PATH=" + t.TempDir()}, 1, "needs Graphviz dot on the PATH"},
		{"unwritable output", []string{"-o", filepath.Join(t.TempDir(), "no", "dir", "g.json"), demo}, nil, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := runGraphCmd(t, "", tt.env, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d naming %q", code, out, stderr, tt.code, tt.stderr)
			}
		})
	}
}
