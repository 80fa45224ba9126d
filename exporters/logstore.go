package exporters

import (
	"context"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/semconv"
)

var (
	_ sdklog.Processor = (*LogStore)(nil)
	_ sdklog.Exporter  = (*LogStore)(nil)
)

// DefaultRetention is the number of newest records or spans a store keeps by default.
const DefaultRetention = 100_000

// AccessLog is one access-log entry: a request seen by a sidecar.
type AccessLog struct {
	// Timestamp is when the request happened (the log record's timestamp).
	Timestamp time.Time
	// Observed is when the store's pipeline saw it (the observed timestamp).
	Observed time.Time
	// Service is the reporting service (the record's resource service.name).
	Service string
	// Source and Target are the request's edge; both are empty when it has none.
	Source, Target string
	// Method, Path and Protocol describe the request when the reporter gave them.
	Method, Path, Protocol string
	// Status is the HTTP status code.
	Status int
	// DurationMs is the request's duration in milliseconds.
	DurationMs float64
	// TraceID correlates the entry with a trace; zero when not given.
	TraceID trace.TraceID
	// SpanID correlates the entry with a span; zero when not given.
	SpanID trace.SpanID
	// Side is which end of the edge reported the entry: its duration is the
	// caller's (client) or the callee's (server) view of the call.
	// SideUnknown when the entry has no edge or the side cannot be told.
	Side Side
}

// Side is which end of a call reported an access-log entry.
type Side uint8

// The sides.
const (
	// SideUnknown: no edge, or neither end is known to be the reporter.
	SideUnknown Side = iota
	// SideClient: the reporting service is the caller.
	SideClient
	// SideServer: the reporting service is the callee.
	SideServer
)

// String returns "client", "server" or "" (unknown): the values of the
// semconv.Side attribute.
func (s Side) String() string {
	switch s {
	case SideClient:
		return "client"
	case SideServer:
		return "server"
	}
	return ""
}

// SideOf is the side an entry's ends imply when no semconv.Side attribute
// says otherwise: the caller's when the reporting service is the edge's
// source (a self-call included), the callee's when it is the target;
// SideUnknown for an entry without an edge or reported by a third service.
func SideOf(service, source, target string) Side {
	switch {
	case source == "" || target == "":
		return SideUnknown
	case service == source:
		return SideClient
	case service == target:
		return SideServer
	}
	return SideUnknown
}

// sideOf returns the side a semconv.Side value names, else SideOf's.
func sideOf(attr string, a *AccessLog) Side {
	switch {
	case !a.HasEdge():
		return SideUnknown
	case attr == "client":
		return SideClient
	case attr == "server":
		return SideServer
	}
	return SideOf(a.Service, a.Source, a.Target)
}

// HasEdge reports whether the entry names both ends of a call.
func (a *AccessLog) HasEdge() bool { return a.Source != "" && a.Target != "" }

// LogFilter selects access-log entries. Zero fields match everything.
type LogFilter struct {
	// Source and Target select the edge's ends.
	Source, Target string
	// Status selects one HTTP status code.
	Status int
	// StatusClass selects a class: 2 for 2xx, 5 for 5xx.
	StatusClass int
}

// MatchPair reports whether an entry with this edge passes the filter's
// Source and Target.
func (f *LogFilter) MatchPair(source, target string) bool {
	return (f.Source == "" || f.Source == source) && (f.Target == "" || f.Target == target)
}

// MatchStatus reports whether an entry with this status passes the
// filter's Status and StatusClass.
func (f *LogFilter) MatchStatus(status int) bool {
	return (f.Status == 0 || f.Status == status) && (f.StatusClass == 0 || f.StatusClass == status/100)
}

// AccessLogObserver is told of every access-log entry a LogStore ingests, in
// ingest order, while the store holds its lock: it must not call back into the store.
type AccessLogObserver interface {
	ObserveAccessLog(AccessLog)
}

// LogStore captures access-log records emitted through the OTel Logs SDK.
//
// Register it as a processor (synchronous, cheapest) with
// sdklog.WithProcessor(store), or behind any processor as an exporter.
// Records whose event name is not semconv.AccessLogEventName are ignored.
// The newest entries are kept in a ring of fixed capacity; aggregates over
// every entry are its observer's business (meshobs's is the service graph).
type LogStore struct {
	mu       sync.Mutex
	entries  *ring[logEntry]
	text     textArena // the entries' strings
	names    serviceNames
	observer AccessLogObserver
}

// LogStoreOption configures a LogStore.
type LogStoreOption func(*LogStore)

// WithLogCapacity sets how many of the newest entries are kept (default DefaultRetention).
func WithLogCapacity(n int) LogStoreOption {
	return func(s *LogStore) { s.entries = newRing[logEntry](n) }
}

// WithAccessLogObserver registers o to be told of every ingested entry.
func WithAccessLogObserver(o AccessLogObserver) LogStoreOption {
	return func(s *LogStore) { s.observer = o }
}

// NewLogStore returns an empty LogStore.
func NewLogStore(opts ...LogStoreOption) *LogStore {
	s := &LogStore{names: serviceNames{}, text: textArena{buf: make([]byte, minTextBytes)}}
	for _, o := range opts {
		o(s)
	}
	if s.entries == nil {
		s.entries = newRing[logEntry](DefaultRetention)
	}
	return s
}

// Enabled reports whether the store wants records: it always does.
func (s *LogStore) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

// OnEmit ingests one record synchronously. It is called by the SDK's Logger.Emit.
func (s *LogStore) OnEmit(_ context.Context, r *sdklog.Record) error {
	if r.EventName() != semconv.AccessLogEventName {
		return nil
	}
	s.mu.Lock()
	s.ingest(r)
	s.mu.Unlock()
	return nil
}

// Export ingests a batch of records; the store does not keep the slice.
func (s *LogStore) Export(_ context.Context, records []sdklog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range records {
		if records[i].EventName() == semconv.AccessLogEventName {
			s.ingest(&records[i])
		}
	}
	return nil
}

// Shutdown does nothing: the captured data stays readable.
func (s *LogStore) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: ingestion is synchronous.
func (s *LogStore) ForceFlush(context.Context) error { return nil }

// ingest must be called with s.mu held.
func (s *LogStore) ingest(r *sdklog.Record) {
	a := AccessLog{
		Timestamp: r.Timestamp(),
		Observed:  r.ObservedTimestamp(),
		Service:   s.names.of(r.Resource()),
		TraceID:   r.TraceID(),
		SpanID:    r.SpanID(),
	}
	var side string
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		switch kv.Key {
		case semconv.Source:
			a.Source = kv.Value.AsString()
		case semconv.Target:
			a.Target = kv.Value.AsString()
		case otelsemconv.HTTPResponseStatusCodeKey:
			a.Status = int(kv.Value.AsInt64())
		case semconv.DurationMs:
			a.DurationMs = kv.Value.AsFloat64()
		case otelsemconv.HTTPRequestMethodKey:
			a.Method = kv.Value.AsString()
		case otelsemconv.URLPathKey:
			a.Path = kv.Value.AsString()
		case otelsemconv.NetworkProtocolNameKey:
			a.Protocol = kv.Value.AsString()
		case semconv.Side:
			side = kv.Value.AsString()
		}
		return true
	})
	a.Side = sideOf(side, &a)
	s.pushLog(&a)
	if s.observer != nil {
		s.observer.ObserveAccessLog(a)
	}
}

// Recent returns up to limit of the newest retained entries matching f,
// oldest first, their times in UTC. Entries without an edge match only a
// filter without Source and Target.
func (s *LogStore) Recent(f LogFilter, limit int) []AccessLog {
	out := make([]AccessLog, 0, min(limit, 1024))
	if limit <= 0 {
		return out
	}
	s.mu.Lock()
	s.entries.newestFirst(func(e *logEntry) bool {
		if f.MatchStatus(int(e.status)) &&
			(f.Source == "" || string(s.field(e, fieldSource)) == f.Source) &&
			(f.Target == "" || string(s.field(e, fieldTarget)) == f.Target) {
			out = append(out, s.accessLog(e))
		}
		return len(out) < limit
	})
	s.mu.Unlock()
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Len returns the number of entries currently retained.
func (s *LogStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries.len()
}
