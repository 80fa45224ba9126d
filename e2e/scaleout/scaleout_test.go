package scaleout_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshobs/meshobs/e2e/tooltest"
)

// nodeAddrs are the checked-in addresses of the three nodes: OTLP/gRPC,
// HTTP API and Prometheus.
var nodeAddrs = []struct{ name, grpc, api, prom string }{
	{"meshobs-n1", "127.0.0.1:14317", "127.0.0.1:14319", "127.0.0.1:19464"},
	{"meshobs-n2", "127.0.0.1:24317", "127.0.0.1:24319", "127.0.0.1:29464"},
	{"meshobs-n3", "127.0.0.1:34317", "127.0.0.1:34319", "127.0.0.1:39464"},
}

// series is what the test compares: one value per label set.
type series map[string]float64

// key renders the labels of a sample that matter, in order.
func key(labels map[string]string, names ...string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + labels[n]
	}
	return strings.Join(parts, ",")
}

// sumBy adds a node's samples up by the given labels, as PromQL's sum by.
func sumBy(samples []tooltest.Sample, names ...string) series {
	out := series{}
	for _, s := range samples {
		out[key(s.Labels, names...)] += s.Value
	}
	return out
}

func vectorBy(v []tooltest.Sample, names ...string) series { return sumBy(v, names...) }

// equal compares two series sets: the same keys, values equal within a
// relative 1e-9 (float sums added in another order).
func equal(a, b series) error {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if w, ok := b[k]; !ok || math.Abs(a[k]-w) > 1e-9*math.Max(1, math.Abs(w)) {
			diffs = append(diffs, fmt.Sprintf("%s: %v vs %v", k, a[k], b[k]))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: missing vs %v", k, b[k]))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%d differences:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
	}
	return nil
}

// TestScaleOut: traces fanned out by the collector over three meshobs
// nodes make, summed in Prometheus, exactly the service graph one node
// makes of the same spans.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a collector, four meshobs nodes and Prometheus")
	}
	tooltest.Binary(t, tooltest.Otelcol) // skip (fail under CI) before starting anything
	tooltest.Binary(t, tooltest.Prometheus)

	// The checked-in configurations, on free ports.
	p := newPorts(t)
	nodeCfgs := make([]string, len(nodeAddrs))
	for i, n := range nodeAddrs {
		nodeCfgs[i] = p.rewrite(readDeploy(t, n.name+".yaml"))
	}
	collectorCfg := p.rewrite(readDeploy(t, "otelcol.yaml"))
	promCfg := p.rewrite(readDeploy(t, "prometheus.yml"))
	if !strings.Contains(promCfg, "scrape_interval: 15s") {
		t.Fatalf("prometheus.yml: no global scrape_interval: 15s to shorten:\n%s", promCfg)
	}
	promCfg = strings.Replace(promCfg, "scrape_interval: 15s", "scrape_interval: 500ms", 1)
	// The single node the three are compared with: node 1's config on ports of its own.
	ref := newPorts(t)
	refCfg := ref.rewrite(readDeploy(t, "meshobs-n1.yaml"))

	nodes := make([]*meshobsNode, len(nodeAddrs))
	for i, n := range nodeAddrs {
		nodes[i] = startMeshobs(t, n.name, nodeCfgs[i], p.of(n.grpc), p.of(n.api), p.of(n.prom))
	}
	n1 := nodeAddrs[0]
	single := startMeshobs(t, "meshobs-single", refCfg, ref.of(n1.grpc), ref.of(n1.api), ref.of(n1.prom))
	tooltest.StartOtelcol(t, tooltest.OtelcolOptions{Config: collectorCfg})
	prom := startPrometheus(t, promCfg)

	m := genMesh(200)
	wantTotal := 0
	for _, n := range m.calls {
		wantTotal += n
	}
	ctx := t.Context()
	if err := m.send(ctx, p.of("127.0.0.1:4317"), 25); err != nil {
		t.Fatal(err)
	}
	if err := m.send(ctx, single.grpc, 25); err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d traces, %d spans, %d calls on %d edges", len(m.traces), m.spans, wantTotal, len(m.calls))

	// Wait for every call on the single node and in Prometheus (the
	// collector forwards asynchronously; Prometheus scrapes every 500ms).
	tooltest.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		s, err := single.scrape(ctx, "traces_service_graph_request_total")
		if err != nil {
			return err
		}
		if got, _ := tooltest.Sum(s, "traces_service_graph_request_total", nil); got != float64(wantTotal) {
			return fmt.Errorf("single node: %v calls, want %d", got, wantTotal)
		}
		v, err := prom.query(ctx, `sum(traces_service_graph_request_total)`)
		if err != nil {
			return err
		}
		if len(v) != 1 || v[0].Value != float64(wantTotal) {
			return fmt.Errorf("prometheus: %v, want %d calls", v, wantTotal)
		}
		return nil
	})

	// What the generator made, edge by edge.
	wantCalls, wantFailed := series{}, series{}
	for e, n := range m.calls {
		k := key(map[string]string{"client": e.client, "server": e.server, "connection_type": e.typ}, "client", "server", "connection_type")
		wantCalls[k], wantFailed[k] = float64(n), float64(m.failed[e])
	}

	edgeLabels := []string{"client", "server", "connection_type"}
	for _, c := range []struct {
		metric, promql string
		labels         []string
		want           series // the generator's, when it knows
	}{
		{"traces_service_graph_request_total", "", edgeLabels, wantCalls},
		{"traces_service_graph_request_failed_total", "", edgeLabels, wantFailed},
		{"traces_service_graph_request_server_seconds_count", "", edgeLabels, nil},
		{"traces_service_graph_request_server_seconds_sum", "", edgeLabels, nil},
		{"traces_service_graph_request_server_seconds_bucket", "", append(edgeLabels, "le"), nil},
		{"traces_service_graph_request_client_seconds_count", "", edgeLabels, nil},
		{"traces_service_graph_request_client_seconds_sum", "", edgeLabels, nil},
		{"traces_service_graph_request_client_seconds_bucket", "", append(edgeLabels, "le"), nil},
		{"traces_spanmetrics_calls_total", "", []string{"service", "span_name", "span_kind", "status_code"}, nil},
	} {
		t.Run(c.metric, func(t *testing.T) {
			s, err := single.scrape(ctx, c.metric)
			if err != nil {
				t.Fatal(err)
			}
			one := sumBy(s, c.labels...)
			v, err := prom.query(ctx, fmt.Sprintf("sum by (%s) (%s)", strings.Join(c.labels, ", "), c.metric))
			if err != nil {
				t.Fatal(err)
			}
			three := vectorBy(v, c.labels...)
			if len(one) == 0 {
				t.Fatalf("the single node has no %s", c.metric)
			}
			if err := equal(three, one); err != nil {
				t.Errorf("%s summed over three nodes vs one node: %v", c.metric, err)
			}
			if c.want != nil {
				if err := equal(one, c.want); err != nil {
					t.Errorf("%s of the single node vs the generator: %v", c.metric, err)
				}
			}
		})
	}

	// And the single node's own graph (generate, over its HTTP API) is the
	// same, edge for edge: what the metrics summed over three nodes say.
	t.Run("generate", func(t *testing.T) {
		edges, err := single.graph(ctx)
		if err != nil {
			t.Fatal(err)
		}
		calls, failed := series{}, series{}
		for _, e := range edges {
			k := key(map[string]string{"client": e.Source, "server": e.Target}, "client", "server")
			calls[k], failed[k] = float64(e.RequestCount), float64(e.ErrorCount)
		}
		for _, c := range []struct {
			metric string
			want   series
		}{
			{"traces_service_graph_request_total", calls},
			{"traces_service_graph_request_failed_total", failed},
		} {
			v, err := prom.query(ctx, "sum by (client, server) ("+c.metric+")")
			if err != nil {
				t.Fatal(err)
			}
			if err := equal(vectorBy(v, "client", "server"), c.want); err != nil {
				t.Errorf("%s summed over three nodes vs the single node's generate: %v", c.metric, err)
			}
		}
	})

	// The collector spread the traces: every node counted some of the calls,
	// none all of them.
	v, err := prom.query(ctx, `sum by (node) (traces_spanmetrics_calls_total)`)
	if err != nil {
		t.Fatal(err)
	}
	perNode := vectorBy(v, "node")
	total := 0.0
	for n, x := range perNode {
		if x == 0 || x == float64(m.spans) {
			t.Errorf("%s holds %v of %d spans", n, x, m.spans)
		}
		total += x
	}
	if len(perNode) != 3 || total != float64(m.spans) {
		t.Errorf("spans per node %v, want 3 nodes adding up to %d", perNode, m.spans)
	}
	t.Logf("spans per node: %v", perNode)
}
