package tooltest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meshobs/meshobs/e2e/jaegertest"
	"github.com/meshobs/meshobs/e2e/tooltest"
)

// TestHotRODSpansReachJaeger starts HotROD exporting to a real Jaeger,
// dispatches a car and checks through Jaeger's API that the request's trace
// arrived and that exactly HotROD's six services reported spans.
func TestHotRODSpansReachJaeger(t *testing.T) {
	j := jaegertest.Start(t, jaegertest.Options{})
	h := tooltest.StartHotROD(t, tooltest.HotRODOptions{
		OTLPEndpoint: j.OTLPHTTPURL(),
		Args:         []string{"--fix-db-query-delay=20ms"},
	})
	var addrs []string
	for _, p := range h.Ports() {
		addrs = append(addrs, tooltest.Loopback(p))
	}
	checkListeners(t, h.Process, addrs...)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	d, err := h.Dispatch(ctx, 123)
	if err != nil {
		t.Fatal(err)
	}
	if d.Driver == "" || d.ETA <= 0 || len(d.TraceID) != 32 {
		t.Fatalf("dispatch = %+v, want a driver, an ETA and a trace id", d)
	}
	if _, err := h.Dispatch(ctx, -1); err == nil {
		t.Error("dispatch for an unknown customer did not fail")
	}

	services := j.WaitForServices(t, tooltest.HotRODServices...)
	slices.Sort(services)
	if !slices.Equal(services, tooltest.HotRODServices) {
		t.Errorf("jaeger reports services %v, want exactly %v", services, tooltest.HotRODServices)
	}
	// The dispatch's trace spans all six services once HotROD's batchers
	// have flushed (each service exports on its own, every second).
	tr := j.WaitForTrace(t, d.TraceID, func(tr *jaegertest.Trace) error {
		seen := map[string]bool{}
		for _, s := range tr.Spans {
			seen[s.ServiceName] = true
		}
		for _, s := range tooltest.HotRODServices {
			if !seen[s] {
				return fmt.Errorf("trace %s has %d spans, none from %s yet", d.TraceID, len(tr.Spans), s)
			}
		}
		return nil
	})
	if root, ok := tr.SpanByName("/dispatch"); !ok || root.ServiceName != "frontend" || root.ParentSpanID() != "" {
		names := make([]string, 0, len(tr.Spans))
		for _, s := range tr.Spans {
			names = append(names, s.ServiceName+":"+s.OperationName)
		}
		t.Errorf("no root span /dispatch from frontend among %v", names)
	}
}
