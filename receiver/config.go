package receiver

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Defaults for the zero values of the protocol configs.
const (
	// DefaultGRPCEndpoint is where `meshobs serve` and an endpoint-less grpc block listen.
	DefaultGRPCEndpoint = "127.0.0.1:4317"
	// DefaultHTTPEndpoint is where `meshobs serve` and an endpoint-less http block listen.
	DefaultHTTPEndpoint = "127.0.0.1:4318"
	// DefaultMaxRecvMsgSizeMiB is gRPC's own default message limit.
	DefaultMaxRecvMsgSizeMiB = 4
	// DefaultMaxRequestBodySize is the OTel Collector's default HTTP body limit (20 MiB).
	DefaultMaxRequestBodySize = 20 << 20
	// DefaultMaxConcurrentRequests bounds the requests each transport works on at once.
	DefaultMaxConcurrentRequests = 32
)

// maxRecvMsgSizeMiBLimit keeps MiB<<20 far from overflowing an int.
const maxRecvMsgSizeMiBLimit = 1024

// Config is the `receivers:` section of the configuration file, as an OTel
// Collector user writes it. Its zero value receives nothing.
type Config struct {
	// OTLP is the OTLP receiver (gRPC and HTTP).
	OTLP OTLPConfig `yaml:"otlp"`
}

// OTLPConfig is `receivers.otlp`.
type OTLPConfig struct {
	// Protocols turns on each transport; one left out is off.
	Protocols Protocols `yaml:"protocols"`
}

// Protocols is `receivers.otlp.protocols`. A key that is present turns its
// transport on, even with no value (`grpc:`), as in the OTel Collector.
type Protocols struct {
	// GRPC is OTLP/gRPC; nil is off.
	GRPC *GRPCConfig `yaml:"grpc"`
	// HTTP is OTLP/HTTP (POST /v1/traces, /v1/logs, /v1/metrics); nil is off.
	HTTP *HTTPConfig `yaml:"http"`
}

// GRPCConfig is `receivers.otlp.protocols.grpc`.
type GRPCConfig struct {
	// Endpoint is the host:port to listen on; empty is 127.0.0.1:4317. A host
	// other than loopback without TLS is logged as a warning at start.
	Endpoint string `yaml:"endpoint"`
	// MaxRecvMsgSizeMiB is the largest request message (after decompression) in
	// MiB; larger ones get RESOURCE_EXHAUSTED. Zero is 4.
	MaxRecvMsgSizeMiB int `yaml:"max_recv_msg_size_mib"`
	// MaxConcurrentRequests is how many Export calls are read and handled at
	// once; a call beyond it is refused with UNAVAILABLE (retryable) before its
	// message is read, so memory stays under about this many messages. Zero is 32.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
	// TLS serves TLS; nil is plaintext.
	TLS *TLSConfig `yaml:"tls"`
	// Auth requires a bearer token; nil accepts every client.
	Auth *AuthConfig `yaml:"auth"`
}

// HTTPConfig is `receivers.otlp.protocols.http`.
type HTTPConfig struct {
	// Endpoint is the host:port to listen on; empty is 127.0.0.1:4318. A host
	// other than loopback without TLS is logged as a warning at start.
	Endpoint string `yaml:"endpoint"`
	// MaxRequestBodySize is the largest body in bytes, both as sent and after
	// gzip decompression; larger ones get 413. Zero is 20 MiB.
	MaxRequestBodySize int64 `yaml:"max_request_body_size"`
	// MaxConcurrentRequests is how many requests are read and handled at once;
	// a request beyond it gets 503 with Retry-After before its body is read, so
	// memory stays under about this many bodies. Zero is 32.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
	// TLS serves HTTPS; nil is plaintext.
	TLS *TLSConfig `yaml:"tls"`
	// Auth requires a bearer token; nil accepts every client.
	Auth *AuthConfig `yaml:"auth"`
}

// TLSConfig is a transport's `tls` block.
type TLSConfig struct {
	// CertFile is the server certificate (PEM), chain included.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the server certificate's private key (PEM).
	KeyFile string `yaml:"key_file"`
	// ClientCAFile, when set, requires every client to present a certificate
	// signed by one of these CAs (PEM): mutual TLS.
	ClientCAFile string `yaml:"client_ca_file"`
}

// AuthConfig is a transport's `auth` block.
type AuthConfig struct {
	// BearerTokenFile holds the token clients must send as `Authorization:
	// Bearer <token>` (gRPC: `authorization` metadata). It is read once, at
	// start; surrounding white space is ignored.
	BearerTokenFile string `yaml:"bearer_token_file"`
}

// ServeDefaults is the configuration `meshobs serve` uses when none is given:
// OTLP/gRPC on 127.0.0.1:4317 and OTLP/HTTP on 127.0.0.1:4318, plaintext, no auth.
func ServeDefaults() Config {
	return Config{OTLP: OTLPConfig{Protocols: Protocols{
		GRPC: &GRPCConfig{Endpoint: DefaultGRPCEndpoint},
		HTTP: &HTTPConfig{Endpoint: DefaultHTTPEndpoint},
	}}}
}

// Enabled reports whether any transport is on.
func (c *Config) Enabled() bool {
	return c.OTLP.Protocols.GRPC != nil || c.OTLP.Protocols.HTTP != nil
}

// withDefaults returns a copy of g with zero values replaced by defaults.
func (g GRPCConfig) withDefaults() GRPCConfig {
	if g.Endpoint == "" {
		g.Endpoint = DefaultGRPCEndpoint
	}
	if g.MaxRecvMsgSizeMiB == 0 {
		g.MaxRecvMsgSizeMiB = DefaultMaxRecvMsgSizeMiB
	}
	if g.MaxConcurrentRequests == 0 {
		g.MaxConcurrentRequests = DefaultMaxConcurrentRequests
	}
	return g
}

// withDefaults returns a copy of h with zero values replaced by defaults.
func (h HTTPConfig) withDefaults() HTTPConfig {
	if h.Endpoint == "" {
		h.Endpoint = DefaultHTTPEndpoint
	}
	if h.MaxRequestBodySize == 0 {
		h.MaxRequestBodySize = DefaultMaxRequestBodySize
	}
	if h.MaxConcurrentRequests == 0 {
		h.MaxConcurrentRequests = DefaultMaxConcurrentRequests
	}
	return h
}

const (
	grpcKey = "receivers.otlp.protocols.grpc"
	httpKey = "receivers.otlp.protocols.http"
)

// Validate reports every invalid value, naming its key (receivers.otlp.…).
func (c *Config) Validate() error {
	var errs []error
	fail := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	p := c.OTLP.Protocols
	if g := p.GRPC; g != nil {
		if err := validateEndpoint(g.Endpoint); err != nil {
			fail(grpcKey+".endpoint", "%w", err)
		}
		if g.MaxRecvMsgSizeMiB < 0 || g.MaxRecvMsgSizeMiB > maxRecvMsgSizeMiBLimit {
			fail(grpcKey+".max_recv_msg_size_mib", "must be between 0 and %d, not %d", maxRecvMsgSizeMiBLimit, g.MaxRecvMsgSizeMiB)
		}
		if g.MaxConcurrentRequests < 0 {
			fail(grpcKey+".max_concurrent_requests", "must not be negative, not %d", g.MaxConcurrentRequests)
		}
		errs = append(errs, g.TLS.validate(grpcKey+".tls"), g.Auth.validate(grpcKey+".auth"))
	}
	if h := p.HTTP; h != nil {
		if err := validateEndpoint(h.Endpoint); err != nil {
			fail(httpKey+".endpoint", "%w", err)
		}
		if h.MaxRequestBodySize < 0 {
			fail(httpKey+".max_request_body_size", "must not be negative, not %d", h.MaxRequestBodySize)
		}
		if h.MaxConcurrentRequests < 0 {
			fail(httpKey+".max_concurrent_requests", "must not be negative, not %d", h.MaxConcurrentRequests)
		}
		errs = append(errs, h.TLS.validate(httpKey+".tls"), h.Auth.validate(httpKey+".auth"))
	}
	if p.GRPC != nil && p.HTTP != nil {
		ge, he := p.GRPC.withDefaults().Endpoint, p.HTTP.withDefaults().Endpoint
		if _, port, _ := net.SplitHostPort(ge); ge == he && port != "0" {
			fail(httpKey+".endpoint", "%s is also the grpc endpoint", he)
		}
	}
	return errors.Join(errs...)
}

// validateEndpoint accepts host:port with a numeric port; empty means the default.
func validateEndpoint(ep string) error {
	if ep == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(ep)
	if err != nil {
		return fmt.Errorf("must be host:port, not %q", ep)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port must be a number from 0 to 65535, not %q", port)
	}
	return nil
}

func (t *TLSConfig) validate(key string) error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.CertFile == "" {
		errs = append(errs, fmt.Errorf("%s.cert_file: required with tls", key))
	}
	if t.KeyFile == "" {
		errs = append(errs, fmt.Errorf("%s.key_file: required with tls", key))
	}
	return errors.Join(errs...)
}

func (a *AuthConfig) validate(key string) error {
	if a != nil && a.BearerTokenFile == "" {
		return fmt.Errorf("%s.bearer_token_file: required with auth", key)
	}
	return nil
}

// UnmarshalYAML decodes `protocols`, turning a transport on when its key is
// present even with no value (`grpc:`), as the OTel Collector does. Unknown
// keys are errors, as with yaml's KnownFields, reported at their line so the
// caller can name them.
func (p *Protocols) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		if n.ShortTag() == "!!null" {
			return nil
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s into receiver.Protocols", n.Line, n.ShortTag())}}
	}
	var terrs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "grpc":
			if p.GRPC == nil {
				p.GRPC = &GRPCConfig{}
			}
			err = decodeKnown(v, p.GRPC)
		case "http":
			if p.HTTP == nil {
				p.HTTP = &HTTPConfig{}
			}
			err = decodeKnown(v, p.HTTP)
		default:
			terrs = append(terrs, fmt.Sprintf("line %d: field %s not found in type receiver.Protocols", k.Line, k.Value))
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			terrs = append(terrs, te.Errors...)
		} else if err != nil {
			return err
		}
	}
	if len(terrs) > 0 {
		return &yaml.TypeError{Errors: terrs}
	}
	return nil
}

// decodeKnown decodes n into out (a pointer to a struct), first reporting
// every key that out's type does not have; a null node leaves out as it is.
func decodeKnown(n *yaml.Node, out any) error {
	if n.ShortTag() == "!!null" {
		return nil
	}
	var unknown []string
	unknownKeys(n, reflect.TypeOf(out), &unknown)
	if len(unknown) > 0 {
		return &yaml.TypeError{Errors: unknown}
	}
	return n.Decode(out)
}

// unknownKeys appends yaml-style "field not found" errors for the keys of
// mapping n, and of the mappings under it, that type t has no field for.
func unknownKeys(n *yaml.Node, t reflect.Type, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return
	}
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ft, ok := fields[k.Value]
		if !ok {
			*out = append(*out, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, t))
			continue
		}
		unknownKeys(n.Content[i+1], ft, out)
	}
}
