package jaegertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// DefaultWait bounds the WaitFor* helpers.
const DefaultWait = 30 * time.Second

// Poll calls cond until it returns nil or timeout passes, backing off from
// 10ms to 250ms between calls. Each call gets a context that ends at the
// deadline. It returns nil, or cond's last error wrapped with the timeout.
func Poll(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 10 * time.Millisecond
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met within %s: %w", timeout, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

// Eventually is Poll that fails the test (t.Fatalf) on timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func(ctx context.Context) error) {
	t.Helper()
	if err := Poll(context.Background(), timeout, cond); err != nil {
		t.Fatalf("jaegertest: %v", err)
	}
}

// WaitForServices waits until /api/services lists every name, and returns
// the full list.
func (j *Jaeger) WaitForServices(t testing.TB, names ...string) []string {
	t.Helper()
	var got []string
	Eventually(t, DefaultWait, func(ctx context.Context) error {
		s, err := j.Services(ctx)
		if err != nil {
			return err
		}
		got = s
		for _, n := range names {
			if !slices.Contains(s, n) {
				return fmt.Errorf("services %v lack %q", s, n)
			}
		}
		return nil
	})
	return got
}

// WaitForTrace waits until the trace exists and check (if not nil) accepts
// it, e.g. until it has all its spans.
func (j *Jaeger) WaitForTrace(t testing.TB, traceID string, check func(*Trace) error) *Trace {
	t.Helper()
	var tr *Trace
	Eventually(t, DefaultWait, func(ctx context.Context) error {
		var err error
		tr, err = j.Trace(ctx, traceID)
		if err != nil {
			return err
		}
		if check != nil {
			return check(tr)
		}
		return nil
	})
	return tr
}

// WaitForDependency waits until the dependencies of the last hour hold the
// edge parent -> child, and returns that link.
func (j *Jaeger) WaitForDependency(t testing.TB, parent, child string) DependencyLink {
	t.Helper()
	var link DependencyLink
	Eventually(t, DefaultWait, func(ctx context.Context) error {
		deps, err := j.Dependencies(ctx, time.Now().Add(time.Minute), time.Hour+time.Minute)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if d.Parent == parent && d.Child == child {
				link = d
				return nil
			}
		}
		return fmt.Errorf("dependencies %+v lack %s -> %s", deps, parent, child)
	})
	return link
}

// WaitForSample waits until the Prometheus exporter shows a sample called
// name with all the labels in want, and check (if not nil) accepts it.
func (j *Jaeger) WaitForSample(t testing.TB, name string, want map[string]string, check func(Sample) error) Sample {
	t.Helper()
	var found Sample
	Eventually(t, DefaultWait, func(ctx context.Context) error {
		text, err := j.ScrapeMetrics(ctx)
		if err != nil {
			return err
		}
		all := Samples(text, name)
		s, ok := Find(all, name, want)
		if !ok {
			return fmt.Errorf("no sample %s%v among %v", name, want, all)
		}
		found = s
		if check != nil {
			return check(s)
		}
		return nil
	})
	return found
}

// WaitForLog waits until a received log record satisfies match and returns it.
func (j *Jaeger) WaitForLog(t testing.TB, match func(LogRecord) bool) LogRecord {
	t.Helper()
	var found LogRecord
	Eventually(t, DefaultWait, func(context.Context) error {
		logs := j.Logs()
		for _, r := range logs {
			if match(r) {
				found = r
				return nil
			}
		}
		var b strings.Builder
		for _, r := range logs {
			b.WriteString("\n  " + r.String())
		}
		j.sink.mu.Lock()
		errs := j.sink.errs
		j.sink.mu.Unlock()
		return fmt.Errorf("no matching log record among %d:%s (sink errors: %v)", len(logs), b.String(), errs)
	})
	return found
}
