package jaegertest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LogRecord is an OTLP log record as Jaeger received it. Attribute values
// are rendered as strings: strings as is, ints and doubles in decimal, bools
// as true/false, arrays and maps as JSON, bytes as base64.
type LogRecord struct {
	Resource       map[string]string
	ScopeName      string
	ScopeVersion   string
	Time           time.Time // zero if unset
	ObservedTime   time.Time
	SeverityNumber int
	SeverityText   string
	Body           string
	EventName      string
	Attributes     map[string]string
	TraceID        string // lowercase hex, "" if unset
	SpanID         string
}

// ServiceName returns the resource's service.name.
func (r LogRecord) ServiceName() string { return r.Resource["service.name"] }

func (r LogRecord) String() string {
	return fmt.Sprintf("%s %s[%d] %q attrs=%v resource=%v trace=%s span=%s",
		r.Time.Format(time.RFC3339Nano), r.SeverityText, r.SeverityNumber, r.Body,
		sortedKV(r.Attributes), sortedKV(r.Resource), r.TraceID, r.SpanID)
}

func sortedKV(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + m[k])
	}
	return "{" + b.String() + "}"
}

// Logs returns every log record Jaeger has forwarded so far, in arrival order.
func (j *Jaeger) Logs() []LogRecord {
	j.sink.mu.Lock()
	defer j.sink.mu.Unlock()
	return append([]LogRecord(nil), j.sink.records...)
}

// logSink receives OTLP/HTTP JSON log exports from Jaeger's otlphttp exporter.
type logSink struct {
	srv     *httptest.Server
	url     string
	mu      sync.Mutex
	records []LogRecord
	errs    []string
}

func newLogSink() (*logSink, error) {
	s := &logSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve)) // 127.0.0.1:0
	s.url = s.srv.URL
	return s, nil
}

func (s *logSink) close() { s.srv.Close() }

func (s *logSink) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/logs" {
		http.Error(w, "only POST /v1/logs", http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "only application/json, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	recs, err := decodeLogs(data)
	s.mu.Lock()
	if err != nil {
		s.errs = append(s.errs, err.Error())
	}
	s.records = append(s.records, recs...)
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}

// OTLP/JSON (protobuf JSON mapping) of ExportLogsServiceRequest.
type otlpLogsRequest struct {
	ResourceLogs []struct {
		Resource struct {
			Attributes []otlpKV `json:"attributes"`
		} `json:"resource"`
		ScopeLogs []struct {
			Scope struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"scope"`
			LogRecords []struct {
				TimeUnixNano         flexInt    `json:"timeUnixNano"`
				ObservedTimeUnixNano flexInt    `json:"observedTimeUnixNano"`
				SeverityNumber       flexInt    `json:"severityNumber"`
				SeverityText         string     `json:"severityText"`
				Body                 *otlpValue `json:"body"`
				Attributes           []otlpKV   `json:"attributes"`
				TraceID              string     `json:"traceId"`
				SpanID               string     `json:"spanId"`
				EventName            string     `json:"eventName"`
			} `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

type otlpKV struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

type otlpValue struct {
	StringValue *string          `json:"stringValue"`
	BoolValue   *bool            `json:"boolValue"`
	IntValue    *flexInt         `json:"intValue"`
	DoubleValue *json.RawMessage `json:"doubleValue"`
	BytesValue  *string          `json:"bytesValue"`
	ArrayValue  *struct {
		Values []otlpValue `json:"values"`
	} `json:"arrayValue"`
	KvlistValue *struct {
		Values []otlpKV `json:"values"`
	} `json:"kvlistValue"`
}

func (v *otlpValue) native() any {
	switch {
	case v == nil:
		return nil
	case v.StringValue != nil:
		return *v.StringValue
	case v.BoolValue != nil:
		return *v.BoolValue
	case v.IntValue != nil:
		return int64(*v.IntValue)
	case v.DoubleValue != nil:
		var f float64
		if err := json.Unmarshal(*v.DoubleValue, &f); err != nil {
			return strings.Trim(string(*v.DoubleValue), `"`) // "NaN", "Infinity"
		}
		return f
	case v.BytesValue != nil:
		return *v.BytesValue
	case v.ArrayValue != nil:
		out := make([]any, len(v.ArrayValue.Values))
		for i := range v.ArrayValue.Values {
			out[i] = v.ArrayValue.Values[i].native()
		}
		return out
	case v.KvlistValue != nil:
		out := map[string]any{}
		for i := range v.KvlistValue.Values {
			out[v.KvlistValue.Values[i].Key] = v.KvlistValue.Values[i].Value.native()
		}
		return out
	}
	return nil
}

func (v *otlpValue) String() string {
	switch x := v.native().(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func kvMap(kvs []otlpKV) map[string]string {
	m := make(map[string]string, len(kvs))
	for i := range kvs {
		m[kvs[i].Key] = kvs[i].Value.String()
	}
	return m
}

// flexInt decodes an int64 written as a JSON number or string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		u, uerr := strconv.ParseUint(s, 10, 64)
		if uerr != nil {
			return err
		}
		n = int64(u)
	}
	*f = flexInt(n)
	return nil
}

func unixNano(n flexInt) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

func decodeLogs(data []byte) ([]LogRecord, error) {
	var req otlpLogsRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, fmt.Errorf("decode OTLP/JSON logs: %w", err)
	}
	var out []LogRecord
	for _, rl := range req.ResourceLogs {
		res := kvMap(rl.Resource.Attributes)
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				out = append(out, LogRecord{
					Resource:       res,
					ScopeName:      sl.Scope.Name,
					ScopeVersion:   sl.Scope.Version,
					Time:           unixNano(lr.TimeUnixNano),
					ObservedTime:   unixNano(lr.ObservedTimeUnixNano),
					SeverityNumber: int(lr.SeverityNumber),
					SeverityText:   lr.SeverityText,
					Body:           lr.Body.String(),
					EventName:      lr.EventName,
					Attributes:     kvMap(lr.Attributes),
					TraceID:        strings.ToLower(lr.TraceID),
					SpanID:         strings.ToLower(lr.SpanID),
				})
			}
		}
	}
	return out, nil
}
