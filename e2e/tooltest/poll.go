package tooltest

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Poll calls cond until it returns nil or timeout passes, backing off from
// 10ms to 250ms between calls; each call gets a context that ends at the
// deadline. It returns nil, or cond's last error wrapped with the timeout.
func Poll(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for delay := 10 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met within %s: %w", timeout, err)
		case <-time.After(delay):
		}
	}
}

// Eventually is Poll that fails the test on timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func(ctx context.Context) error) {
	t.Helper()
	if err := Poll(context.Background(), timeout, cond); err != nil {
		t.Fatalf("tooltest: %v", err)
	}
}
