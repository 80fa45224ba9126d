package receiver

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Hand-written OTLP/JSON, as the OTLP specification writes it: ids in hex,
// enums as integers, 64-bit integers as strings.
const (
	handTraces = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
 "scopeSpans":[{"scope":{"name":"hand"},"spans":[{
  "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173",
  "name":"GET /cart","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
  "attributes":[{"key":"http.response.status_code","value":{"intValue":"503"}},{"key":"sampled","value":{"boolValue":true}}],
  "status":{"code":2,"message":"upstream failed"}}]}]}]}`
	handLogs = `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"istio-proxy"}}]},
 "scopeLogs":[{"logRecords":[{"timeUnixNano":"1544712660300000000","severityNumber":9,"severityText":"Info",
  "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
  "body":{"stringValue":"GET /cart 200"},
  "attributes":[{"key":"response_code","value":{"intValue":"200"}},{"key":"duration","value":{"doubleValue":12.5}}]}]}]}]}`
	handMetrics = `{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
 "scopeMetrics":[{"metrics":[
  {"name":"requests","unit":"1","sum":{"aggregationTemporality":2,"isMonotonic":true,
   "dataPoints":[{"asInt":"5","timeUnixNano":"1544712660300000000","attributes":[{"key":"route","value":{"stringValue":"/cart"}}]}]}},
  {"name":"queue","gauge":{"dataPoints":[{"asDouble":0.25,"timeUnixNano":"1544712660300000000"}]}}]}]}]}`
)

// TestHTTPJSONHandWritten checks that OTLP/JSON as the specification writes
// it decodes with its hex ids, integer enums and string-encoded integers.
func TestHTTPJSONHandWritten(t *testing.T) {
	c := &fakeConsumer{}
	r := startReceivers(t, loopbackConfig(), c)
	client := newHTTPClient(t, nil)
	base := "http://" + r.Addrs().HTTP
	ctJSON := map[string]string{"Content-Type": contentTypeJSON}
	wantTrace := pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	wantSpan := pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}

	for path, body := range map[string]string{"/v1/traces": handTraces, "/v1/logs": handLogs, "/v1/metrics": handMetrics} {
		resp, b := post(t, client, base+path, ctJSON, []byte(body))
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != contentTypeJSON {
			t.Fatalf("%s: %d %s %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		// pdata writes an empty partialSuccess, which OTLP reads as full success.
		if string(b) != `{"partialSuccess":{}}` {
			t.Errorf("%s: response %q, want full success", path, b)
		}
	}

	td := c.allTraces()
	if len(td) != 1 || td[0].SpanCount() != 1 {
		t.Fatalf("traces %d", len(td))
	}
	rs := td[0].ResourceSpans().At(0)
	sp := rs.ScopeSpans().At(0).Spans().At(0)
	if v, _ := rs.Resource().Attributes().Get("service.name"); v.Str() != "checkout" {
		t.Errorf("service.name %v", v.AsRaw())
	}
	if sp.TraceID() != wantTrace || sp.SpanID() != wantSpan || sp.ParentSpanID() != (pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73}) {
		t.Errorf("ids %s %s %s", sp.TraceID(), sp.SpanID(), sp.ParentSpanID())
	}
	if sp.Kind() != ptrace.SpanKindServer || sp.Status().Code() != ptrace.StatusCodeError || sp.Status().Message() != "upstream failed" {
		t.Errorf("kind %v status %v %q", sp.Kind(), sp.Status().Code(), sp.Status().Message())
	}
	if sp.StartTimestamp() != 1544712660000000000 || sp.EndTimestamp() != 1544712661000000000 {
		t.Errorf("times %d %d", sp.StartTimestamp(), sp.EndTimestamp())
	}
	if v, _ := sp.Attributes().Get("http.response.status_code"); v.Type() != pcommon.ValueTypeInt || v.Int() != 503 {
		t.Errorf("status code attribute %v", v.AsRaw())
	}
	if v, _ := sp.Attributes().Get("sampled"); !v.Bool() {
		t.Errorf("bool attribute %v", v.AsRaw())
	}

	ld := c.allLogs()
	if len(ld) != 1 || ld[0].LogRecordCount() != 1 {
		t.Fatalf("logs %d", len(ld))
	}
	lr := ld[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	if lr.TraceID() != wantTrace || lr.SpanID() != wantSpan || lr.SeverityNumber() != plog.SeverityNumberInfo ||
		lr.SeverityText() != "Info" || lr.Body().Str() != "GET /cart 200" || lr.Timestamp() != 1544712660300000000 {
		t.Errorf("log record %s %s %v %q %q %d", lr.TraceID(), lr.SpanID(), lr.SeverityNumber(), lr.SeverityText(), lr.Body().Str(), lr.Timestamp())
	}
	if v, _ := lr.Attributes().Get("duration"); v.Double() != 12.5 {
		t.Errorf("duration %v", v.AsRaw())
	}

	md := c.allMetrics()
	if len(md) != 1 || md[0].DataPointCount() != 2 {
		t.Fatalf("metrics %d", len(md))
	}
	ms := md[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	sum := ms.At(0).Sum()
	if ms.At(0).Name() != "requests" || sum.AggregationTemporality() != pmetric.AggregationTemporalityCumulative ||
		!sum.IsMonotonic() || sum.DataPoints().At(0).IntValue() != 5 {
		t.Errorf("requests %q %v %v %d", ms.At(0).Name(), sum.AggregationTemporality(), sum.IsMonotonic(), sum.DataPoints().At(0).IntValue())
	}
	if g := ms.At(1); g.Type() != pmetric.MetricTypeGauge || g.Gauge().DataPoints().At(0).DoubleValue() != 0.25 {
		t.Errorf("queue %v", g.Type())
	}
}

// TestHTTPJSONMarshaler round-trips every signal through pdata's own
// OTLP/JSON marshaler: what arrives equals what was sent.
func TestHTTPJSONMarshaler(t *testing.T) {
	c := &fakeConsumer{}
	r := startReceivers(t, loopbackConfig(), c)
	client := newHTTPClient(t, nil)
	base := "http://" + r.Addrs().HTTP
	ctJSON := map[string]string{"Content-Type": contentTypeJSON}

	td := testTraces("a", "b", "c")
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rec := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	rec.Body().SetStr("hello")
	rec.SetTraceID(pcommon.TraceID{9, 9, 9})
	rec.SetSeverityNumber(plog.SeverityNumberWarn)
	rec.Attributes().PutInt("http.response.status_code", 404)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("latency")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := h.DataPoints().AppendEmpty()
	dp.SetCount(3)
	dp.SetSum(30)
	dp.BucketCounts().FromRaw([]uint64{1, 2})
	dp.ExplicitBounds().FromRaw([]float64{10})

	tb, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	if err != nil {
		t.Fatal(err)
	}
	for path, body := range map[string][]byte{"/v1/traces": tb, "/v1/logs": lb, "/v1/metrics": mb} {
		if resp, b := post(t, client, base+path, ctJSON, body); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, b)
		}
	}
	if got := c.allTraces(); len(got) != 1 || !tracesEqual(got[0], td) {
		t.Errorf("traces differ after the round trip")
	}
	if got := c.allLogs(); len(got) != 1 || !logsEqual(got[0], ld) {
		t.Errorf("logs differ after the round trip")
	}
	if got := c.allMetrics(); len(got) != 1 || !metricsEqual(got[0], md) {
		t.Errorf("metrics differ after the round trip")
	}
}

// The pdata types have no Equal; their protobuf encodings are deterministic.
func tracesEqual(a, b ptrace.Traces) bool {
	x, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(a)
	y, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(b)
	return string(x) == string(y)
}

func logsEqual(a, b plog.Logs) bool {
	x, _ := (&plog.ProtoMarshaler{}).MarshalLogs(a)
	y, _ := (&plog.ProtoMarshaler{}).MarshalLogs(b)
	return string(x) == string(y)
}

func metricsEqual(a, b pmetric.Metrics) bool {
	x, _ := (&pmetric.ProtoMarshaler{}).MarshalMetrics(a)
	y, _ := (&pmetric.ProtoMarshaler{}).MarshalMetrics(b)
	return string(x) == string(y)
}
