package node

import (
	"context"
	"encoding/hex"
	stdjson "encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/telemetry"
)

// handler appends the reply body of one request to b, or returns an error
// reply; it must not change any state unless it succeeds.
type handler func(n *Node, ctx context.Context, b []byte, body *wireBody) ([]byte, *Error)

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"init":      (*Node).handleInit,
		"record":    (*Node).handleRecord,
		"trace":     (*Node).handleTrace,
		"query":     (*Node).handleQuery,
		"generate":  (*Node).handleGenerate,
		"get_trace": (*Node).handleGetTrace,
		"stats":     (*Node).handleStats,
	}
}

func (n *Node) handleInit(_ context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	id, err := checkName("node_id", body.NodeID.get(), true)
	if err != nil {
		return nil, err
	}
	n.id = id
	b = appendHeader(b, "init_ok", body.MsgID)
	return append(b, '}'), nil
}

var (
	targetFields = []string{"target_service", "target", "destination_service", "destination"}
	sourceFields = []string{"source_service", "source"}
)

func (n *Node) handleRecord(ctx context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	var r telemetry.Request
	var err *Error
	if r.Service, err = checkName("service", body.Service.get(), true); err != nil {
		return nil, err
	}
	if body.DurationMs.get() == nil {
		return nil, malformed("missing required field duration_ms")
	}
	if r.DurationMs, err = checkDuration("duration_ms", body.DurationMs.get()); err != nil {
		return nil, err
	}
	statusField, status := "status", body.Status.get()
	if status == nil {
		statusField, status = "status_code", body.StatusCode.get()
	}
	if status == nil {
		return nil, malformed("missing required field status")
	}
	if r.Status, err = checkStatus(statusField, status); err != nil {
		return nil, err
	}
	field, v := firstOf(targetFields, body.TargetService.get(), body.Target.get(), body.DestinationService.get(), body.Destination.get())
	if r.Target, err = checkName(field, v, false); err != nil {
		return nil, err
	}
	field, v = firstOf(sourceFields, body.SourceService.get(), body.Source.get())
	if r.Source, err = checkName(field, v, false); err != nil {
		return nil, err
	}
	if r.Method, err = checkText("method", body.Method.get()); err != nil {
		return nil, err
	}
	if r.Path, err = checkText("path", body.Path.get()); err != nil {
		return nil, err
	}
	if r.Protocol, err = checkText("protocol", body.Protocol.get()); err != nil {
		return nil, err
	}
	if r.TraceID, err = checkTraceID("trace_id", body.TraceID.get()); err != nil {
		return nil, err
	}
	if r.SpanID, err = checkSpanID("span_id", body.SpanID.get()); err != nil {
		return nil, err
	}
	if r.SpanID.IsValid() && !r.TraceID.IsValid() {
		return nil, malformed("span_id needs trace_id")
	}
	if r.Timestamp, err = checkTimestamp("timestamp", body.Timestamp); err != nil {
		return nil, err
	}
	count, perr := n.p.Record(ctx, &r)
	if perr != nil {
		return nil, &Error{Code: CodeCrash, Text: perr.Error()}
	}
	b = appendHeader(b, "metrics_recorded", body.MsgID)
	b = append(b, `,"service":`...)
	b = appendString(b, r.Service)
	b = append(b, `,"request_count":`...)
	b = strconv.AppendInt(b, count, 10)
	return append(b, '}'), nil
}

var spanKinds = map[string]trace.SpanKind{
	"server":   trace.SpanKindServer,
	"client":   trace.SpanKindClient,
	"internal": trace.SpanKindInternal,
	"producer": trace.SpanKindProducer,
	"consumer": trace.SpanKindConsumer,
}

func (n *Node) handleTrace(ctx context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	var r telemetry.SpanRequest
	var err *Error
	if body.Operation.get() == nil {
		return nil, malformed("missing required field operation")
	}
	if body.Operation == "" {
		return nil, malformed("operation must be a non-empty string")
	}
	if r.Operation, err = checkText("operation", body.Operation.get()); err != nil {
		return nil, err
	}
	if r.Service, err = checkName("service", body.Service.get(), false); err != nil {
		return nil, err
	}
	if r.TraceID, err = checkTraceID("trace_id", body.TraceID.get()); err != nil {
		return nil, err
	}
	if r.ParentSpanID, err = checkSpanID("parent_span_id", body.ParentSpanID.get()); err != nil {
		return nil, err
	}
	if r.ParentSpanID.IsValid() && !r.TraceID.IsValid() {
		return nil, malformed("parent_span_id needs trace_id")
	}
	if kind := body.Kind.get(); kind != nil {
		k, ok := spanKinds[strings.ToLower(*kind)]
		if !ok {
			return nil, malformed("kind must be one of server, client, internal, producer, consumer, not %q", *kind)
		}
		r.Kind = k
	}
	d, err := checkDuration("duration_ms", body.DurationMs.get())
	if err != nil {
		return nil, err
	}
	if d > float64(math.MaxInt64/int64(time.Millisecond)) {
		return nil, malformed("duration_ms is too large: %v", d)
	}
	r.Duration = time.Duration(d * float64(time.Millisecond))
	if r.Status, err = checkStatus("status", body.Status.get()); err != nil {
		return nil, err
	}
	if r.Attributes, err = checkAttributes(body.Attributes); err != nil {
		return nil, err
	}
	sc, perr := n.p.StartSpan(ctx, &r)
	if perr != nil {
		return nil, &Error{Code: CodeCrash, Text: perr.Error()}
	}
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendHeader(b, "trace_created", body.MsgID)
	b = append(b, `,"trace_id":"`...)
	b = hex.AppendEncode(b, tid[:])
	b = append(b, `","span_id":"`...)
	b = hex.AppendEncode(b, sid[:])
	return append(b, `"}`...), nil
}

func checkTraceID(field string, v *string) (trace.TraceID, *Error) {
	if v == nil || *v == "" {
		return trace.TraceID{}, nil
	}
	id, err := trace.TraceIDFromHex(*v)
	if err != nil {
		return id, malformed("%s must be 32 lower-case hex digits, not all zero", field)
	}
	return id, nil
}

func checkSpanID(field string, v *string) (trace.SpanID, *Error) {
	if v == nil || *v == "" {
		return trace.SpanID{}, nil
	}
	id, err := trace.SpanIDFromHex(*v)
	if err != nil {
		return id, malformed("%s must be 16 lower-case hex digits, not all zero", field)
	}
	return id, nil
}

// checkTimestamp accepts an RFC 3339 string or Unix milliseconds.
func checkTimestamp(field string, raw rawValue) (time.Time, *Error) {
	if len(raw) == 0 {
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t, nil
			}
		}
		return time.Time{}, malformed("%s must be an RFC 3339 time or Unix milliseconds", field)
	}
	ms, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(ms, 0) || ms < 0 || ms > 1e15 {
		return time.Time{}, malformed("%s must be an RFC 3339 time or Unix milliseconds", field)
	}
	return time.UnixMilli(0).Add(time.Duration(ms * float64(time.Millisecond))), nil
}

// checkAttributes turns a JSON object of scalars into span attributes, sorted by key.
func checkAttributes(m map[string]rawValue) ([]attribute.KeyValue, *Error) {
	if len(m) == 0 {
		return nil, nil
	}
	if len(m) > MaxAttributes {
		return nil, malformed("attributes has more than %d keys", MaxAttributes)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]attribute.KeyValue, 0, len(keys))
	for _, k := range keys {
		raw := m[k]
		if k == "" || len(k) > MaxNameBytes {
			return nil, malformed("attributes keys must be 1 to %d bytes", MaxNameBytes)
		}
		switch {
		case len(raw) == 0: // null: no attribute
		case raw[0] == '"':
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, malformed("attributes.%s is not a valid string", k)
			}
			if len(s) > MaxTextBytes {
				return nil, malformed("attributes.%s is longer than %d bytes", k, MaxTextBytes)
			}
			out = append(out, attribute.String(k, s))
		case string(raw) == "true" || string(raw) == "false":
			out = append(out, attribute.Bool(k, string(raw) == "true"))
		case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
			if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
				out = append(out, attribute.Int64(k, i))
			} else if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
				out = append(out, attribute.Float64(k, f))
			} else {
				return nil, malformed("attributes.%s is out of range", k)
			}
		default:
			return nil, malformed("attributes.%s must be a string, number or boolean", k)
		}
	}
	return out, nil
}

func checkFilter(w *wireFilter) (exporters.LogFilter, *Error) {
	var f exporters.LogFilter
	if w == nil {
		return f, nil
	}
	var err *Error
	if f.Source, err = checkName("filter.source_service", w.SourceService, false); err != nil {
		return f, err
	}
	if f.Target, err = checkName("filter.target_service", w.TargetService, false); err != nil {
		return f, err
	}
	if f.Status, err = checkStatus("filter.status", w.Status); err != nil {
		return f, err
	}
	if w.StatusClass != nil {
		c := *w.StatusClass
		if len(c) != 3 || c[0] < '1' || c[0] > '5' || strings.ToLower(c[1:]) != "xx" {
			return f, malformed(`filter.status_class must be one of "1xx", "2xx", "3xx", "4xx", "5xx", not %q`, c)
		}
		f.StatusClass = int(c[0] - '0')
	}
	return f, nil
}

type pairJSON struct {
	Source     string       `json:"source_service"`
	Target     string       `json:"target_service"`
	Count      int64        `json:"count"`
	ErrorCount *int64       `json:"error_count,omitempty"`
	Latency    *latencyJSON `json:"latency_ms,omitempty"`
}

type latencyJSON struct {
	P50 float64  `json:"p50"`
	P90 *float64 `json:"p90,omitempty"`
	P95 float64  `json:"p95"`
	P99 float64  `json:"p99"`
	Max float64  `json:"max"`
}

type rawLogJSON struct {
	Timestamp  string  `json:"timestamp"`
	Service    string  `json:"service"`
	Source     string  `json:"source_service"`
	Target     string  `json:"target_service"`
	Method     string  `json:"method"`
	Path       string  `json:"path"`
	Status     int     `json:"status"`
	DurationMs float64 `json:"duration_ms"`
	TraceID    string  `json:"trace_id"`
}

func (n *Node) handleQuery(ctx context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	f, err := checkFilter(body.Filter)
	if err != nil {
		return nil, err
	}
	detail := body.Detail
	b = appendHeader(b, "access_logs", body.MsgID)
	if body.Raw {
		limit := 100
		if v := body.Limit.get(); v != nil {
			l := *v
			if l != math.Trunc(l) || l < 0 || l > math.MaxInt32 {
				return nil, malformed("limit must be an integer >= 0, not %v", l)
			}
			limit = int(l)
		}
		entries := n.p.Logs.Recent(f, limit)
		logs := make([]rawLogJSON, len(entries))
		for i := range entries {
			logs[i] = rawLog(&entries[i])
		}
		return appendObject(b, struct {
			Logs []rawLogJSON `json:"logs"`
		}{logs})
	}
	var lat map[[2]string]*exporters.ExpHistogram
	if detail {
		if lat, err = pairDurations(ctx, n, f); err != nil {
			return nil, err
		}
	}
	pairs := n.p.Logs.Pairs(f)
	logs := make([]pairJSON, len(pairs))
	for i, p := range pairs {
		logs[i] = pairJSON{Source: p.Source, Target: p.Target, Count: p.Count}
		if detail {
			ec := p.ErrorCount
			logs[i].ErrorCount = &ec
			logs[i].Latency = latency(lat[[2]string{p.Source, p.Target}], false)
		}
	}
	return appendObject(b, struct {
		Logs []pairJSON `json:"logs"`
	}{logs})
}

func rawLog(a *exporters.AccessLog) rawLogJSON {
	r := rawLogJSON{
		Timestamp:  a.Timestamp.UTC().Format(time.RFC3339Nano),
		Service:    a.Service,
		Source:     a.Source,
		Target:     a.Target,
		Method:     a.Method,
		Path:       a.Path,
		Status:     a.Status,
		DurationMs: a.DurationMs,
	}
	if a.TraceID.IsValid() {
		r.TraceID = a.TraceID.String()
	}
	return r
}

func (n *Node) handleGenerate(ctx context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	detail := body.Detail
	var render func([]string, []graph.RenderEdge) string
	if format := body.Format.get(); format != nil {
		switch *format {
		case "dot":
			render = graph.DOT
		case "mermaid":
			render = graph.Mermaid
		default:
			return nil, malformed(`format must be "dot" or "mermaid", not %q`, *format)
		}
	}
	n.p.SpanGraph.Expire() // settle spans whose pairing TTL has passed
	nodes := n.p.Graph.Nodes()
	edges := n.p.Graph.Edges()
	var lat map[[2]string]*exporters.ExpHistogram
	if detail || render != nil {
		var err *Error
		if lat, err = edgeDurations(ctx, n); err != nil {
			return nil, err
		}
	}
	var text string
	if render != nil {
		re := make([]graph.RenderEdge, len(edges))
		for i, e := range edges {
			re[i] = graph.RenderEdge{Edge: e, P95Ms: roundMs(lat[[2]string{e.Source, e.Target}].Quantile(0.95))}
		}
		text = render(nodes, re)
	}
	// Appended by hand: through encoding/json's reflection this reply cost
	// 60% of generate's time at 1,000 services.
	b = appendHeader(b, "service_graph", body.MsgID)
	b = append(b, `,"nodes":[`...)
	for i, name := range nodes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
	}
	b = append(b, `],"edges":[`...)
	for i, e := range edges {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"source":`...)
		b = appendString(b, e.Source)
		b = append(b, `,"target":`...)
		b = appendString(b, e.Target)
		b = append(b, `,"request_count":`...)
		b = strconv.AppendInt(b, e.Calls, 10)
		if detail {
			b = append(b, `,"error_count":`...)
			b = strconv.AppendInt(b, e.Errors, 10)
			l, err := stdjson.Marshal(latency(lat[[2]string{e.Source, e.Target}], false))
			if err != nil {
				return nil, &Error{Code: CodeCrash, Text: "encoding reply: " + err.Error()}
			}
			b = append(b, `,"latency_ms":`...)
			b = append(b, l...)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if render != nil {
		b = append(b, `,"text":`...)
		b = appendString(b, text)
	}
	return append(b, '}'), nil
}

type spanJSON struct {
	SpanID       string         `json:"span_id"`
	ParentSpanID string         `json:"parent_span_id"`
	Service      string         `json:"service"`
	Operation    string         `json:"operation"`
	Kind         string         `json:"kind"`
	Start        string         `json:"start"`
	DurationMs   float64        `json:"duration_ms"`
	Status       int            `json:"status"`
	Error        bool           `json:"-"`
	Attributes   map[string]any `json:"attributes"`
}

func (n *Node) handleGetTrace(_ context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	if body.TraceID.get() == nil {
		return nil, malformed("missing required field trace_id")
	}
	id, err := checkTraceID("trace_id", body.TraceID.get())
	if err != nil {
		return nil, err
	}
	if !id.IsValid() {
		return nil, malformed("trace_id must be 32 lower-case hex digits, not all zero")
	}
	spans, ok := n.p.Spans.Trace(id)
	if !ok {
		return nil, &Error{Code: CodeKeyDoesNotExist, Text: "trace " + id.String() + " is not held by this node"}
	}
	out := make([]spanJSON, len(spans))
	for i := range spans {
		out[i] = spanView(&spans[i])
	}
	b = appendHeader(b, "trace", body.MsgID)
	return appendObject(b, struct {
		TraceID string     `json:"trace_id"`
		Spans   []spanJSON `json:"spans"`
	}{id.String(), out})
}

func spanView(s *exporters.Span) spanJSON {
	v := spanJSON{
		SpanID:     s.SpanID.String(),
		Service:    s.Service,
		Operation:  s.Name,
		Kind:       s.Kind.String(),
		Start:      s.Start.UTC().Format(time.RFC3339Nano),
		DurationMs: float64(s.Duration()) / float64(time.Millisecond),
		Error:      s.Status == codes.Error,
		Attributes: make(map[string]any, len(s.Attributes)),
	}
	if s.Parent.IsValid() {
		v.ParentSpanID = s.Parent.String()
	}
	for _, kv := range s.Attributes {
		v.Attributes[string(kv.Key)] = kv.Value.AsInterface()
		if kv.Key == "http.response.status_code" {
			v.Status = int(kv.Value.AsInt64())
		}
	}
	return v
}

// appendObject appends the fields of v and closes the reply body.
func appendObject(b []byte, v any) ([]byte, *Error) {
	b, err := appendFields(b, v)
	if err != nil {
		return nil, &Error{Code: CodeCrash, Text: "encoding reply: " + err.Error()}
	}
	return append(b, '}'), nil
}
