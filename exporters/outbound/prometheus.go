package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// promServer serves one Prometheus exporter's registry on /metrics.
type promServer struct {
	reader sdkmetric.Reader
	ln     net.Listener
	srv    *http.Server
	served chan struct{} // closed when Serve has returned
}

// newPromServer listens on addr at once, so a taken port fails at start.
func newPromServer(addr string) (*promServer, error) {
	// Our own registry: no process or Go runtime collectors, no global state.
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("outbound: prometheus: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = exp.Shutdown(context.Background())
		return nil, fmt.Errorf("outbound: exporters.prometheus.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	p := &promServer{
		reader: exp,
		ln:     ln,
		srv:    &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		served: make(chan struct{}),
	}
	go func() {
		defer close(p.served)
		_ = p.srv.Serve(ln) // ErrServerClosed after shutdown; nothing else to report to
	}()
	return p, nil
}

func (p *promServer) addr() string { return p.ln.Addr().String() }

// shutdown stops accepting scrapes and waits for those running, bounded by ctx.
func (p *promServer) shutdown(ctx context.Context) error {
	err := p.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = errors.Join(err, p.srv.Close())
	}
	<-p.served
	if err != nil {
		return fmt.Errorf("outbound: prometheus: %w", err)
	}
	return nil
}
