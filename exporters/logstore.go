package exporters

import (
	"context"
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

// rateWindow is the number of one-second buckets behind each service's request rate.
const rateWindow = 60

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

func (f *LogFilter) matchPair(source, target string) bool {
	return (f.Source == "" || f.Source == source) && (f.Target == "" || f.Target == target)
}

func (f *LogFilter) matchStatus(status int) bool {
	return (f.Status == 0 || f.Status == status) && (f.StatusClass == 0 || f.StatusClass == status/100)
}

// PairCount is the number of access-log entries on one (source, target) pair.
type PairCount struct {
	// Source and Target are the pair's ends.
	Source, Target string
	// Count is the number of entries matching the filter.
	Count int64
	// ErrorCount is how many of them have a 5xx status.
	ErrorCount int64
}

// ServiceCounts is the exact request tally of one reporting service.
type ServiceCounts struct {
	// Service is the reporting service.
	Service string
	// Requests and Errors (5xx) count every entry the service reported.
	Requests, Errors int64
	// StatusCodes counts entries per HTTP status code.
	StatusCodes map[int]int64
	// RatePerSecond is the mean request rate over the last 60 s of observed time.
	RatePerSecond float64
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
// The newest entries are kept in a ring of fixed capacity; per-service and
// per-pair aggregates are exact and never evicted.
type LogStore struct {
	mu       sync.Mutex
	entries  *ring[AccessLog]
	services map[string]*serviceAgg
	order    []*serviceAgg
	pairs    map[pairKey]*pairAgg
	pairList []*pairAgg
	names    serviceNames
	observer AccessLogObserver
	maxPairs int
}

type pairKey struct{ source, target string }

type pairAgg struct {
	source, target string
	count, errors  int64
	byStatus       statusCounts
}

type serviceAgg struct {
	name          string
	count, errors int64
	byStatus      statusCounts
	rate          [rateWindow]rateBucket
}

type rateBucket struct{ sec, n int64 }

// statusCounts counts entries per status code in first-seen order. A
// service or pair sees a handful of codes, so a short list searched from
// the front beats a map (no hashing, the common code first).
type statusCounts []statusCount

type statusCount struct {
	code int
	n    int64
}

func (s *statusCounts) add(code int) {
	for i := range *s {
		if (*s)[i].code == code {
			(*s)[i].n++
			return
		}
	}
	*s = append(*s, statusCount{code, 1})
}

// LogStoreOption configures a LogStore.
type LogStoreOption func(*LogStore)

// WithLogCapacity sets how many of the newest entries are kept (default DefaultRetention).
func WithLogCapacity(n int) LogStoreOption {
	return func(s *LogStore) { s.entries = newRing[AccessLog](n) }
}

// WithMaxPairs caps the distinct (source, target) pairs aggregated; entries of
// further pairs are counted on the pair (OverflowService, OverflowService).
func WithMaxPairs(n int) LogStoreOption {
	return func(s *LogStore) { s.maxPairs = n }
}

// WithAccessLogObserver registers o to be told of every ingested entry.
func WithAccessLogObserver(o AccessLogObserver) LogStoreOption {
	return func(s *LogStore) { s.observer = o }
}

// NewLogStore returns an empty LogStore.
func NewLogStore(opts ...LogStoreOption) *LogStore {
	s := &LogStore{
		services: make(map[string]*serviceAgg),
		pairs:    make(map[pairKey]*pairAgg),
		names:    serviceNames{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.entries == nil {
		s.entries = newRing[AccessLog](DefaultRetention)
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
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		switch kv.Key {
		case semconv.Source:
			a.Source = kv.Value.AsString()
		case semconv.Target:
			a.Target = kv.Value.AsString()
		case semconv.StatusCode:
			a.Status = int(kv.Value.AsInt64())
		case semconv.DurationMs:
			a.DurationMs = kv.Value.AsFloat64()
		case semconv.Method:
			a.Method = kv.Value.AsString()
		case semconv.Path:
			a.Path = kv.Value.AsString()
		case semconv.Protocol:
			a.Protocol = kv.Value.AsString()
		}
		return true
	})
	s.entries.push(a)

	failed := a.Status >= 500
	svc := s.services[a.Service]
	if svc == nil {
		svc = &serviceAgg{name: a.Service}
		s.services[a.Service] = svc
		s.order = append(s.order, svc)
	}
	svc.count++
	svc.byStatus.add(a.Status)
	if failed {
		svc.errors++
	}
	sec := a.Observed.Unix()
	b := &svc.rate[uint64(sec)%rateWindow]
	if b.sec != sec {
		*b = rateBucket{sec: sec}
	}
	b.n++

	if a.HasEdge() {
		k := pairKey{a.Source, a.Target}
		p := s.pairs[k]
		if p == nil && s.maxPairs > 0 && len(s.pairList) >= s.maxPairs {
			k = pairKey{semconv.OverflowService, semconv.OverflowService}
			p = s.pairs[k]
		}
		if p == nil {
			p = &pairAgg{source: k.source, target: k.target}
			s.pairs[k] = p
			s.pairList = append(s.pairList, p)
		}
		p.count++
		p.byStatus.add(a.Status)
		if failed {
			p.errors++
		}
	}
	if s.observer != nil {
		s.observer.ObserveAccessLog(a)
	}
}

// ServiceRequests returns how many entries service has reported.
func (s *LogStore) ServiceRequests(service string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc := s.services[service]; svc != nil {
		return svc.count
	}
	return 0
}

// Services returns the exact tallies of every reporting service (or of the
// one named, when service is not empty) in first-seen order. now anchors the
// 60 s rate window.
func (s *LogStore) Services(service string, now time.Time) []ServiceCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ServiceCounts, 0, len(s.order))
	nowSec := now.Unix()
	for _, svc := range s.order {
		if service != "" && svc.name != service {
			continue
		}
		c := ServiceCounts{
			Service:     svc.name,
			Requests:    svc.count,
			Errors:      svc.errors,
			StatusCodes: make(map[int]int64, len(svc.byStatus)),
		}
		for _, sc := range svc.byStatus {
			c.StatusCodes[sc.code] = sc.n
		}
		var inWindow int64
		for _, b := range svc.rate {
			if b.sec > nowSec-rateWindow && b.sec <= nowSec {
				inWindow += b.n
			}
		}
		c.RatePerSecond = float64(inWindow) / rateWindow
		out = append(out, c)
	}
	return out
}

// Pairs returns, in first-seen order, every (source, target) pair with at
// least one entry matching f, with the matching counts. It costs O(pairs).
func (s *LogStore) Pairs(f LogFilter) []PairCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []PairCount{} // filters usually keep a few pairs of many
	for _, p := range s.pairList {
		if !f.matchPair(p.source, p.target) {
			continue
		}
		pc := PairCount{Source: p.source, Target: p.target, Count: p.count, ErrorCount: p.errors}
		if f.Status != 0 || f.StatusClass != 0 {
			pc.Count, pc.ErrorCount = 0, 0
			for _, sc := range p.byStatus {
				code, n := sc.code, sc.n
				if f.matchStatus(code) {
					pc.Count += n
					if code >= 500 {
						pc.ErrorCount += n
					}
				}
			}
		}
		if pc.Count > 0 {
			out = append(out, pc)
		}
	}
	return out
}

// Recent returns up to limit of the newest retained entries matching f,
// oldest first. Entries without an edge match only a filter without
// Source and Target.
func (s *LogStore) Recent(f LogFilter, limit int) []AccessLog {
	out := make([]AccessLog, 0, min(limit, 1024))
	if limit <= 0 {
		return out
	}
	s.mu.Lock()
	s.entries.newestFirst(func(a *AccessLog) bool {
		if f.matchPair(a.Source, a.Target) && f.matchStatus(a.Status) {
			out = append(out, *a)
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
