package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meshobs/meshobs/telemetry"
)

// Server is the HTTP API and web UI over one query layer. Build it with New,
// then Start it; Shutdown stops it. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config // with defaults applied
	q       *telemetry.Query
	log     *slog.Logger
	ready   func() bool
	metrics http.Handler // nil: no /metrics
	token   *[sha256.Size]byte
	tls     *tls.Config
	slots   chan struct{} // one per request in progress
	page    *page
	login   *page

	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener
	served chan struct{} // closed when Serve has returned
	closed bool

	connMu   sync.Mutex
	fresh    map[net.Conn]struct{} // connections that have sent no byte yet
	stopping bool
}

// Option configures New.
type Option func(*options)

type options struct {
	ready   func() bool
	log     *slog.Logger
	metrics prometheus.Gatherer
}

// WithReady sets what /readyz reports: ready() false answers 503 (e.g.
// while the receivers are not listening yet). Default: always ready.
func WithReady(ready func() bool) Option { return func(o *options) { o.ready = ready } }

// WithLogger sets where the server's diagnostics go (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithMetrics serves g on /metrics (e.g. a registry holding a
// SelfCollector). Without it /metrics answers 404.
func WithMetrics(g prometheus.Gatherer) Option { return func(o *options) { o.metrics = g } }

// New returns a server for cfg answering from q. It validates cfg, reads the
// token and TLS files, and listens on nothing until Start.
func New(cfg Config, q *telemetry.Query, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if !cfg.Enabled() {
		return nil, errors.New("api: api.endpoint is empty: the API is off")
	}
	if q == nil {
		return nil, errors.New("api: no query layer")
	}
	o := options{ready: func() bool { return true }, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{cfg: cfg.withDefaults(), q: q, log: o.log, ready: o.ready}
	s.slots = make(chan struct{}, s.cfg.MaxConcurrentRequests)
	if o.metrics != nil {
		s.metrics = promhttp.HandlerFor(o.metrics, promhttp.HandlerOpts{
			ErrorLog:      slog.NewLogLogger(o.log.Handler(), slog.LevelWarn),
			ErrorHandling: promhttp.ContinueOnError,
		})
	}
	if f := cfg.Auth.BearerTokenFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("api: api.auth.bearer_token_file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return nil, fmt.Errorf("api: api.auth.bearer_token_file: %s holds no token", f)
		}
		h := sha256.Sum256([]byte(tok))
		s.token = &h
	}
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("api: api.tls: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var err error
	if s.page, s.login, err = pages(); err != nil {
		return nil, fmt.Errorf("api: web UI: %w", err)
	}
	return s, nil
}

// Start listens on the configured endpoint and serves in the background. It
// returns once the listener is open, or the error opening it. A server
// starts once.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil || s.closed {
		return errors.New("api: server already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Endpoint)
	if err != nil {
		return fmt.Errorf("api: api.endpoint: %w", err)
	}
	for _, w := range exposure(s.cfg.Endpoint, s.tls != nil, s.token != nil) {
		s.log.Warn(w, "endpoint", ln.Addr().String())
	}
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnState:         s.trackConn,
	}
	s.fresh = make(map[net.Conn]struct{})
	s.served = make(chan struct{})
	go func(srv *http.Server, served chan struct{}) {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("api: serving stopped", "err", err)
		}
	}(s.srv, s.served)
	return nil
}

// Addr returns the address the server listens on (the port chosen when the
// endpoint's is 0), or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections and waits for the requests in
// progress, bounded by ctx; when ctx ends first, it closes every connection.
// It does nothing before Start, and the server cannot start again after.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, served := s.srv, s.served
	s.closed = true
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	// http.Server.Shutdown waits up to 5 s for a connection that has sent
	// nothing yet, such as the spare ones a browser opens ahead of need: it
	// holds no request, so close it now (and any that opens from now on).
	s.connMu.Lock()
	s.stopping = true
	for c := range s.fresh {
		_ = c.Close()
	}
	s.connMu.Unlock()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	<-served
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

// trackConn keeps the set of connections that have sent no byte yet.
func (s *Server) trackConn(c net.Conn, state http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	switch state {
	case http.StateNew:
		if s.stopping {
			_ = c.Close()
			return
		}
		s.fresh[c] = struct{}{}
	default:
		delete(s.fresh, c)
	}
}

// exposure returns the warnings an endpoint deserves: beyond loopback,
// one for the lack of TLS and one for the lack of authentication.
func exposure(endpoint string, tls, auth bool) []string {
	if host, _, _ := net.SplitHostPort(endpoint); loopback(host) {
		return nil
	}
	var w []string
	if !tls {
		w = append(w, "api: listening beyond loopback without TLS (api.tls): tokens and data travel in clear text")
	}
	if !auth {
		w = append(w, "api: listening beyond loopback without authentication (api.auth.bearer_token_file): whoever reaches it reads the mesh's data")
	}
	return w
}

// authorized reports whether r carries the token, in its Authorization
// header or, when allowQuery (the page), as ?token=. Without auth
// configured every request is.
func (s *Server) authorized(r *http.Request, allowQuery bool) bool {
	if s.token == nil {
		return true
	}
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return s.tokenIs(strings.TrimSpace(tok))
	}
	if allowQuery {
		if tok := r.URL.Query().Get("token"); tok != "" {
			return s.tokenIs(tok)
		}
	}
	return false
}

// tokenIs compares digests in constant time, so neither the token's bytes
// nor its length leak through timing.
func (s *Server) tokenIs(tok string) bool {
	h := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(h[:], s.token[:]) == 1
}
