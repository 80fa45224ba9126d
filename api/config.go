package api

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// DefaultEndpoint is where `meshobs serve` listens for the API and the UI:
// loopback, one port above OTLP/HTTP's 4318.
const DefaultEndpoint = "127.0.0.1:4319"

// Defaults of the limits a zero Config field stands for.
const (
	// DefaultMaxConcurrentRequests caps requests in progress at once.
	DefaultMaxConcurrentRequests = 32
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultReadTimeout bounds reading a whole request.
	DefaultReadTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds answering a request, from the end of its headers.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout bounds how long an idle keep-alive connection stays open.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxHeaderBytes bounds a request's headers (with its URL).
	DefaultMaxHeaderBytes = 64 << 10
)

// Config is the `api` section of the configuration file. The zero value is
// off (no endpoint); every zero limit stands for its documented default:
//
//	api:
//	  endpoint: 127.0.0.1:4319           # empty: off
//	  auth: {bearer_token_file: ""}      # a file holding the token; empty: no auth
//	  tls: {cert_file: "", key_file: ""} # both: HTTPS
//	  max_concurrent_requests: 32        # beyond: 503 with Retry-After, at once
//	  read_header_timeout: 5s
//	  read_timeout: 10s
//	  write_timeout: 30s
//	  idle_timeout: 60s
//	  max_header_bytes: 65536
type Config struct {
	// Endpoint is the host:port to listen on; empty: the API is off.
	// DefaultEndpoint is loopback; any other host should have TLS and auth.
	Endpoint string `yaml:"endpoint"`
	// Auth turns on bearer-token authentication.
	Auth AuthConfig `yaml:"auth"`
	// TLS serves HTTPS instead of HTTP.
	TLS TLSConfig `yaml:"tls"`
	// MaxConcurrentRequests caps requests in progress (0: 32); beyond it a
	// request is refused at once with 503 and Retry-After, so readers can
	// never take the CPU ingest needs. /healthz and /readyz are not counted.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
	// ReadHeaderTimeout bounds reading a request's headers (0: 5s).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request (0: 10s).
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds answering a request (0: 30s).
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout bounds an idle keep-alive connection (0: 60s).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds a request's headers (0: 64 KiB).
	MaxHeaderBytes int `yaml:"max_header_bytes"`
}

// AuthConfig is bearer-token authentication.
type AuthConfig struct {
	// BearerTokenFile holds the token (surrounding white space is ignored);
	// empty: no authentication.
	BearerTokenFile string `yaml:"bearer_token_file"`
}

// TLSConfig is the server's certificate; both files, or neither.
type TLSConfig struct {
	// CertFile is a PEM certificate chain.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile's certificate.
	KeyFile string `yaml:"key_file"`
}

// Enabled reports whether the API is on.
func (c Config) Enabled() bool { return c.Endpoint != "" }

// Validate reports every invalid value, naming its key (api.endpoint, ...).
// It reads no file: New does, and reports what it cannot read.
func (c Config) Validate() error {
	var errs []error
	if c.Endpoint != "" {
		if err := checkEndpoint(c.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("api.endpoint: %w", err))
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("api.tls: cert_file and key_file must be set together"))
	}
	for _, v := range []struct {
		key string
		n   int64
	}{
		{"api.max_concurrent_requests", int64(c.MaxConcurrentRequests)},
		{"api.read_header_timeout", int64(c.ReadHeaderTimeout)},
		{"api.read_timeout", int64(c.ReadTimeout)},
		{"api.write_timeout", int64(c.WriteTimeout)},
		{"api.idle_timeout", int64(c.IdleTimeout)},
		{"api.max_header_bytes", int64(c.MaxHeaderBytes)},
	} {
		if v.n < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative (0: the default)", v.key))
		}
	}
	return errors.Join(errs...)
}

// checkEndpoint accepts host:port with a numeric port; an empty host means
// every interface.
func checkEndpoint(ep string) error {
	_, port, err := net.SplitHostPort(ep)
	if err != nil {
		return fmt.Errorf("must be host:port, not %q", ep)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port must be a number from 0 to 65535, not %q", port)
	}
	return nil
}

// withDefaults returns a copy of c with every zero limit set to its default.
func (c Config) withDefaults() Config {
	if c.MaxConcurrentRequests == 0 {
		c.MaxConcurrentRequests = DefaultMaxConcurrentRequests
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return c
}

// loopback reports whether host (of an endpoint) only accepts connections
// from this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
