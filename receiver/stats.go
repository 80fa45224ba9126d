package receiver

import "sync"

// Stat counts the items one transport of a receiver received for one signal:
// spans, log records or metric data points. Received = Accepted + Refused
// always holds. Items of a request refused before it was decoded (auth, size,
// content type, concurrency bound) are unknown and not counted.
type Stat struct {
	// Receiver is the receiver's name: "otlp".
	Receiver string `json:"receiver"`
	// Transport is "grpc" or "http".
	Transport string `json:"transport"`
	// Signal is "traces", "logs" or "metrics".
	Signal string `json:"signal"`
	// Received is every item decoded.
	Received int64 `json:"received"`
	// Accepted is the items the consumer took.
	Accepted int64 `json:"accepted"`
	// Refused is the items refused: the whole request (consumer unavailable or
	// failed, receiver stopping) or its partial-success rejections.
	Refused int64 `json:"refused"`
}

// transport indexes the counters of one transport.
type transport int

const (
	transportGRPC transport = iota
	transportHTTP
	numTransports
)

func (t transport) String() string {
	if t == transportGRPC {
		return "grpc"
	}
	return "http"
}

// signal indexes the counters of one signal.
type signal int

const (
	signalTraces signal = iota
	signalLogs
	signalMetrics
	numSignals
)

func (s signal) String() string {
	switch s {
	case signalTraces:
		return "traces"
	case signalLogs:
		return "logs"
	}
	return "metrics"
}

// counters holds every transport's and signal's counts under one mutex, so a
// request's received, accepted and refused are added in one step and a reader
// never sees them disagree.
type counters struct {
	mu sync.Mutex
	c  [numTransports][numSignals]struct{ received, accepted, refused int64 }
}

func (c *counters) add(t transport, s signal, accepted, refused int64) {
	c.mu.Lock()
	e := &c.c[t][s]
	e.received += accepted + refused
	e.accepted += accepted
	e.refused += refused
	c.mu.Unlock()
}

// snapshot returns the counts of the enabled transports, grpc first, each in
// signal order (traces, logs, metrics); never nil.
func (c *counters) snapshot(enabled [numTransports]bool) []Stat {
	out := make([]Stat, 0, int(numTransports)*int(numSignals))
	c.mu.Lock()
	defer c.mu.Unlock()
	for t := range numTransports {
		if !enabled[t] {
			continue
		}
		for s := range numSignals {
			e := c.c[t][s]
			out = append(out, Stat{
				Receiver: "otlp", Transport: t.String(), Signal: s.String(),
				Received: e.received, Accepted: e.accepted, Refused: e.refused,
			})
		}
	}
	return out
}
