package graph_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
)

// TestGraphConcurrentSafe feeds one Graph from many goroutines, as the log
// store and the span builder do from the SDK's goroutines, while others
// read it.
func TestGraphConcurrentSafe(t *testing.T) {
	const writers, perWriter = 8, 1000
	g := graph.New()
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	for range 4 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					g.Nodes()
					g.Edges()
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := fmt.Sprintf("db%d", w%4)
			for i := range perWriter {
				if i%2 == 0 {
					status := 200
					if i%10 == 0 {
						status = 500
					}
					g.ObserveAccessLog(exporters.AccessLog{Service: "api", Source: "api", Target: target, Status: status})
					continue
				}
				g.AddCall(graph.Call{Source: "api", Target: "cache", Failed: i%10 == 1,
					ClientLatency: time.Duration(i) * time.Microsecond, HasClient: true})
			}
		}()
	}
	wg.Wait()
	close(stop)
	rwg.Wait()

	want := map[[2]string][2]int64{ // calls, errors
		{"api", "cache"}: {writers * perWriter / 2, writers * perWriter / 10},
	}
	for w := range 4 {
		// two writers per target, perWriter/2 records each, one in five failing
		want[[2]string{"api", fmt.Sprintf("db%d", w)}] = [2]int64{perWriter, perWriter / 5}
	}
	edges := g.Edges()
	if len(edges) != len(want) {
		t.Fatalf("%d edges: %+v", len(edges), edges)
	}
	for _, e := range edges {
		if w := want[[2]string{e.Source, e.Target}]; e.Calls != w[0] || e.Errors != w[1] {
			t.Fatalf("edge %+v, want calls %d errors %d", e, w[0], w[1])
		}
		if e.Target == "cache" && e.ClientLatency.Count != e.Calls {
			t.Fatalf("edge %s->%s: %d client latencies for %d calls", e.Source, e.Target, e.ClientLatency.Count, e.Calls)
		}
	}
	if n := len(g.Nodes()); n != 6 {
		t.Fatalf("nodes %q", g.Nodes())
	}
}
