package jaegertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ErrTraceNotFound is returned by Trace while Jaeger does not know the trace.
var ErrTraceNotFound = errors.New("trace not found")

// Trace is a trace as Jaeger's query HTTP API (/api/traces/{id}) returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
	Warnings  []string           `json:"warnings"`
}

// Span is a span of a Trace. ServiceName is filled in from Processes.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"` // microseconds since the epoch
	Duration      int64       `json:"duration"`  // microseconds
	Tags          []KeyValue  `json:"tags"`
	Logs          []SpanLog   `json:"logs"`
	ProcessID     string      `json:"processID"`
	Warnings      []string    `json:"warnings"`

	ServiceName string `json:"-"`
}

// Reference links a span to another one ("CHILD_OF" or "FOLLOWS_FROM").
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KeyValue is a Jaeger tag. Value is a string, float64, bool, ...
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// SpanLog is a span event.
type SpanLog struct {
	Timestamp int64      `json:"timestamp"`
	Fields    []KeyValue `json:"fields"`
}

// Process is the emitting service of spans, with its resource attributes as tags.
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// DependencyLink is an edge of the service graph.
type DependencyLink struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount uint64 `json:"callCount"`
}

// ParentSpanID returns the span ID of the CHILD_OF reference, or "".
func (s Span) ParentSpanID() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Tag returns the value of the tag key and whether it is present.
func (s Span) Tag(key string) (any, bool) {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// SpanByName returns the first span with that operation name.
func (tr *Trace) SpanByName(name string) (Span, bool) {
	for _, s := range tr.Spans {
		if s.OperationName == name {
			return s, true
		}
	}
	return Span{}, false
}

// SpanByID returns the span with that (hex) span ID.
func (tr *Trace) SpanByID(id string) (Span, bool) {
	for _, s := range tr.Spans {
		if s.SpanID == id {
			return s, true
		}
	}
	return Span{}, false
}

type envelope[T any] struct {
	Data   T `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

func getJSON[T any](ctx context.Context, j *Jaeger, path string, q url.Values) (T, error) {
	var zero T
	u := j.QueryURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	body, err := j.get(ctx, u)
	if err != nil {
		return zero, err
	}
	var env envelope[T]
	if err := json.Unmarshal(body, &env); err != nil {
		return zero, fmt.Errorf("GET %s: decode: %w", u, err)
	}
	if len(env.Errors) > 0 {
		return zero, fmt.Errorf("GET %s: %d: %s", u, env.Errors[0].Code, env.Errors[0].Msg)
	}
	return env.Data, nil
}

// Services lists the service names Jaeger has seen (GET /api/services).
func (j *Jaeger) Services(ctx context.Context) ([]string, error) {
	return getJSON[[]string](ctx, j, "/api/services", nil)
}

// Operations lists the span names of a service (GET /api/services/{s}/operations).
func (j *Jaeger) Operations(ctx context.Context, service string) ([]string, error) {
	return getJSON[[]string](ctx, j, "/api/services/"+url.PathEscape(service)+"/operations", nil)
}

// Trace fetches one trace by its 32-hex-digit ID (GET /api/traces/{id}). It
// returns ErrTraceNotFound (wrapped) while Jaeger does not have it.
func (j *Jaeger) Trace(ctx context.Context, traceID string) (*Trace, error) {
	trs, err := getJSON[[]Trace](ctx, j, "/api/traces/"+url.PathEscape(traceID), nil)
	var he *HTTPError
	if errors.As(err, &he) && he.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %s", ErrTraceNotFound, traceID)
	}
	if err != nil {
		return nil, err
	}
	if len(trs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrTraceNotFound, traceID)
	}
	tr := &trs[0]
	for i := range tr.Spans {
		tr.Spans[i].ServiceName = tr.Processes[tr.Spans[i].ProcessID].ServiceName
	}
	return tr, nil
}

// FindTraces searches traces of a service in the last hour (GET /api/traces?service=...).
// Extra query parameters (operation, tags, limit, start, end, ...) may be given in q.
func (j *Jaeger) FindTraces(ctx context.Context, service string, q url.Values) ([]Trace, error) {
	v := url.Values{"service": {service}, "lookback": {"1h"}}
	for k, vs := range q {
		v[k] = vs
	}
	trs, err := getJSON[[]Trace](ctx, j, "/api/traces", v)
	if err != nil {
		return nil, err
	}
	for t := range trs {
		for i := range trs[t].Spans {
			trs[t].Spans[i].ServiceName = trs[t].Processes[trs[t].Spans[i].ProcessID].ServiceName
		}
	}
	return trs, nil
}

// Dependencies returns the service graph for traces in (endTs-lookback,
// endTs] (GET /api/dependencies?endTs=ms&lookback=ms). The memory storage
// computes it on the fly from the stored traces: one link per parent/child
// span pair whose services are known, self-links (same service) included.
func (j *Jaeger) Dependencies(ctx context.Context, endTs time.Time, lookback time.Duration) ([]DependencyLink, error) {
	q := url.Values{
		"endTs":    {strconv.FormatInt(endTs.UnixMilli(), 10)},
		"lookback": {strconv.FormatInt(lookback.Milliseconds(), 10)},
	}
	return getJSON[[]DependencyLink](ctx, j, "/api/dependencies", q)
}
