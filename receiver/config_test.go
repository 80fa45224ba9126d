package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// root is how the node's configuration holds this package's section.
type root struct {
	Receivers Config `yaml:"receivers"`
}

func decodeYAML(src string) (Config, error) {
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	var r root
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	return r.Receivers, nil
}

func TestConfigYAML(t *testing.T) {
	t.Run("collector style, no values", func(t *testing.T) {
		c, err := decodeYAML("receivers:\n  otlp:\n    protocols:\n      grpc:\n      http:\n")
		if err != nil {
			t.Fatal(err)
		}
		if !c.Enabled() || c.OTLP.Protocols.GRPC == nil || c.OTLP.Protocols.HTTP == nil {
			t.Fatalf("a present but empty key must turn its transport on: %+v", c.OTLP.Protocols)
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if g, h := c.OTLP.Protocols.GRPC.withDefaults(), c.OTLP.Protocols.HTTP.withDefaults(); g.Endpoint != DefaultGRPCEndpoint ||
			h.Endpoint != DefaultHTTPEndpoint || h.MaxRequestBodySize != 20<<20 || g.MaxRecvMsgSizeMiB != 4 ||
			g.MaxConcurrentRequests != DefaultMaxConcurrentRequests || h.MaxConcurrentRequests != DefaultMaxConcurrentRequests {
			t.Errorf("defaults: %+v %+v", g, h)
		}
	})
	t.Run("only http", func(t *testing.T) {
		c, err := decodeYAML("receivers: {otlp: {protocols: {http: {endpoint: 127.0.0.1:14318}}}}")
		if err != nil {
			t.Fatal(err)
		}
		if c.OTLP.Protocols.GRPC != nil || c.OTLP.Protocols.HTTP.Endpoint != "127.0.0.1:14318" {
			t.Errorf("%+v", c.OTLP.Protocols)
		}
	})
	t.Run("absent", func(t *testing.T) {
		c, err := decodeYAML("receivers:\n")
		if err != nil {
			t.Fatal(err)
		}
		if c.Enabled() {
			t.Error("no receivers configured, yet enabled")
		}
	})
	t.Run("every key", func(t *testing.T) {
		c, err := decodeYAML(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
        max_recv_msg_size_mib: 16
        max_concurrent_requests: 8
        tls: {cert_file: s.pem, key_file: s.key, client_ca_file: ca.pem}
        auth: {bearer_token_file: /run/token}
      http:
        endpoint: 0.0.0.0:4318
        max_request_body_size: 1048576
        max_concurrent_requests: 4
        tls: {cert_file: h.pem, key_file: h.key}
        auth: {bearer_token_file: /run/token2}
`)
		if err != nil {
			t.Fatal(err)
		}
		want := Config{OTLP: OTLPConfig{Protocols: Protocols{
			GRPC: &GRPCConfig{Endpoint: "0.0.0.0:4317", MaxRecvMsgSizeMiB: 16, MaxConcurrentRequests: 8,
				TLS:  &TLSConfig{CertFile: "s.pem", KeyFile: "s.key", ClientCAFile: "ca.pem"},
				Auth: &AuthConfig{BearerTokenFile: "/run/token"}},
			HTTP: &HTTPConfig{Endpoint: "0.0.0.0:4318", MaxRequestBodySize: 1 << 20, MaxConcurrentRequests: 4,
				TLS:  &TLSConfig{CertFile: "h.pem", KeyFile: "h.key"},
				Auth: &AuthConfig{BearerTokenFile: "/run/token2"}},
		}}}
		g, h := *c.OTLP.Protocols.GRPC, *c.OTLP.Protocols.HTTP
		wg, wh := *want.OTLP.Protocols.GRPC, *want.OTLP.Protocols.HTTP
		if *g.TLS != *wg.TLS || *g.Auth != *wg.Auth || *h.TLS != *wh.TLS || *h.Auth != *wh.Auth {
			t.Errorf("tls/auth: %+v %+v %+v %+v", g.TLS, g.Auth, h.TLS, h.Auth)
		}
		g.TLS, g.Auth, h.TLS, h.Auth, wg.TLS, wg.Auth, wh.TLS, wh.Auth = nil, nil, nil, nil, nil, nil, nil, nil
		if g != wg || h != wh {
			t.Errorf("got %+v %+v, want %+v %+v", g, h, wg, wh)
		}
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
	})
	for _, tc := range []struct {
		name, src string
		want      []string // each in the error
	}{
		{"unknown protocol", "receivers: {otlp: {protocols: {thrift: {}}}}", []string{"line 1: field thrift not found"}},
		{"unknown grpc key", "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpiont: x\n", []string{"line 5: field endpiont not found in type receiver.GRPCConfig"}},
		{"unknown tls key", "receivers:\n  otlp:\n    protocols:\n      http:\n        tls:\n          ca_file: x\n", []string{"line 6: field ca_file not found in type receiver.TLSConfig"}},
		{"two unknown keys", "receivers:\n  otlp:\n    protocols:\n      grpc: {a: 1}\n      http: {b: 2}\n", []string{"field a not found", "field b not found"}},
		{"unknown otlp key", "receivers: {otlp: {protocol: {}}}", []string{"field protocol not found"}},
		{"wrong type", "receivers:\n  otlp:\n    protocols:\n      http:\n        max_request_body_size: big\n", []string{"line 5: cannot unmarshal"}},
		{"protocols a list", "receivers: {otlp: {protocols: [grpc]}}", []string{"cannot unmarshal !!seq into receiver.Protocols"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeYAML(tc.src)
			if err == nil {
				t.Fatal("decoded without error")
			}
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				t.Errorf("error %T, want *yaml.TypeError so the caller can name the key by line", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	grpcOnly := func(g GRPCConfig) Config { return Config{OTLP: OTLPConfig{Protocols: Protocols{GRPC: &g}}} }
	httpOnly := func(h HTTPConfig) Config { return Config{OTLP: OTLPConfig{Protocols: Protocols{HTTP: &h}}} }
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // empty: valid
	}{
		{"zero", Config{}, nil},
		{"serve defaults", ServeDefaults(), nil},
		{"port 0 on both", loopbackConfig(), nil},
		{"no port", grpcOnly(GRPCConfig{Endpoint: "localhost"}), []string{"receivers.otlp.protocols.grpc.endpoint: must be host:port"}},
		{"bad port", httpOnly(HTTPConfig{Endpoint: "localhost:http"}), []string{"receivers.otlp.protocols.http.endpoint: port must be a number"}},
		{"port too big", httpOnly(HTTPConfig{Endpoint: "127.0.0.1:70000"}), []string{"receivers.otlp.protocols.http.endpoint"}},
		{"negative message size", grpcOnly(GRPCConfig{MaxRecvMsgSizeMiB: -1}), []string{"receivers.otlp.protocols.grpc.max_recv_msg_size_mib"}},
		{"huge message size", grpcOnly(GRPCConfig{MaxRecvMsgSizeMiB: 1 << 20}), []string{"receivers.otlp.protocols.grpc.max_recv_msg_size_mib"}},
		{"negative body size", httpOnly(HTTPConfig{MaxRequestBodySize: -5}), []string{"receivers.otlp.protocols.http.max_request_body_size: must not be negative, not -5"}},
		{"negative concurrency", grpcOnly(GRPCConfig{MaxConcurrentRequests: -1}), []string{"receivers.otlp.protocols.grpc.max_concurrent_requests"}},
		{"negative http concurrency", httpOnly(HTTPConfig{MaxConcurrentRequests: -1}), []string{"receivers.otlp.protocols.http.max_concurrent_requests"}},
		{"tls without files", httpOnly(HTTPConfig{TLS: &TLSConfig{}}), []string{"receivers.otlp.protocols.http.tls.cert_file: required", "receivers.otlp.protocols.http.tls.key_file: required"}},
		{"auth without file", grpcOnly(GRPCConfig{Auth: &AuthConfig{}}), []string{"receivers.otlp.protocols.grpc.auth.bearer_token_file: required"}},
		{"same endpoint", Config{OTLP: OTLPConfig{Protocols: Protocols{
			GRPC: &GRPCConfig{Endpoint: "127.0.0.1:4317"}, HTTP: &HTTPConfig{Endpoint: "127.0.0.1:4317"}}}},
			[]string{"receivers.otlp.protocols.http.endpoint: 127.0.0.1:4317 is also the grpc endpoint"}},
		{"every error at once", Config{OTLP: OTLPConfig{Protocols: Protocols{
			GRPC: &GRPCConfig{Endpoint: "x", MaxConcurrentRequests: -1}, HTTP: &HTTPConfig{MaxRequestBodySize: -1}}}},
			[]string{"grpc.endpoint", "grpc.max_concurrent_requests", "http.max_request_body_size"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("invalid config accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, nerr := New(tc.cfg, &fakeConsumer{}); nerr == nil || nerr.Error() != err.Error() {
				t.Errorf("New: %v, want the Validate error", nerr)
			}
		})
	}
}

func TestServeDefaults(t *testing.T) {
	c := ServeDefaults()
	if c.OTLP.Protocols.GRPC.Endpoint != "127.0.0.1:4317" || c.OTLP.Protocols.HTTP.Endpoint != "127.0.0.1:4318" {
		t.Errorf("ServeDefaults() = %+v %+v", c.OTLP.Protocols.GRPC, c.OTLP.Protocols.HTTP)
	}
	c.OTLP.Protocols.GRPC.Endpoint = "changed"
	if ServeDefaults().OTLP.Protocols.GRPC.Endpoint != "127.0.0.1:4317" {
		t.Error("ServeDefaults shares its blocks between calls")
	}
}

// TestNewCopiesConfig: changing the caller's Config after New changes nothing.
func TestNewCopiesConfig(t *testing.T) {
	cfg := loopbackConfig()
	cfg.OTLP.Protocols.HTTP.Auth = &AuthConfig{BearerTokenFile: "/a"}
	r, err := New(cfg, &fakeConsumer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.OTLP.Protocols.HTTP.Endpoint = "changed"
	cfg.OTLP.Protocols.HTTP.Auth.BearerTokenFile = "/b"
	if r.http.cfg.Endpoint != "127.0.0.1:0" || r.http.cfg.Auth.BearerTokenFile != "/a" {
		t.Errorf("New kept the caller's config: %+v", r.http.cfg)
	}
}

func TestStatJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(Stat{Receiver: "otlp", Transport: "grpc", Signal: "logs", Received: 5, Accepted: 3, Refused: 2}); err != nil {
		t.Fatal(err)
	}
	want := `{"receiver":"otlp","transport":"grpc","signal":"logs","received":5,"accepted":3,"refused":2}` + "\n"
	if buf.String() != want {
		t.Errorf("got %s want %s", buf.String(), want)
	}
	r, _ := New(Config{}, &fakeConsumer{})
	b, _ := json.Marshal(r.Stats())
	if string(b) != "[]" {
		t.Errorf("Stats with nothing on encodes as %s, want []", b)
	}
}
