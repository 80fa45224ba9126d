package receiver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Receivers runs the configured OTLP transports and hands what they decode
// to a Consumer. Its methods are safe for concurrent use.
type Receivers struct {
	consumer Consumer
	log      *slog.Logger
	grpc     *grpcReceiver // nil when off
	http     *httpReceiver // nil when off
	counts   counters

	stopping atomic.Bool // refuse new work as retryable
	ready    atomic.Bool

	mu    sync.Mutex // guards state and addrs
	state lifecycle
	addrs Addrs
	wg    sync.WaitGroup // serving goroutines
}

type lifecycle int

const (
	created lifecycle = iota
	started
	stopped
)

// Addrs are the addresses the transports are bound to; empty for a
// transport that is off or not started.
type Addrs struct {
	// GRPC is the OTLP/gRPC listener's host:port.
	GRPC string
	// HTTP is the OTLP/HTTP listener's host:port.
	HTTP string
}

// Option configures New.
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger sends the receivers' diagnostics (listening, warnings, failed
// consumers) to l instead of discarding them.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// New validates cfg and returns receivers that deliver to c once started.
// A cfg with no transport on is valid: Start then binds nothing.
func New(cfg Config, c Consumer, opts ...Option) (*Receivers, error) {
	if c == nil {
		return nil, errors.New("receiver: nil Consumer")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Receivers{consumer: c, log: o.log}
	if g := cfg.OTLP.Protocols.GRPC; g != nil {
		r.grpc = newGRPCReceiver(r, cloneGRPC(*g))
	}
	if h := cfg.OTLP.Protocols.HTTP; h != nil {
		r.http = newHTTPReceiver(r, cloneHTTP(*h))
	}
	return r, nil
}

// cloneGRPC and cloneHTTP copy the blocks behind pointers, so a caller
// changing its Config later changes nothing here.
func cloneGRPC(g GRPCConfig) GRPCConfig {
	g.TLS, g.Auth = cloneTLS(g.TLS), cloneAuth(g.Auth)
	return g
}

func cloneHTTP(h HTTPConfig) HTTPConfig {
	h.TLS, h.Auth = cloneTLS(h.TLS), cloneAuth(h.Auth)
	return h
}

func cloneTLS(t *TLSConfig) *TLSConfig {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func cloneAuth(a *AuthConfig) *AuthConfig {
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

// Start reads the TLS and token files and binds the listeners, then serves
// in the background. Errors name the configuration key at fault; on error
// nothing is left bound. Start may be called once.
func (r *Receivers) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case started:
		return errors.New("receiver: already started")
	case stopped:
		return errors.New("receiver: shut down")
	}

	var (
		gTLS, hTLS *tls.Config
		errs       []error
		err        error
	)
	if r.grpc != nil {
		gTLS, err = loadTLS(grpcKey+".tls", r.grpc.cfg.TLS)
		errs = append(errs, err)
		r.grpc.token, err = loadBearer(grpcKey+".auth", r.grpc.cfg.Auth)
		errs = append(errs, err)
	}
	if r.http != nil {
		hTLS, err = loadTLS(httpKey+".tls", r.http.cfg.TLS)
		errs = append(errs, err)
		r.http.token, err = loadBearer(httpKey+".auth", r.http.cfg.Auth)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	var lc net.ListenConfig
	var gLn, hLn net.Listener
	if r.grpc != nil {
		if gLn, err = lc.Listen(ctx, "tcp", r.grpc.cfg.Endpoint); err != nil {
			return fmt.Errorf("receiver: %s.endpoint: %w", grpcKey, err)
		}
	}
	if r.http != nil {
		if hLn, err = lc.Listen(ctx, "tcp", r.http.cfg.Endpoint); err != nil {
			if gLn != nil {
				_ = gLn.Close()
			}
			return fmt.Errorf("receiver: %s.endpoint: %w", httpKey, err)
		}
	}

	if r.grpc != nil {
		r.grpc.srv = r.grpc.newServer(gTLS)
		r.addrs.GRPC = gLn.Addr().String()
		r.announce("grpc", grpcKey, r.grpc.cfg.Endpoint, r.addrs.GRPC, gTLS != nil)
		r.wg.Go(func() {
			if err := r.grpc.srv.Serve(gLn); err != nil {
				r.ready.Store(false)
				r.log.Error("receiver: grpc server stopped", "error", err)
			}
		})
	}
	if r.http != nil {
		srv := r.http.newServer()
		srv.TLSConfig = hTLS
		r.http.srv = srv
		r.addrs.HTTP = hLn.Addr().String()
		r.announce("http", httpKey, r.http.cfg.Endpoint, r.addrs.HTTP, hTLS != nil)
		r.wg.Go(func() {
			var err error
			if hTLS != nil {
				err = srv.ServeTLS(hLn, "", "")
			} else {
				err = srv.Serve(hLn)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				r.ready.Store(false)
				r.log.Error("receiver: http server stopped", "error", err)
			}
		})
	}
	r.state = started
	r.ready.Store(true)
	return nil
}

// announce logs a bound listener, warning when it is reachable from other
// hosts in plaintext.
func (r *Receivers) announce(transport, key, endpoint, addr string, tls bool) {
	r.log.Info("receiver: OTLP listening", "transport", transport, "addr", addr, "tls", tls)
	if !tls && !isLoopback(endpoint) {
		r.log.Warn("receiver: OTLP listening beyond loopback without TLS: data and bearer tokens travel in plaintext",
			"key", key+".endpoint", "endpoint", endpoint)
	}
}

// Shutdown stops accepting requests, refuses new ones as retryable, and waits
// for in-flight ones to finish, until ctx ends: then it closes what is left
// and returns ctx's error. Shutting down receivers never started is a no-op;
// they cannot be started afterwards.
func (r *Receivers) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	prev := r.state
	r.state = stopped
	r.mu.Unlock()
	if prev != started {
		return nil
	}
	r.stopping.Store(true)
	r.ready.Store(false)

	var errs [2]error
	var wg sync.WaitGroup
	if r.grpc != nil {
		wg.Go(func() {
			done := make(chan struct{})
			go func() {
				r.grpc.srv.GracefulStop()
				close(done)
			}()
			select {
			case <-done:
			case <-ctx.Done():
				r.grpc.srv.Stop()
				<-done
				errs[0] = fmt.Errorf("receiver: grpc shutdown: %w", ctx.Err())
			}
		})
	}
	if r.http != nil {
		wg.Go(func() {
			if err := r.http.srv.Shutdown(ctx); err != nil {
				_ = r.http.srv.Close()
				errs[1] = fmt.Errorf("receiver: http shutdown: %w", err)
			}
		})
	}
	wg.Wait()
	r.wg.Wait()
	return errors.Join(errs[:]...)
}

// Addrs returns the bound addresses, so a caller that configured port 0 can
// find them.
func (r *Receivers) Addrs() Addrs {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addrs
}

// Ready reports whether the receivers are started, serving, and not shutting down.
func (r *Receivers) Ready() bool { return r.ready.Load() }

// Stats returns the item counts of each enabled transport and signal (grpc
// before http; traces, logs, metrics); never nil.
func (r *Receivers) Stats() []Stat {
	return r.counts.snapshot([numTransports]bool{transportGRPC: r.grpc != nil, transportHTTP: r.http != nil})
}

// slogLogLogger routes net/http's own error log (TLS handshake failures and
// the like) to l at Warn level.
func slogLogLogger(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}
