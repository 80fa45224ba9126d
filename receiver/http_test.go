package receiver

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// TestHTTPStatusCodes sends one request per documented outcome and checks
// the status, the headers, the error body (a google.rpc.Status in the
// request's encoding, naming what was wrong) and that a refused request
// reached nothing.
func TestHTTPStatusCodes(t *testing.T) {
	const limit = 1 << 20
	c := &fakeConsumer{behave: behaveByName}
	cfg := Config{OTLP: OTLPConfig{Protocols: Protocols{HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0", MaxRequestBodySize: limit}}}}
	r := startReceivers(t, cfg, c)
	base := "http://" + r.Addrs().HTTP
	client := newHTTPClient(t, nil)

	proto := map[string]string{"Content-Type": contentTypeProtobuf}
	json := map[string]string{"Content-Type": contentTypeJSON}
	with := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for hk, hv := range h {
			if hk != k {
				out[hk] = hv
			}
		}
		return out
	}
	gz := func(h map[string]string) map[string]string { return with(h, "Content-Encoding", "gzip") }
	bomb := gzipBytes(t, make([]byte, 8*limit))
	okBody := tracesBody(t, false, "ok")
	okJSON := tracesBody(t, true, "ok")
	truncated := gzipBytes(t, okBody)
	truncated = truncated[:len(truncated)-6]

	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		body       []byte
		chunked    bool
		want       int
		wantMsg    string // in the error body
		wantHeader map[string]string
		rejected   int64 // partial success
	}{
		{name: "protobuf", path: "/v1/traces", header: proto, body: okBody, want: 200},
		{name: "json", path: "/v1/traces", header: json, body: okJSON, want: 200},
		{name: "json with charset", path: "/v1/traces", header: with(json, "Content-Type", "application/json; charset=utf-8"), body: okJSON, want: 200},
		{name: "gzip protobuf", path: "/v1/traces", header: gz(proto), body: gzipBytes(t, okBody), want: 200},
		{name: "gzip json", path: "/v1/traces", header: gz(json), body: gzipBytes(t, okJSON), want: 200},
		{name: "empty protobuf body", path: "/v1/traces", header: proto, body: nil, want: 200},
		{name: "partial protobuf", path: "/v1/traces", header: proto, body: tracesBody(t, false, "partial", "b", "c"), want: 200, rejected: 1},
		{name: "partial json", path: "/v1/traces", header: json, body: tracesBody(t, true, "partial", "b"), want: 200, rejected: 1},
		{name: "unknown path", path: "/v1/spans", header: proto, body: okBody, want: 404, wantMsg: `no OTLP/HTTP path "/v1/spans"`},
		{name: "root path json", path: "/", header: json, body: okJSON, want: 404, wantMsg: "use /v1/traces"},
		{name: "GET", method: http.MethodGet, path: "/v1/traces", header: proto, want: 405, wantMsg: "method GET not allowed", wantHeader: map[string]string{"Allow": "POST"}},
		{name: "PUT json", method: http.MethodPut, path: "/v1/logs", header: json, body: okJSON, want: 405, wantMsg: "method PUT", wantHeader: map[string]string{"Allow": "POST"}},
		{name: "text/plain", path: "/v1/traces", header: map[string]string{"Content-Type": "text/plain"}, body: okBody, want: 415, wantMsg: `content type "text/plain" not supported`},
		{name: "no content type", path: "/v1/metrics", header: map[string]string{"Content-Type": ""}, body: okBody, want: 415, wantMsg: "content type"},
		{name: "brotli", path: "/v1/traces", header: with(proto, "Content-Encoding", "br"), body: okBody, want: 415, wantMsg: `content encoding "br" not supported`, wantHeader: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "malformed protobuf", path: "/v1/traces", header: proto, body: []byte{0x0a, 0xff, 0xff, 0xff}, want: 400, wantMsg: "traces: malformed application/x-protobuf body"},
		{name: "malformed json", path: "/v1/logs", header: json, body: []byte(`{"resourceLogs": [`), want: 400, wantMsg: "logs: malformed application/json body"},
		{name: "json not an object", path: "/v1/metrics", header: json, body: []byte(`[1,2]`), want: 400, wantMsg: "metrics: malformed application/json body"},
		{name: "bad hex trace id", path: "/v1/traces", header: json, body: []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0102030405060708"}]}]}]}`), want: 400, wantMsg: "malformed application/json body"},
		{name: "not gzip", path: "/v1/traces", header: gz(proto), body: okBody, want: 400, wantMsg: "malformed gzip body"},
		{name: "truncated gzip", path: "/v1/traces", header: gz(json), body: truncated, want: 400, wantMsg: "malformed gzip body"},
		{name: "too large", path: "/v1/traces", header: proto, body: make([]byte, limit+1), want: 413, wantMsg: "max_request_body_size (1048576 bytes)"},
		{name: "too large chunked", path: "/v1/traces", header: proto, body: make([]byte, 3*limit), chunked: true, want: 413, wantMsg: "max_request_body_size"},
		{name: "gzip bomb", path: "/v1/traces", header: gz(proto), body: bomb, want: 413, wantMsg: "max_request_body_size"},
		{name: "consumer unavailable", path: "/v1/traces", header: proto, body: tracesBody(t, false, "unavailable"), want: 503, wantMsg: "queue full", wantHeader: map[string]string{"Retry-After": "1"}},
		{name: "consumer unavailable json", path: "/v1/traces", header: json, body: tracesBody(t, true, "unavailable"), want: 503, wantMsg: "receiver: unavailable", wantHeader: map[string]string{"Retry-After": "1"}},
		{name: "consumer fails", path: "/v1/traces", header: proto, body: tracesBody(t, false, "fail"), want: 500, wantMsg: "fake: broken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, err := http.NewRequest(method, base+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			keptBefore := c.kept()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			respBody, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tc.want, respBody)
			}
			for k, v := range tc.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			reqType := encodingOf(tc.header["Content-Type"])
			gotType := resp.Header.Get("Content-Type")
			switch {
			case reqType == nil:
				if !strings.HasPrefix(gotType, "text/plain") || !strings.Contains(string(respBody), tc.wantMsg) {
					t.Errorf("answer %s %q, want text/plain naming %q", gotType, respBody, tc.wantMsg)
				}
			case gotType != reqType.contentType:
				t.Errorf("answered in %q, want the request's %q", gotType, reqType.contentType)
			case tc.want == 200:
				resp := ptraceotlp.NewExportResponse()
				if err := reqType.unmarshal(respBody, resp); err != nil {
					t.Fatalf("response does not decode: %v", err)
				}
				ps := resp.PartialSuccess()
				if ps.RejectedSpans() != tc.rejected {
					t.Errorf("rejected %d, want %d", ps.RejectedSpans(), tc.rejected)
				}
				if wantMsg := map[bool]string{true: "one item refused"}[tc.rejected > 0]; ps.ErrorMessage() != wantMsg {
					t.Errorf("partial success message %q, want %q", ps.ErrorMessage(), wantMsg)
				}
			default:
				st := decodeStatus(t, gotType, respBody)
				code := codes.Internal
				switch tc.want {
				case 400, 415:
					code = codes.InvalidArgument
				case 404, 405:
					code = codes.Unimplemented
				case 413:
					code = codes.ResourceExhausted
				case 503:
					code = codes.Unavailable
				}
				if codes.Code(st.GetCode()) != code || !strings.Contains(st.GetMessage(), tc.wantMsg) {
					t.Errorf("status %v %q, want %v naming %q", codes.Code(st.GetCode()), st.GetMessage(), code, tc.wantMsg)
				}
			}
			if tc.want != 200 && c.kept() != keptBefore {
				t.Errorf("a refused request reached the consumer")
			}
		})
	}
	// Counted: only decoded requests. Accepted: ok, json, charset, two gzip,
	// 3-1 and 2-1 partial. Refused: the partial rejections, two unavailable,
	// one failed.
	want := []Stat{
		{Receiver: "otlp", Transport: "http", Signal: "traces", Received: 13, Accepted: 8, Refused: 5},
		{Receiver: "otlp", Transport: "http", Signal: "logs"},
		{Receiver: "otlp", Transport: "http", Signal: "metrics"},
	}
	if got := r.Stats(); !slices.Equal(got, want) {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}
