package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// fakeConsumer keeps copies of what it accepts. behave, when set, decides
// each call's answer from the signal, the item count and the first item's
// name (span name, log body, metric name); gate, when set, holds each call
// until it is closed, after signalling entered.
type fakeConsumer struct {
	behave  func(signal string, items int, first string) (Outcome, error)
	entered chan struct{}
	gate    chan struct{}

	mu      sync.Mutex
	traces  []ptrace.Traces
	logs    []plog.Logs
	metrics []pmetric.Metrics
	calls   int
}

func (f *fakeConsumer) wait(ctx context.Context) {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
		}
	}
}

func (f *fakeConsumer) answer(signal string, items int, first string) (Outcome, error) {
	if f.behave == nil {
		return Outcome{}, nil
	}
	return f.behave(signal, items, first)
}

func (f *fakeConsumer) ConsumeTraces(ctx context.Context, td ptrace.Traces) (Outcome, error) {
	f.wait(ctx)
	first := ""
	if rs := td.ResourceSpans(); rs.Len() > 0 && rs.At(0).ScopeSpans().Len() > 0 && rs.At(0).ScopeSpans().At(0).Spans().Len() > 0 {
		first = rs.At(0).ScopeSpans().At(0).Spans().At(0).Name()
	}
	out, err := f.answer("traces", td.SpanCount(), first)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err == nil {
		c := ptrace.NewTraces()
		td.CopyTo(c)
		f.traces = append(f.traces, c)
	}
	return out, err
}

func (f *fakeConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) (Outcome, error) {
	f.wait(ctx)
	first := ""
	if rl := ld.ResourceLogs(); rl.Len() > 0 && rl.At(0).ScopeLogs().Len() > 0 && rl.At(0).ScopeLogs().At(0).LogRecords().Len() > 0 {
		first = rl.At(0).ScopeLogs().At(0).LogRecords().At(0).Body().AsString()
	}
	out, err := f.answer("logs", ld.LogRecordCount(), first)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err == nil {
		c := plog.NewLogs()
		ld.CopyTo(c)
		f.logs = append(f.logs, c)
	}
	return out, err
}

func (f *fakeConsumer) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) (Outcome, error) {
	f.wait(ctx)
	first := ""
	if rm := md.ResourceMetrics(); rm.Len() > 0 && rm.At(0).ScopeMetrics().Len() > 0 && rm.At(0).ScopeMetrics().At(0).Metrics().Len() > 0 {
		first = rm.At(0).ScopeMetrics().At(0).Metrics().At(0).Name()
	}
	out, err := f.answer("metrics", md.DataPointCount(), first)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err == nil {
		c := pmetric.NewMetrics()
		md.CopyTo(c)
		f.metrics = append(f.metrics, c)
	}
	return out, err
}

// allTraces, allLogs and allMetrics return what was accepted.
func (f *fakeConsumer) allTraces() []ptrace.Traces {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ptrace.Traces(nil), f.traces...)
}

func (f *fakeConsumer) allLogs() []plog.Logs {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]plog.Logs(nil), f.logs...)
}

func (f *fakeConsumer) allMetrics() []pmetric.Metrics {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pmetric.Metrics(nil), f.metrics...)
}

func (f *fakeConsumer) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// kept is how many requests were accepted.
func (f *fakeConsumer) kept() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.traces) + len(f.logs) + len(f.metrics)
}

// behaveByName answers by the first item's name: "unavailable" is refused
// as retryable, "partial" has one item rejected, "fail" is an internal error.
func behaveByName(_ string, _ int, first string) (Outcome, error) {
	switch first {
	case "unavailable":
		return Outcome{}, fmt.Errorf("fake: queue full: %w", ErrUnavailable)
	case "partial":
		return Outcome{Rejected: 1, Message: "one item refused"}, nil
	case "fail":
		return Outcome{}, errors.New("fake: broken")
	}
	return Outcome{}, nil
}

// testTraces builds one span per name, under a resource with service.name.
func testTraces(names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	ss := rs.ScopeSpans().AppendEmpty()
	for i, n := range names {
		sp := ss.Spans().AppendEmpty()
		sp.SetName(n)
		sp.SetTraceID(pcommon.TraceID{1, 2, 3, byte(i)})
		sp.SetSpanID(pcommon.SpanID{4, 5, byte(i)})
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(1_700_000_000_000_000_000)
		sp.SetEndTimestamp(1_700_000_000_100_000_000)
		sp.Attributes().PutInt("http.response.status_code", 200)
	}
	return td
}

// tracesBody encodes testTraces(names...) as an OTLP/HTTP body.
func tracesBody(t testing.TB, json bool, names ...string) []byte {
	t.Helper()
	req := ptraceotlp.NewExportRequestFromTraces(testTraces(names...))
	var (
		b   []byte
		err error
	)
	if json {
		b, err = req.MarshalJSON()
	} else {
		b, err = req.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loopbackConfig turns on both transports on free loopback ports.
func loopbackConfig() Config {
	return Config{OTLP: OTLPConfig{Protocols: Protocols{
		GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0"},
		HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0"},
	}}}
}

// startReceivers starts receivers for cfg and shuts them down at cleanup.
func startReceivers(t testing.TB, cfg Config, c Consumer) *Receivers {
	t.Helper()
	r, err := New(cfg, c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return r
}

// newHTTPClient returns a client whose idle connections are closed at cleanup.
func newHTTPClient(t testing.TB, tlsCfg *tls.Config) *http.Client {
	tr := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: tlsCfg != nil}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// post sends body and returns the response with its body read.
func post(t testing.TB, c *http.Client, url string, header map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// decodeStatus decodes a google.rpc.Status error body in its content type.
func decodeStatus(t testing.TB, contentType string, body []byte) *spb.Status {
	t.Helper()
	st := &spb.Status{}
	var err error
	switch contentType {
	case contentTypeProtobuf:
		err = proto.Unmarshal(body, st)
	case contentTypeJSON:
		err = protojson.Unmarshal(body, st)
	default:
		t.Fatalf("error body content type %q, want protobuf or JSON", contentType)
	}
	if err != nil {
		t.Fatalf("error body is not a google.rpc.Status (%s): %v: %q", contentType, err, body)
	}
	return st
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string
	caPool                    *x509.CertPool
	client                    tls.Certificate
	otherClient               tls.Certificate // signed by another CA
}

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	dir := t.TempDir()
	caCert, caKey := newCert(t, nil, nil, true, "test CA")
	srvCert, srvKey := newCert(t, caCert, caKey, false, "127.0.0.1")
	cliCert, cliKey := newCert(t, caCert, caKey, false, "client")
	otherCA, otherKey := newCert(t, nil, nil, true, "other CA")
	otherCert, otherCliKey := newCert(t, otherCA, otherKey, false, "other client")

	p := testPKI{
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "server.pem"),
		keyFile:  filepath.Join(dir, "server-key.pem"),
		caPool:   x509.NewCertPool(),
	}
	p.caPool.AddCert(caCert)
	writePEM(t, p.caFile, "CERTIFICATE", caCert.Raw)
	writePEM(t, p.certFile, "CERTIFICATE", srvCert.Raw)
	writePEM(t, p.keyFile, "EC PRIVATE KEY", marshalKey(t, srvKey))
	p.client = tls.Certificate{Certificate: [][]byte{cliCert.Raw}, PrivateKey: cliKey}
	p.otherClient = tls.Certificate{Certificate: [][]byte{otherCert.Raw}, PrivateKey: otherCliKey}
	return p
}

func newCert(t testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func marshalKey(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
