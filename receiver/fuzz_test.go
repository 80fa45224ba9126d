package receiver

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

var (
	fuzzPaths        = []string{"/v1/traces", "/v1/logs", "/v1/metrics"}
	fuzzContentTypes = []string{contentTypeProtobuf, contentTypeJSON, "text/plain"}
)

// FuzzHTTPHandler sends arbitrary bodies as protobuf, JSON or an unsupported
// type, plain, gzipped or falsely claiming gzip, to each path. The handler
// must not panic, must answer only documented codes (200, 400, 413, 415, and
// 503 when the consumer refuses), must answer in the request's encoding, and
// must keep received = accepted + refused, counting nothing it refused
// before decoding.
func FuzzHTTPHandler(f *testing.F) {
	for kind, body := range fuzzSeeds(f) {
		for _, enc := range []uint8{0, 1, 2} {
			f.Add(body, uint8(kind), enc)
		}
	}
	f.Add([]byte{}, uint8(0), uint8(0))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","kind":2}]}]}]}`), uint8(3), uint8(0))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"9"}]}]}]}`), uint8(4), uint8(0))
	f.Add([]byte{0x0a, 0x80, 0x80, 0x80, 0x80, 0x10}, uint8(2), uint8(0))

	c := &fakeConsumer{behave: func(_ string, n int, first string) (Outcome, error) {
		if first == "unavailable" {
			return behaveByName("", n, first)
		}
		return Outcome{Rejected: int64(n / 2), Message: "half"}, nil
	}}
	cfg := Config{OTLP: OTLPConfig{Protocols: Protocols{HTTP: &HTTPConfig{
		Endpoint: "127.0.0.1:0", MaxRequestBodySize: 64 << 10,
	}}}}
	r, err := New(cfg, c)
	if err != nil {
		f.Fatal(err)
	}
	// The same requests through the otlptrace path must be answered alike.
	fast, err := New(cfg, fastConsumer{&fakeConsumer{behave: c.behave}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, kind, enc uint8) {
		path := fuzzPaths[int(kind)%len(fuzzPaths)]
		ct := fuzzContentTypes[int(kind/3)%len(fuzzContentTypes)]
		sent := body
		switch enc % 3 {
		case 1:
			sent = gzipBytes(t, body)
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(sent))
		req.Header.Set("Content-Type", ct)
		if enc%3 != 0 {
			req.Header.Set("Content-Encoding", "gzip")
		}
		before := r.Stats()
		rec := httptest.NewRecorder()
		r.http.ServeHTTP(rec, req.Clone(req.Context()))
		after := r.Stats()
		frec := httptest.NewRecorder()
		freq := req.Clone(req.Context())
		freq.Body = io.NopCloser(bytes.NewReader(sent))
		fast.http.ServeHTTP(frec, freq)
		if frec.Code != rec.Code || (rec.Code == 200 && !bytes.Equal(frec.Body.Bytes(), rec.Body.Bytes())) {
			t.Fatalf("pdata path answered %d %x, otlptrace path %d %x", rec.Code, rec.Body.Bytes(), frec.Code, frec.Body.Bytes())
		}

		code := rec.Code
		switch code {
		case 200, 400, 413, 415, 503:
		default:
			t.Fatalf("undocumented status %d: %q", code, rec.Body.Bytes())
		}
		if (ct == "text/plain") != (code == 415) {
			t.Fatalf("content type %s answered %d", ct, code)
		}
		if code == 503 && rec.Header().Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		if code != 415 && rec.Header().Get("Content-Type") != ct {
			t.Fatalf("answered in %q, want %q", rec.Header().Get("Content-Type"), ct)
		}
		if code == 200 {
			var resp otlpMessage
			switch path {
			case "/v1/traces":
				resp = ptraceotlp.NewExportResponse()
			case "/v1/logs":
				resp = plogotlp.NewExportResponse()
			default:
				resp = pmetricotlp.NewExportResponse()
			}
			if err := encodingOf(ct).unmarshal(rec.Body.Bytes(), resp); err != nil {
				t.Fatalf("200 response does not decode: %v", err)
			}
		} else if code != 415 {
			decodeStatus(t, ct, rec.Body.Bytes())
		}
		for i, s := range after {
			if s.Received != s.Accepted+s.Refused {
				t.Fatalf("stat %+v breaks received = accepted + refused", s)
			}
			if code != 200 && code != 503 && s != before[i] {
				t.Fatalf("a request answered %d changed the counts: %+v -> %+v", code, before[i], s)
			}
		}
	})
}

// fuzzSeeds returns a valid body per kind (path x content type, as the fuzz
// target reads kind); the unsupported type reuses the protobuf bodies.
func fuzzSeeds(f *testing.F) [][]byte {
	trProto, _ := ptraceotlp.NewExportRequestFromTraces(testTraces("a", "b", "unavailable")).MarshalProto()
	lgProto, _ := plogotlp.NewExportRequestFromLogs(testLogs("GET / 200", 3)).MarshalProto()
	mtProto, _ := pmetricotlp.NewExportRequestFromMetrics(testMetrics("requests", 4)).MarshalProto()
	trJSON, _ := ptraceotlp.NewExportRequestFromTraces(testTraces("a", "b")).MarshalJSON()
	lgJSON, _ := plogotlp.NewExportRequestFromLogs(testLogs("unavailable", 1)).MarshalJSON()
	mtJSON, _ := pmetricotlp.NewExportRequestFromMetrics(testMetrics("requests", 3)).MarshalJSON()
	if len(trProto) == 0 || len(trJSON) == 0 {
		f.Fatal("seed encoding failed")
	}
	return [][]byte{trProto, lgProto, mtProto, trJSON, lgJSON, mtJSON, trProto, lgProto, mtProto}
}
