package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/telemetry"
)

var update = flag.Bool("update", false, "rewrite the golden testdata/*.golden files")

// The testdata/*.json traces are OTLP/JSON (resourceSpans -> scopeSpans ->
// spans, ids in hex, kinds and status codes as their proto numbers); spans
// arrive in file order.
type otlpTraces struct {
	Description   string `json:"description"`
	ResourceSpans []struct {
		Resource struct {
			Attributes []otlpKeyValue `json:"attributes"`
		} `json:"resource"`
		ScopeSpans []struct {
			Scope struct {
				Name string `json:"name"`
			} `json:"scope"`
			Spans []otlpSpan `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

type otlpSpan struct {
	TraceID      string         `json:"traceId"`
	SpanID       string         `json:"spanId"`
	ParentSpanID string         `json:"parentSpanId"`
	Name         string         `json:"name"`
	Kind         int            `json:"kind"`
	Start        string         `json:"startTimeUnixNano"`
	End          string         `json:"endTimeUnixNano"`
	Attributes   []otlpKeyValue `json:"attributes"`
	Status       struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
}

type otlpKeyValue struct {
	Key   string `json:"key"`
	Value struct {
		String *string  `json:"stringValue"`
		Int    *string  `json:"intValue"`
		Bool   *bool    `json:"boolValue"`
		Double *float64 `json:"doubleValue"`
	} `json:"value"`
}

func (kv otlpKeyValue) attr() (attribute.KeyValue, error) {
	v := kv.Value
	switch {
	case v.String != nil:
		return attribute.String(kv.Key, *v.String), nil
	case v.Int != nil:
		n, err := strconv.ParseInt(*v.Int, 10, 64)
		return attribute.Int64(kv.Key, n), err
	case v.Bool != nil:
		return attribute.Bool(kv.Key, *v.Bool), nil
	case v.Double != nil:
		return attribute.Float64(kv.Key, *v.Double), nil
	}
	return attribute.KeyValue{}, fmt.Errorf("attribute %s: no value", kv.Key)
}

// readTraces turns a testdata file into read-only spans in arrival order.
func readTraces(t *testing.T, path string) []sdktrace.ReadOnlySpan {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in otlpTraces
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []sdktrace.ReadOnlySpan
	for _, rs := range in.ResourceSpans {
		var rattrs []attribute.KeyValue
		for _, kv := range rs.Resource.Attributes {
			a, err := kv.attr()
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			rattrs = append(rattrs, a)
		}
		res := resource.NewSchemaless(rattrs...)
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				out = append(out, s.stub(t, path, res).Snapshot())
			}
		}
	}
	return out
}

func (s otlpSpan) stub(t *testing.T, path string, res *resource.Resource) tracetest.SpanStub {
	t.Helper()
	fail := func(err error) {
		if err != nil {
			t.Fatalf("%s: span %s: %v", path, s.SpanID, err)
		}
	}
	tid, err := trace.TraceIDFromHex(s.TraceID)
	fail(err)
	sid, err := trace.SpanIDFromHex(s.SpanID)
	fail(err)
	var parent trace.SpanContext
	if s.ParentSpanID != "" {
		pid, err := trace.SpanIDFromHex(s.ParentSpanID)
		fail(err)
		parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: pid, TraceFlags: trace.FlagsSampled, Remote: true})
	}
	nanos := func(v string) time.Time {
		n, err := strconv.ParseInt(v, 10, 64)
		fail(err)
		return time.Unix(0, n).UTC()
	}
	stub := tracetest.SpanStub{
		Name:        s.Name,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
		Parent:      parent,
		SpanKind:    trace.SpanKind(s.Kind), // OTLP numbers its kinds as the Go API does
		StartTime:   nanos(s.Start),
		EndTime:     nanos(s.End),
		Resource:    res,
	}
	if s.Status.Code == 2 {
		stub.Status = sdktrace.Status{Code: codes.Error, Description: s.Status.Message}
	}
	for _, kv := range s.Attributes {
		a, err := kv.attr()
		fail(err)
		stub.Attributes = append(stub.Attributes, a)
	}
	return stub
}

// goldenModes are the rule sets every testdata trace is run through.
var goldenModes = []struct {
	name string
	opts []graph.SpanBuilderOption
}{
	{"defaults", nil},
	{"connector", []graph.SpanBuilderOption{graph.WithParentChild(false)}},
	{"stdio", telemetry.StdioSpanGraph},
}

type goldenLatency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	Max   float64 `json:"max_ms"`
}

type goldenEdge struct {
	Source string         `json:"source"`
	Target string         `json:"target"`
	Calls  int64          `json:"calls"`
	Failed int64          `json:"failed"`
	Client *goldenLatency `json:"client,omitempty"`
	Server *goldenLatency `json:"server,omitempty"`
}

type goldenGraph struct {
	Nodes []string        `json:"nodes"`
	Edges []goldenEdge    `json:"edges"`
	Stats graph.SpanStats `json:"stats"`
}

func summarize(l graph.Latency) *goldenLatency {
	if l.Count == 0 {
		return nil
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return &goldenLatency{Count: l.Count, P50: ms(l.Quantile(0.5)), Max: ms(l.Max)}
}

// buildGolden runs spans, in order, through a SpanStore whose observer is a
// SpanBuilder with opts, settles what is pending, and returns the graph.
func buildGolden(spans []sdktrace.ReadOnlySpan, opts []graph.SpanBuilderOption) goldenGraph {
	g := graph.New()
	b := graph.NewSpanBuilder(g, opts...)
	store := exporters.NewSpanStore(exporters.WithSpanObserver(b))
	for _, s := range spans {
		_ = store.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{s})
	}
	b.Flush()
	out := goldenGraph{Nodes: g.Nodes(), Edges: []goldenEdge{}, Stats: b.Stats()}
	for _, e := range g.Edges() {
		out.Edges = append(out.Edges, goldenEdge{
			Source: e.Source, Target: e.Target, Calls: e.Calls, Failed: e.Errors,
			Client: summarize(e.ClientLatency), Server: summarize(e.ServerLatency),
		})
	}
	return out
}

func TestSpanGraphGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.json")
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			spans := readTraces(t, in)
			var buf bytes.Buffer
			for _, m := range goldenModes {
				got, err := json.Marshal(buildGolden(spans, m.opts))
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&buf, "%s: %s\n", m.name, got)
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("graph of %s differs from %s\n got:\n%s\nwant:\n%s", in, path, buf.Bytes(), want)
			}
		})
	}
}
