package tooltest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// HotRODServices are the service.name values of the spans that one
// /dispatch produces (redis-manual and mysql are the simulated stores).
var HotRODServices = []string{"customer", "driver", "frontend", "mysql", "redis-manual", "route"}

// HotRODOptions configure StartHotROD.
type HotRODOptions struct {
	// OTLPEndpoint is where HotROD sends its spans over OTLP/HTTP, as
	// OTEL_EXPORTER_OTLP_ENDPOINT: a base URL like http://127.0.0.1:4318 (a
	// bare host:port gets http://). Required.
	OTLPEndpoint string
	// Args are extra flags after the ones StartHotROD sets, e.g.
	// "--fix-db-query-delay=10ms" for faster dispatches.
	Args []string
	// StartTimeout bounds the wait for readiness; default 60s.
	StartTimeout time.Duration
}

// HotRODApp is a running `hotrod all`: its frontend, customer, driver and
// route services in one process, each on a free loopback port.
type HotRODApp struct {
	*Process
	// FrontendURL is the base URL of the frontend (GET /dispatch?customer=N).
	FrontendURL string
	// CustomerAddr, DriverAddr and RouteAddr are host:port of the other
	// services (HTTP, gRPC and HTTP).
	CustomerAddr, DriverAddr, RouteAddr string

	client *http.Client
}

// Ports returns the four ports the app was told to listen on.
func (h *HotRODApp) Ports() []int {
	var ports []int
	for _, a := range []string{strings.TrimPrefix(h.FrontendURL, "http://"), h.CustomerAddr, h.DriverAddr, h.RouteAddr} {
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			if p, err := strconv.Atoi(a[i+1:]); err == nil {
				ports = append(ports, p)
			}
		}
	}
	return ports
}

// StartHotROD starts `hotrod all` with every service on 127.0.0.1 and a free
// port, its spans going to opts.OTLPEndpoint, and waits until the frontend
// answers and the other services accept connections. Cleanup stops it.
func StartHotROD(t testing.TB, opts HotRODOptions) *HotRODApp {
	t.Helper()
	if opts.OTLPEndpoint == "" {
		t.Fatal("tooltest: hotrod: OTLPEndpoint is empty")
	}
	endpoint := opts.OTLPEndpoint
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	bin := Binary(t, HotROD)
	return startRetrying(t, "hotrod", func() (*HotRODApp, *Process, error) {
		ports, err := freePorts(4)
		if err != nil {
			return nil, nil, err
		}
		h := &HotRODApp{
			FrontendURL:  "http://" + Loopback(ports[0]),
			CustomerAddr: Loopback(ports[1]),
			DriverAddr:   Loopback(ports[2]),
			RouteAddr:    Loopback(ports[3]),
			client:       &http.Client{Timeout: 30 * time.Second},
		}
		args := []string{"all",
			"--frontend-service-hostname=127.0.0.1", "--frontend-service-port=" + strconv.Itoa(ports[0]),
			"--customer-service-hostname=127.0.0.1", "--customer-service-port=" + strconv.Itoa(ports[1]),
			"--driver-service-hostname=127.0.0.1", "--driver-service-port=" + strconv.Itoa(ports[2]),
			"--route-service-hostname=127.0.0.1", "--route-service-port=" + strconv.Itoa(ports[3]),
		}
		p, err := start(t, Command{
			Name: "hotrod",
			Path: bin,
			Args: append(args, opts.Args...),
			Env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint},
		})
		if err != nil {
			return nil, nil, err
		}
		h.Process = p
		err = p.WaitReady(opts.StartTimeout, func() error {
			if err := p.checkBinds(); err != nil {
				return err
			}
			for _, a := range []string{h.CustomerAddr, h.DriverAddr, h.RouteAddr} {
				if err := dialable(a); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := httpGet(ctx, h.client, h.FrontendURL+"/config")
			return err
		})
		return h, p, err
	})
}

// Dispatch is the frontend's answer to /dispatch.
type Dispatch struct {
	// Driver is the licence plate of the driver chosen.
	Driver string
	// ETA is the driver's estimated time of arrival.
	ETA time.Duration
	// TraceID is the trace of the request, from the traceresponse header
	// (32 lowercase hex digits; "" if the header is missing).
	TraceID string
}

// Dispatch asks the frontend for a car: GET /dispatch?customer=N. Known
// customers are 123, 392, 731 and 567.
func (h *HotRODApp) Dispatch(ctx context.Context, customer int) (Dispatch, error) {
	u := h.FrontendURL + "/dispatch?" + url.Values{"customer": {strconv.Itoa(customer)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Dispatch{}, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return Dispatch{}, fmt.Errorf("tooltest: hotrod dispatch: %w", err)
	}
	defer resp.Body.Close()
	var d struct {
		Driver string
		ETA    time.Duration
	}
	if resp.StatusCode != http.StatusOK {
		return Dispatch{}, fmt.Errorf("tooltest: hotrod dispatch: GET %s: status %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return Dispatch{}, fmt.Errorf("tooltest: hotrod dispatch: decode: %w", err)
	}
	out := Dispatch{Driver: d.Driver, ETA: d.ETA}
	// traceresponse: version-traceid-spanid-flags, as traceparent.
	if f := strings.Split(resp.Header.Get("traceresponse"), "-"); len(f) == 4 && len(f[1]) == 32 {
		out.TraceID = strings.ToLower(f[1])
	}
	return out, nil
}
