package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

var htmlPage = "<!DOCTYPE html>\n<html>\n<head><title>404 Not Found</title></head>\n<body>\n<h1>Not Found</h1>\n" +
	strings.Repeat("<p>The requested URL was not found on this server.</p>\n", 40) + "</body></html>"

// TestExportErrorMessages: the messages the OTLP exporters actually return
// (recorded against real endpoints), as one line naming exporter and signal.
func TestExportErrorMessages(t *testing.T) {
	tests := []struct {
		name, exporter, signal, err string
		want                        string // the whole line, or with "…" a prefix and what follows
	}{
		{"grpc TLS to plaintext", "otlp", "traces",
			`traces export: exporter export timeout: rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: first record does not look like a TLS handshake"`,
			`export otlp traces: exporter export timeout: rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: first record does not look like a TLS handshake"; the endpoint does not speak TLS: set exporters.otlp.insecure: true (or OTEL_EXPORTER_OTLP_INSECURE=true), or give an http:// URL`},
		{"http TLS to plaintext", "otlp", "logs",
			`Post "https://127.0.0.1:44851/v1/logs": http: server gave HTTP response to HTTPS client`,
			`export otlp logs: Post "https://127.0.0.1:44851/v1/logs": http: server gave HTTP response to HTTPS client; the endpoint does not speak TLS: set exporters.otlp.insecure: true (or OTEL_EXPORTER_OTLP_INSECURE=true), or give an http:// URL`},
		{"jaeger https URL to plaintext", "jaeger", "traces",
			`traces export: Post "https://jaeger:4318/v1/traces": http: server gave HTTP response to HTTPS client`,
			`export jaeger traces: Post "https://jaeger:4318/v1/traces": http: server gave HTTP response to HTTPS client; the endpoint does not speak TLS: give exporters.jaeger.endpoint as host:port or an http:// URL`},
		{"plaintext to TLS", "otlp", "traces",
			`traces export: failed to send to http://127.0.0.1:41753/v1/traces: 400 Bad Request (body: Client sent an HTTP request to an HTTPS server.)`,
			`export otlp traces: failed to send to http://127.0.0.1:41753/v1/traces: 400 Bad Request (body: Client sent an HTTP request to an HTTPS server.); the endpoint expects TLS: give an https:// URL, or host:port without insecure: true`},
		{"metrics prefix", "jaeger", "metrics",
			`failed to upload metrics: exporter export timeout: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:4317: connect: connection refused"`,
			`export jaeger metrics: exporter export timeout: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:4317: connect: connection refused"`},
		{"bare deadline", "otlp", "logs", `context deadline exceeded`,
			`export otlp logs: context deadline exceeded: no answer within the 10s export timeout`},
		{"HTML body", "otlp", "traces",
			"traces export: failed to send to http://127.0.0.1:1/v1/traces: 404 Not Found (body: " + htmlPage + ")",
			"export otlp traces: failed to send to http://127.0.0.1:1/v1/traces: 404 Not Found (body: 404 Not Found Not Found The requested URL was not found on this server. The requested URL was not fo…)"},
		{"retryable HTML body", "otlp", "traces",
			"traces export: context deadline exceeded: retry-able request failure: body: <html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>",
			"export otlp traces: context deadline exceeded: retry-able request failure: body: 502 Bad Gateway 502 Bad Gateway nginx"},
		{"binary body", "otlp", "traces", "failed to send: 400 Bad Request (body: \x08\x03\x12\x0bbad\x00request\xff)",
			"export otlp traces: failed to send: 400 Bad Request (body: bad request\uFFFD)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newCounter(tt.exporter, tt.signal, 10*time.Second).wrap(errors.New(tt.err))
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	long := strings.Repeat("é", 500)
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\n\n b\t\tc\r\n", 100, "a b c"},
		{"  lead", 100, "lead"},
		{"abcdef", 3, "abc…"},
		{"ab cdef", 3, "ab…"},
		{long, 10, strings.Repeat("é", 10) + "…"},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in, tt.n); got != tt.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
	if got := cleanMessage(long); utf8.RuneCountInString(got) != maxErrorLine+1 {
		t.Errorf("cleanMessage of 500 runes: %d runes, want %d", utf8.RuneCountInString(got), maxErrorLine+1)
	}
}

// TestErrorHandlerLines: an export error is one line naming exporter and
// signal; any other SDK error is one line too.
func TestErrorHandlerLines(t *testing.T) {
	var b strings.Builder
	h := NewErrorHandler(&b, 10)
	h.Handle(newCounter("otlp", "traces", time.Second).wrap(errors.New("traces export: context deadline exceeded")))
	h.Handle(fmt.Errorf("sdk: %w", newCounter("jaeger", "logs", time.Second).wrap(errors.New("boom\nagain"))))
	h.Handle(errors.New("some other\nerror"))
	want := "meshobs: export otlp traces: context deadline exceeded: no answer within the 1s export timeout\n" +
		"meshobs: sdk: export jaeger logs: boom again\n" +
		"meshobs: opentelemetry: some other error\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// errorCapture is an otel.ErrorHandler keeping what the SDK reports: the
// log batch processor reports failed exports only there.
type errorCapture struct {
	mu   sync.Mutex
	errs []error
}

func (c *errorCapture) Handle(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

// flushErrors sends one span, one log record and one metric point through
// s and returns, per signal, the error its flush returned or else the first
// one the SDK reported for it.
func flushErrors(t *testing.T, s *Set) map[string]error {
	t.Helper()
	capture := &errorCapture{}
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(capture)
	defer otel.SetErrorHandler(prev)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := map[string]error{}
	if ps := s.SpanProcessors(); len(ps) > 0 {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(ps[0]))
		_, span := tp.Tracer("test").Start(ctx, "op")
		span.End()
		errs[SignalTraces] = first(tp.ForceFlush(ctx), tp.Shutdown(ctx))
	}
	if ps := s.LogProcessors(); len(ps) > 0 {
		lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(ps[0]))
		var r otellog.Record
		lp.Logger("test").Emit(ctx, r)
		errs[SignalLogs] = first(lp.ForceFlush(ctx), lp.Shutdown(ctx))
	}
	if rs := s.MetricReaders(); len(rs) > 0 {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rs[0]))
		c, _ := mp.Meter("test").Int64Counter("n")
		c.Add(ctx, 1)
		errs[SignalMetrics] = first(mp.ForceFlush(ctx), mp.Shutdown(ctx))
	}
	capture.mu.Lock()
	defer capture.mu.Unlock()
	for _, err := range capture.errs {
		var ee *exportError
		if errors.As(err, &ee) && errs[ee.signal] == nil {
			errs[ee.signal] = err
		}
	}
	return errs
}

func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestTLSToPlaintextEndpoint: against real plaintext endpoints, with TLS
// on (the default for host:port), every signal's error says how to fix it.
func TestTLSToPlaintextEndpoint(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	hostPort := strings.TrimPrefix(plain.URL, "http://")
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			s, err := New(context.Background(), Config{OTLP: OTLP{Enabled: true, Endpoint: hostPort, Protocol: protocol, Timeout: 500 * time.Millisecond}},
				WithGetenv(envOf(nil)))
			if err != nil {
				t.Fatal(err)
			}
			errs := flushErrors(t, s)
			for _, signal := range []string{SignalTraces, SignalLogs, SignalMetrics} {
				err := errs[signal]
				if err == nil {
					t.Errorf("%s: no error exporting over TLS to a plaintext endpoint", signal)
					continue
				}
				msg := err.Error()
				if !strings.Contains(msg, "export otlp "+signal+": ") || !strings.Contains(msg, "insecure: true") ||
					strings.Contains(msg, "\n") {
					t.Errorf("%s: %q, want one line naming otlp %s with the insecure: true hint", signal, msg, signal)
				}
			}
		})
	}
}

// TestHTMLErrorBody: a proxy's HTML error page is cut to one short line.
func TestHTMLErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, htmlPage)
	}))
	t.Cleanup(srv.Close)
	s, err := New(context.Background(), Config{OTLP: OTLP{Enabled: true, Endpoint: srv.URL, Protocol: ProtocolHTTPProtobuf, Signals: []string{SignalTraces}}},
		WithGetenv(envOf(nil)))
	if err != nil {
		t.Fatal(err)
	}
	err = flushErrors(t, s)[SignalTraces]
	var b strings.Builder
	NewErrorHandler(&b, 5).Handle(err)
	line := b.String()
	if !strings.HasPrefix(line, "meshobs: export otlp traces: ") || strings.Count(line, "\n") != 1 ||
		strings.Contains(line, "<") || !strings.Contains(line, "404 Not Found") || utf8.RuneCountInString(line) > 300 {
		t.Errorf("error line (%d runes) %q", utf8.RuneCountInString(line), line)
	}
}

// TestGRPCDeadlineNamed: a gRPC endpoint that never answers gives a
// deadline error that names the exporter and signal.
func TestGRPCDeadlineNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // accept and stay silent
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	s, err := New(context.Background(), Config{OTLP: OTLP{Enabled: true, Endpoint: ln.Addr().String(), Protocol: ProtocolGRPC,
		Insecure: true, Timeout: 300 * time.Millisecond, Signals: []string{SignalLogs}}}, WithGetenv(envOf(nil)))
	if err != nil {
		t.Fatal(err)
	}
	err = flushErrors(t, s)[SignalLogs]
	if err == nil || !strings.HasPrefix(err.Error(), "export otlp logs: ") || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("err %v, want a deadline error naming otlp logs", err)
	}
}
