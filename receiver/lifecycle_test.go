package receiver

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// exportOne sends one small traces request over the given transport and
// returns the HTTP status, or the gRPC code mapped to it through mapError's
// table (200 for OK), or an error when the request could not be sent.
func exportOne(t testing.TB, tr string, addr string, name string) (int, error) {
	t.Helper()
	if tr == "http" {
		c := newHTTPClient(t, nil)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/traces", bytes.NewReader(tracesBody(t, false, name)))
		req.Header.Set("Content-Type", contentTypeProtobuf)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	_, err := ptraceotlp.NewGRPCClient(dialGRPC(t, addr)).Export(context.Background(),
		ptraceotlp.NewExportRequestFromTraces(testTraces(name)))
	switch status.Code(err) {
	case codes.OK:
		return 200, nil
	case codes.Unavailable:
		if strings.Contains(status.Convert(err).Message(), "receiver:") {
			return 503, nil
		}
		return 0, err // could not connect
	}
	return 0, err
}

func addrOf(r *Receivers, tr string) string {
	if tr == "http" {
		return r.Addrs().HTTP
	}
	return r.Addrs().GRPC
}

// TestRetryUntilConsumerRecovers: the consumer refuses the first export as
// unavailable; the real exporter is told to retry (Retry-After / RetryInfo),
// does, and succeeds.
func TestRetryUntilConsumerRecovers(t *testing.T) {
	for _, tr := range []string{"grpc", "http"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			calls := 0
			c := &fakeConsumer{behave: func(string, int, string) (Outcome, error) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				if calls == 1 {
					return Outcome{}, fmt.Errorf("fake: full: %w", ErrUnavailable)
				}
				return Outcome{}, nil
			}}
			r := startReceivers(t, loopbackConfig(), c)
			start := time.Now()
			sent, err := emitTraces(t, traceExporter(t, tr, exporterOpts{addr: addrOf(r, tr), retry: true}))
			if err != nil {
				t.Fatalf("export failed despite retries: %v", err)
			}
			if waited := time.Since(start); waited < RetryAfter {
				t.Errorf("retried after %v, before the %v the receiver asked for", waited, RetryAfter)
			}
			checkTraces(t, c.allTraces(), sent)
			// Two exports of one span each; the first refused once, then retried.
			for _, s := range r.Stats() {
				if s.Transport == tr && s.Signal == "traces" && (s.Received != 3 || s.Accepted != 2 || s.Refused != 1) {
					t.Errorf("stat %+v, want received 3 = accepted 2 + refused 1", s)
				}
			}
		})
	}
}

// TestConcurrencyBound: with max_concurrent_requests 1 and one request held
// in the consumer, the next is refused at once as retryable; once the first
// finishes, requests are taken again.
func TestConcurrencyBound(t *testing.T) {
	for _, tr := range []string{"grpc", "http"} {
		t.Run(tr, func(t *testing.T) {
			c := &fakeConsumer{entered: make(chan struct{}, 8), gate: make(chan struct{})}
			cfg := Config{OTLP: OTLPConfig{Protocols: Protocols{
				GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0", MaxConcurrentRequests: 1},
				HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0", MaxConcurrentRequests: 1},
			}}}
			r := startReceivers(t, cfg, c)
			addr := addrOf(r, tr)
			first := make(chan int, 1)
			go func() {
				code, err := exportOne(t, tr, addr, "held")
				if err != nil {
					t.Error(err)
				}
				first <- code
			}()
			<-c.entered
			if code, err := exportOne(t, tr, addr, "second"); code != 503 {
				t.Errorf("second request while one is held: %d %v, want 503", code, err)
			}
			close(c.gate)
			if code := <-first; code != 200 {
				t.Errorf("held request: %d, want 200", code)
			}
			if code, err := exportOne(t, tr, addr, "third"); code != 200 {
				t.Errorf("request after the held one finished: %d %v, want 200", code, err)
			}
			if c.callCount() != 2 {
				t.Errorf("consumer called %d times, want 2 (the refused request never reaches it)", c.callCount())
			}
		})
	}
}

// TestShutdownFinishesInFlight: Shutdown waits for a request held in the
// consumer, refuses new ones meanwhile, and returns once it is answered.
func TestShutdownFinishesInFlight(t *testing.T) {
	for _, tr := range []string{"grpc", "http"} {
		t.Run(tr, func(t *testing.T) {
			c := &fakeConsumer{entered: make(chan struct{}, 8), gate: make(chan struct{})}
			r, err := New(loopbackConfig(), c)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !r.Ready() {
				t.Fatal("not ready after Start")
			}
			addr := addrOf(r, tr)
			first := make(chan int, 1)
			go func() {
				code, err := exportOne(t, tr, addr, "held")
				if err != nil {
					t.Error(err)
				}
				first <- code
			}()
			<-c.entered
			stopped := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				stopped <- r.Shutdown(ctx)
			}()
			eventually(t, "Ready() to turn false", func() bool { return !r.Ready() })
			if code, err := exportOne(t, tr, addr, "late"); code == 200 {
				t.Errorf("a request during shutdown was taken (%v)", err)
			}
			select {
			case err := <-stopped:
				t.Fatalf("Shutdown returned (%v) before the in-flight request finished", err)
			default:
			}
			close(c.gate)
			if code := <-first; code != 200 {
				t.Errorf("in-flight request: %d, want 200", code)
			}
			if err := <-stopped; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if code, err := exportOne(t, tr, addr, "after"); err == nil {
				t.Errorf("a request after shutdown was answered %d", code)
			}
			if got := len(c.allTraces()); got != 1 {
				t.Errorf("consumer kept %d requests, want the in-flight one", got)
			}
		})
	}
}

// TestShutdownBoundedByContext: a request that never finishes does not hold
// Shutdown past its context.
func TestShutdownBoundedByContext(t *testing.T) {
	for _, tr := range []string{"grpc", "http"} {
		t.Run(tr, func(t *testing.T) {
			c := &fakeConsumer{entered: make(chan struct{}, 8), gate: make(chan struct{})}
			r, err := New(loopbackConfig(), c)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = exportOne(t, tr, addrOf(r, tr), "held")
			}()
			<-c.entered
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := r.Shutdown(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Shutdown with an ended context: %v, want context.Canceled", err)
			}
			close(c.gate)
			<-done
		})
	}
}

// TestTLS serves both transports over TLS with a client CA: only clients
// with a certificate from that CA get through; without client_ca_file any
// TLS client does; a plaintext client never does.
func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	trusted := &tls.Config{RootCAs: pki.caPool, Certificates: []tls.Certificate{pki.client}}
	noCert := &tls.Config{RootCAs: pki.caPool}
	wrongCA := &tls.Config{RootCAs: pki.caPool, Certificates: []tls.Certificate{pki.otherClient}}
	for _, mutual := range []bool{true, false} {
		tlsCfg := &TLSConfig{CertFile: pki.certFile, KeyFile: pki.keyFile}
		if mutual {
			tlsCfg.ClientCAFile = pki.caFile
		}
		cfg := Config{OTLP: OTLPConfig{Protocols: Protocols{
			GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0", TLS: tlsCfg},
			HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0", TLS: tlsCfg},
		}}}
		for _, tr := range []string{"grpc", "http"} {
			for _, tc := range []struct {
				name   string
				client *tls.Config
				ok     bool
			}{
				{"client cert", trusted, true},
				{"no client cert", noCert, !mutual},
				{"client cert of another CA", wrongCA, !mutual},
				{"plaintext", nil, false},
			} {
				t.Run(fmt.Sprintf("mutual=%v/%s/%s", mutual, tr, tc.name), func(t *testing.T) {
					c := &fakeConsumer{}
					r := startReceivers(t, cfg, c)
					_, err := emitTraces(t, traceExporter(t, tr, exporterOpts{addr: addrOf(r, tr), tls: tc.client}))
					if tc.ok != (err == nil) {
						t.Fatalf("export error %v, want success %v", err, tc.ok)
					}
					if got := len(c.allTraces()) > 0; got != tc.ok {
						t.Errorf("consumer got data: %v, want %v", got, tc.ok)
					}
				})
			}
		}
	}
}

// TestBearerAuth checks the bearer token on OTLP/HTTP (401 with
// WWW-Authenticate) and that the real exporters pass with the header set.
func TestBearerAuth(t *testing.T) {
	token := writeFile(t, "token", "s3cret\n")
	cfg := Config{OTLP: OTLPConfig{Protocols: Protocols{
		GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0", Auth: &AuthConfig{BearerTokenFile: token}},
		HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0", Auth: &AuthConfig{BearerTokenFile: token}},
	}}}
	c := &fakeConsumer{}
	r := startReceivers(t, cfg, c)
	client := newHTTPClient(t, nil)
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", 401},
		{"Bearer nope", 401},
		{"Bearer s3cret", 200},
		{"BEARER s3cret", 200},
	} {
		h := map[string]string{"Content-Type": contentTypeJSON}
		if tc.auth != "" {
			h["Authorization"] = tc.auth
		}
		resp, body := post(t, client, "http://"+r.Addrs().HTTP+"/v1/traces", h, tracesBody(t, true, "a"))
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
		if tc.want == 401 {
			if resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if st := decodeStatus(t, resp.Header.Get("Content-Type"), body); codes.Code(st.GetCode()) != codes.Unauthenticated {
				t.Errorf("401 body status %v", st)
			}
		}
	}
	for _, tr := range []string{"grpc", "http"} {
		for _, tc := range []struct {
			headers map[string]string
			ok      bool
		}{
			{nil, false},
			{map[string]string{"Authorization": "Bearer wrong"}, false},
			{map[string]string{"Authorization": "Bearer s3cret"}, true},
		} {
			err := emitLogs(t, logExporter(t, tr, exporterOpts{addr: addrOf(r, tr), headers: tc.headers}))
			if (err == nil) != tc.ok {
				t.Errorf("%s exporter with %v: %v, want success %v", tr, tc.headers, err, tc.ok)
			}
		}
	}
	if got := len(c.allLogs()); got != 4 {
		t.Errorf("consumer got %d log requests, want 4 (2 records x 2 authorized exporters)", got)
	}
}

// TestStatsConcurrentSafe exports from many goroutines over both transports
// with mixed outcomes while Stats is read: every snapshot keeps received =
// accepted + refused, and the totals are exact.
func TestStatsConcurrentSafe(t *testing.T) {
	c := &fakeConsumer{behave: behaveByName}
	cfg := Config{OTLP: OTLPConfig{Protocols: Protocols{
		GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0", MaxConcurrentRequests: 1000},
		HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0", MaxConcurrentRequests: 1000},
	}}}
	r := startReceivers(t, cfg, c)
	httpClient := newHTTPClient(t, nil)
	grpcClient := ptraceotlp.NewGRPCClient(dialGRPC(t, r.Addrs().GRPC))

	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			for _, s := range r.Stats() {
				if s.Received != s.Accepted+s.Refused {
					t.Errorf("snapshot %+v breaks received = accepted + refused", s)
					return
				}
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()

	const workers, perWorker = 8, 25
	names := []string{"ok", "partial", "unavailable"} // 3 spans each
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				name := names[(w+i)%len(names)]
				spans := []string{name, "b", "c"}
				if w%2 == 0 {
					_, err := grpcClient.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(testTraces(spans...)))
					if name != "unavailable" && err != nil {
						t.Error(err)
					}
					continue
				}
				resp, _ := post(t, httpClient, "http://"+r.Addrs().HTTP+"/v1/traces",
					map[string]string{"Content-Type": contentTypeProtobuf}, tracesBody(t, false, spans...))
				if want := map[bool]int{true: 503, false: 200}[name == "unavailable"]; resp.StatusCode != want {
					t.Errorf("%s: %d, want %d", name, resp.StatusCode, want)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-readerDone

	// Per transport: 4 workers x 25 requests x 3 spans; by name, the
	// (w+i)%3 cycle gives each worker 9, 8, 8 or 8, 9, 8 ... requests.
	var want [numTransports]struct{ received, accepted, refused int64 }
	for w := range workers {
		tr := transportGRPC
		if w%2 == 1 {
			tr = transportHTTP
		}
		for i := range perWorker {
			e := &want[tr]
			e.received += 3
			switch names[(w+i)%len(names)] {
			case "ok":
				e.accepted += 3
			case "partial":
				e.accepted += 2
				e.refused++
			default:
				e.refused += 3
			}
		}
	}
	for _, s := range r.Stats() {
		if s.Signal != "traces" {
			continue
		}
		tr := transportGRPC
		if s.Transport == "http" {
			tr = transportHTTP
		}
		if e := want[tr]; s.Received != e.received || s.Accepted != e.accepted || s.Refused != e.refused {
			t.Errorf("stat %+v, want %+v", s, e)
		}
	}
}

// TestStartErrors: every file and address problem is reported at Start,
// naming its key, and leaves nothing bound.
func TestStartErrors(t *testing.T) {
	pki := newTestPKI(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	empty := writeFile(t, "empty", " \n")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"http endpoint busy", Config{OTLP: OTLPConfig{Protocols: Protocols{
			GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0"},
			HTTP: &HTTPConfig{Endpoint: busy.Addr().String()}}}}, "receivers.otlp.protocols.http.endpoint"},
		{"grpc endpoint busy", Config{OTLP: OTLPConfig{Protocols: Protocols{
			GRPC: &GRPCConfig{Endpoint: busy.Addr().String()}}}}, "receivers.otlp.protocols.grpc.endpoint"},
		{"missing cert", Config{OTLP: OTLPConfig{Protocols: Protocols{
			GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0", TLS: &TLSConfig{CertFile: "/nonexistent.pem", KeyFile: pki.keyFile}}}}},
			"receivers.otlp.protocols.grpc.tls.cert_file"},
		{"bad client CA", Config{OTLP: OTLPConfig{Protocols: Protocols{
			HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0", TLS: &TLSConfig{CertFile: pki.certFile, KeyFile: pki.keyFile, ClientCAFile: empty}}}}},
			"receivers.otlp.protocols.http.tls.client_ca_file"},
		{"missing token", Config{OTLP: OTLPConfig{Protocols: Protocols{
			HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0", Auth: &AuthConfig{BearerTokenFile: "/nonexistent"}}}}},
			"receivers.otlp.protocols.http.auth.bearer_token_file"},
		{"empty token", Config{OTLP: OTLPConfig{Protocols: Protocols{
			GRPC: &GRPCConfig{Endpoint: "127.0.0.1:0", Auth: &AuthConfig{BearerTokenFile: empty}}}}},
			"receivers.otlp.protocols.grpc.auth.bearer_token_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.cfg, &fakeConsumer{})
			if err != nil {
				t.Fatal(err)
			}
			err = r.Start(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start: %v, want an error naming %s", err, tc.want)
			}
			if r.Ready() || r.Addrs() != (Addrs{}) {
				t.Errorf("after a failed Start: ready %v, addrs %+v", r.Ready(), r.Addrs())
			}
			if err := r.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown after a failed Start: %v", err)
			}
		})
	}
}

// TestLifecycle: Start once, Shutdown idempotent, no Start after Shutdown,
// Stats of an off transport absent and never nil.
func TestLifecycle(t *testing.T) {
	off, err := New(Config{}, &fakeConsumer{})
	if err != nil {
		t.Fatal(err)
	}
	if s := off.Stats(); s == nil || len(s) != 0 {
		t.Errorf("Stats of receivers with nothing on: %#v, want []", s)
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New with a nil Consumer succeeded")
	}
	r, err := New(Config{OTLP: OTLPConfig{Protocols: Protocols{HTTP: &HTTPConfig{Endpoint: "127.0.0.1:0"}}}}, &fakeConsumer{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Ready() {
		t.Error("ready before Start")
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	if a := r.Addrs(); a.GRPC != "" || !strings.HasPrefix(a.HTTP, "127.0.0.1:") {
		t.Errorf("Addrs() = %+v", a)
	}
	if s := r.Stats(); len(s) != 3 || s[0].Transport != "http" {
		t.Errorf("Stats() = %+v, want the three http signals", s)
	}
	for range 2 {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	if r.Ready() {
		t.Error("ready after Shutdown")
	}
	if err := r.Start(context.Background()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}
}

// TestPlaintextBeyondLoopbackWarns: binding beyond loopback without TLS is
// logged as a warning naming the key; loopback and TLS are not.
func TestPlaintextBeyondLoopbackWarns(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		tls      bool
		warn     bool
	}{
		{"127.0.0.1:4318", false, false},
		{"localhost:4318", false, false},
		{"[::1]:4318", false, false},
		{"0.0.0.0:4318", false, true},
		{":4318", false, true},
		{"[::]:4318", false, true},
		{"10.1.2.3:4318", false, true},
		{"otel.example:4318", false, true},
		{"0.0.0.0:4318", true, false},
	} {
		var buf bytes.Buffer
		r := &Receivers{log: slog.New(slog.NewTextHandler(&buf, nil))}
		r.announce("http", httpKey, tc.endpoint, tc.endpoint, tc.tls)
		warned := strings.Contains(buf.String(), "level=WARN") &&
			strings.Contains(buf.String(), "receivers.otlp.protocols.http.endpoint")
		if warned != tc.warn {
			t.Errorf("%s tls=%v: warned %v, want %v; log %q", tc.endpoint, tc.tls, warned, tc.warn, buf.String())
		}
	}
}
