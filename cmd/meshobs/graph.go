package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/meshobs/meshobs"
	"github.com/meshobs/meshobs/exporters/outbound"
)

// graphFormats are the outputs of `meshobs graph`, with the generate
// request that produces each one.
var graphFormats = map[string]string{
	"json":    `{"type":"generate","detail":true}`,
	"dot":     `{"type":"generate","detail":true,"format":"dot"}`,
	"mermaid": `{"type":"generate","detail":true,"format":"mermaid"}`,
	"svg":     `{"type":"generate","detail":true,"format":"dot"}`,
}

// runGraph is `meshobs graph`: it replays a protocol stream through a node
// and writes the resulting service graph. The stream goes through the same
// node and pipeline as on stdio, then one generate request is appended and
// its reply is what gets written.
func runGraph(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("meshobs graph", flag.ContinueOnError)
	format := fs.String("format", "json", "output `format`: json, dot, mermaid, or svg (needs Graphviz dot on the PATH)")
	outPath := fs.String("o", "", "write the graph to `FILE` instead of stdout")
	configPath := fs.String("config", "", "configuration `file`: its graph rules and limits apply (default: the built-in config.yaml)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: meshobs graph [-format json|dot|mermaid|svg] [-o FILE] [--config FILE] [FILE]\n\n"+
			"Reads a protocol stream (FILE, or stdin when FILE is absent or -) and writes\n"+
			"the service graph it describes, with requests, errors and latency per edge.\n"+
			"Flags may come before or after FILE. Exits 1 when every request was rejected.\n\n")
		fs.PrintDefaults()
	}
	// Flags may follow the file, as in `meshobs graph demo.jsonl -format dot`.
	var files []string
	for {
		if code, done := parseFlags(fs, args, stdout, stderr); done {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	req, ok := graphFormats[*format]
	if !ok {
		fmt.Fprintf(stderr, "meshobs graph: -format must be json, dot, mermaid or svg, not %q\n", *format)
		return 2
	}
	if len(files) > 1 {
		fmt.Fprintf(stderr, "meshobs graph: one input file at most, not %d: %s\n", len(files), strings.Join(files, " "))
		return 2
	}
	cfg, code := loadConfig("meshobs graph", *configPath, stderr)
	if code != 0 {
		return code
	}
	var dotPath string
	if *format == "svg" {
		var err error
		if dotPath, err = exec.LookPath("dot"); err != nil {
			fmt.Fprintln(stderr, "meshobs graph: -format svg needs Graphviz dot on the PATH (Debian: apt-get install graphviz); -format dot writes its input")
			return 1
		}
	}

	in := stdin
	if len(files) == 1 && files[0] != "-" {
		f, err := os.Open(files[0])
		if err != nil {
			fmt.Fprintf(stderr, "meshobs graph: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	reply, usable, err := replay(in, req, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "meshobs graph: %v\n", err)
		return 1
	}
	if !usable {
		fmt.Fprintln(stderr, "meshobs graph: no request of the input was accepted: no graph")
		return 1
	}

	write := func(w io.Writer) error { return writeGraph(w, *format, reply, dotPath, stderr) }
	if *outPath == "" {
		err = write(stdout)
	} else {
		err = writeFile(*outPath, write)
	}
	if err != nil {
		fmt.Fprintf(stderr, "meshobs graph: %v\n", err)
		return 1
	}
	return 0
}

// replay runs the stream and then req through a node of an instance built
// from cfg, as the stdio node would be, and returns req's reply. usable is
// false when the stream had requests and every one was rejected. The
// network parts of cfg (exporters) are left off: this is an offline tool.
func replay(in io.Reader, req string, cfg meshobs.Config, stderr io.Writer) (reply []byte, usable bool, err error) {
	cfg.Exporters = outbound.Config{}
	inst, err := meshobs.New(cfg, meshobs.WithStderr(stderr))
	if err != nil {
		return nil, false, err
	}
	defer func() {
		ctx, cancel := inst.ShutdownTimeout()
		defer cancel()
		_ = inst.Shutdown(ctx)
	}()
	var tail replyTail
	// The leading newline ends a last line the stream left unterminated.
	if err := inst.Node().Run(context.Background(), io.MultiReader(in, strings.NewReader("\n"+req+"\n")), &tail); err != nil {
		return nil, false, err
	}
	requests := tail.lines - 1
	if tail.errors > 0 {
		fmt.Fprintf(stderr, "meshobs graph: %d of %d requests rejected; the first (non-blank line %d): %s\n",
			tail.errors, requests, tail.firstErrorAt, tail.firstError)
	}
	return tail.last, requests == 0 || tail.errors < requests, nil
}

// writeGraph writes the generate reply in format.
func writeGraph(out io.Writer, format string, reply []byte, dotPath string, stderr io.Writer) error {
	if format == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, reply, "", "  "); err != nil {
			return fmt.Errorf("reading the graph: %w", err)
		}
		buf.WriteByte('\n')
		_, err := buf.WriteTo(out)
		return err
	}
	var g struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(reply, &g); err != nil || g.Text == nil {
		return fmt.Errorf("unexpected reply to generate: %s", reply)
	}
	if format != "svg" {
		_, err := io.WriteString(out, *g.Text)
		return err
	}
	cmd := exec.Command(dotPath, "-Tsvg")
	cmd.Stdin = strings.NewReader(*g.Text)
	cmd.Stdout, cmd.Stderr = out, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dot -Tsvg: %w", err)
	}
	return nil
}

// replyTail is the node's output as `meshobs graph` needs it: the last
// reply line, and how many replies were errors.
type replyTail struct {
	cur, last    []byte
	lines        int
	errors       int
	firstErrorAt int
	firstError   string
}

func (w *replyTail) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.cur = append(w.cur, p...)
			break
		}
		w.cur = append(w.cur, p[:i]...)
		w.endLine()
		p = p[i+1:]
	}
	return n, nil
}

func (w *replyTail) endLine() {
	w.lines++
	w.last, w.cur = w.cur, w.last[:0]
	if !bytes.HasPrefix(w.last, []byte(`{"type":"error"`)) && !bytes.Contains(w.last, []byte(`"body":{"type":"error"`)) {
		return
	}
	w.errors++
	if w.errors == 1 {
		var e struct {
			Text string `json:"text"`
			Body *struct {
				Text string `json:"text"`
			} `json:"body"`
		}
		_ = json.Unmarshal(w.last, &e)
		if e.Body != nil {
			e.Text = e.Body.Text
		}
		w.firstErrorAt, w.firstError = w.lines, e.Text
	}
}

var _ io.Writer = (*replyTail)(nil)

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(write(f), f.Close())
}
