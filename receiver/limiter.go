package receiver

import "sync/atomic"

// limiter bounds the requests a transport works on at once. It never blocks
// and never queues: a request over the bound is refused as retryable.
type limiter struct {
	n   atomic.Int64
	max int64
}

// acquire takes a slot if one is free.
func (l *limiter) acquire() bool {
	if l.n.Add(1) > l.max {
		l.n.Add(-1)
		return false
	}
	return true
}

// release frees a slot taken by acquire.
func (l *limiter) release() { l.n.Add(-1) }

// slot is a limiter slot that may be released from two places (the handler,
// and the end of its gRPC stream when no handler ran) but frees once.
type slot struct {
	lim  *limiter
	done atomic.Bool
	stop func() bool
}

func (s *slot) release() {
	if s.done.CompareAndSwap(false, true) {
		s.lim.release()
	}
}
