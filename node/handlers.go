package node

import (
	"context"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/telemetry"
)

// handler appends the reply body of one request to b, or returns an error
// reply; it must not change any state unless it succeeds.
type handler func(n *Node, ctx context.Context, b []byte, body *wireBody) ([]byte, *Error)

// handlerOf returns the handler of a message type: a switch, which costs
// less than a map lookup on every line.
func handlerOf(typ string) (handler, bool) {
	switch typ {
	case "record":
		return (*Node).handleRecord, true
	case "trace":
		return (*Node).handleTrace, true
	case "query":
		return (*Node).handleQuery, true
	case "generate":
		return (*Node).handleGenerate, true
	case "init":
		return (*Node).handleInit, true
	case "get_trace":
		return (*Node).handleGetTrace, true
	case "stats":
		return (*Node).handleStats, true
	}
	return nil, false
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
	b = telemetry.AppendString(b, r.Service)
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
		if f.StatusClass, err = telemetry.ParseStatusClass("filter.status_class", *w.StatusClass); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (n *Node) handleQuery(ctx context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	r := telemetry.LogRequest{Detail: body.Detail, Raw: body.Raw, Limit: telemetry.DefaultRawLimit}
	var err *Error
	if r.Filter, err = checkFilter(body.Filter); err != nil {
		return nil, err
	}
	if v := body.Limit.get(); v != nil {
		l := *v
		if l != math.Trunc(l) || l < 0 || l > math.MaxInt32 {
			return nil, malformed("limit must be an integer >= 0, not %v", l)
		}
		r.Limit = int(l)
	}
	return n.answer(b, body, func() (telemetry.Reply, error) { return n.q.AccessLogs(ctx, r) })
}

func (n *Node) handleGenerate(ctx context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	r := telemetry.GraphRequest{Detail: body.Detail}
	if format := body.Format.get(); format != nil {
		if *format == "" {
			return nil, malformed(`format must be "dot" or "mermaid", not ""`)
		}
		if err := telemetry.CheckFormat("format", *format); err != nil {
			return nil, err
		}
		r.Format = *format
	}
	return n.answer(b, body, func() (telemetry.Reply, error) { return n.q.Graph(ctx, r) })
}

func (n *Node) handleGetTrace(ctx context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	if body.TraceID.get() == nil {
		return nil, malformed("missing required field trace_id")
	}
	id, err := checkTraceID("trace_id", body.TraceID.get())
	if err != nil {
		return nil, err
	}
	return n.answer(b, body, func() (telemetry.Reply, error) { return n.q.Trace(ctx, id) })
}

func (n *Node) handleStats(ctx context.Context, b []byte, body *wireBody) ([]byte, *Error) {
	service, err := checkName("service", body.Service.get(), false)
	if err != nil {
		return nil, err
	}
	return n.answer(b, body, func() (telemetry.Reply, error) {
		return n.q.Stats(ctx, telemetry.StatsRequest{Service: service})
	})
}

// answer appends the reply the query layer gives, or returns its error.
func (n *Node) answer(b []byte, body *wireBody, query func() (telemetry.Reply, error)) ([]byte, *Error) {
	r, err := query()
	if err != nil {
		return nil, telemetry.AsError(err)
	}
	b = appendHeader(b, r.Type(), body.MsgID)
	b = r.AppendFields(b)
	return append(b, '}'), nil
}
