package jaegertest

import (
	"strings"
	"testing"
)

func TestDecodeLogs(t *testing.T) {
	data := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
	"scopeLogs":[{"scope":{"name":"meshobs/e2e"},"logRecords":[{"timeUnixNano":"1700000000000000001",
	"severityNumber":13,"severityText":"WARN","body":{"stringValue":"hi"},
	"attributes":[{"key":"n","value":{"intValue":"42"}},{"key":"b","value":{"boolValue":true}},
	{"key":"d","value":{"doubleValue":1.5}},{"key":"a","value":{"arrayValue":{"values":[{"stringValue":"x"},{"intValue":"1"}]}}}],
	"traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"b7ad6b7169203331"}]}]}]}`
	recs, err := decodeLogs([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	want := map[string]string{"n": "42", "b": "true", "d": "1.5", "a": `["x",1]`}
	for k, v := range want {
		if r.Attributes[k] != v {
			t.Errorf("attr %s = %q, want %q", k, r.Attributes[k], v)
		}
	}
	if r.ServiceName() != "api" || r.Body != "hi" || r.SeverityNumber != 13 || r.Time.UnixNano() != 1700000000000000001 ||
		r.TraceID != "0af7651916cd43dd8448eb211c80319c" || r.SpanID != "b7ad6b7169203331" || r.ScopeName != "meshobs/e2e" {
		t.Errorf("record = %s", r)
	}
	if !strings.Contains(r.String(), `"hi"`) {
		t.Errorf("String() = %s", r)
	}
}

func TestRenderConfig(t *testing.T) {
	cfg, err := RenderConfig(ConfigParams{OTLPGRPCPort: 1, OTLPHTTPPort: 2, QueryHTTPPort: 3, QueryGRPCPort: 4,
		PrometheusPort: 5, HealthPort: 6, InternalMetricsPort: 7, MaxTraces: 8, LogSinkURL: "http://127.0.0.1:9/v1/logs"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"endpoint: 127.0.0.1:1\n", "endpoint: 127.0.0.1:6\n", "port: 7\n", "max_traces: 8\n", "logs_endpoint: http://127.0.0.1:9/v1/logs"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q", want)
		}
	}
	if strings.Contains(cfg, "<no value>") {
		t.Errorf("config has an unset value:\n%s", cfg)
	}
}
