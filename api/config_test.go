package api_test

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/meshobs/meshobs/api"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  api.Config
		want []string // every error expected; none: valid
	}{
		{api.Config{}, nil},
		{api.Config{Endpoint: api.DefaultEndpoint}, nil},
		{api.Config{Endpoint: ":4319"}, nil},
		{api.Config{Endpoint: "[::1]:0", MaxConcurrentRequests: 4, ReadTimeout: time.Second}, nil},
		{api.Config{Endpoint: "localhost"}, []string{`api.endpoint: must be host:port, not "localhost"`}},
		{api.Config{Endpoint: "127.0.0.1:http"}, []string{`api.endpoint: port must be a number from 0 to 65535, not "http"`}},
		{api.Config{Endpoint: "127.0.0.1:70000"}, []string{"api.endpoint: port must be a number"}},
		{api.Config{TLS: api.TLSConfig{KeyFile: "k.pem"}}, []string{"api.tls: cert_file and key_file must be set together"}},
		{api.Config{MaxConcurrentRequests: -1, ReadHeaderTimeout: -time.Second, MaxHeaderBytes: -1}, []string{
			"api.max_concurrent_requests: must not be negative", "api.read_header_timeout: must not be negative",
			"api.max_header_bytes: must not be negative"}},
		{api.Config{ReadTimeout: -1, WriteTimeout: -1, IdleTimeout: -1}, []string{
			"api.read_timeout: must not be negative", "api.write_timeout: must not be negative", "api.idle_timeout: must not be negative"}},
	} {
		err := c.cfg.Validate()
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%+v: %v", c.cfg, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%+v: valid, want %q", c.cfg, c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v, want %q", c.cfg, err, w)
			}
		}
	}
}

func TestConfigYAML(t *testing.T) {
	var c api.Config
	err := yaml.Unmarshal([]byte(`
endpoint: 127.0.0.1:4319
auth: {bearer_token_file: /etc/meshobs/token}
tls: {cert_file: c.pem, key_file: k.pem}
max_concurrent_requests: 8
read_header_timeout: 2s
read_timeout: 3s
write_timeout: 4s
idle_timeout: 5s
max_header_bytes: 4096
`), &c)
	want := api.Config{
		Endpoint: "127.0.0.1:4319", Auth: api.AuthConfig{BearerTokenFile: "/etc/meshobs/token"},
		TLS: api.TLSConfig{CertFile: "c.pem", KeyFile: "k.pem"}, MaxConcurrentRequests: 8,
		ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 4 * time.Second,
		IdleTimeout: 5 * time.Second, MaxHeaderBytes: 4096,
	}
	if err != nil || c != want {
		t.Errorf("%+v, %v", c, err)
	}
	if (api.Config{}).Enabled() || !want.Enabled() {
		t.Error("Enabled: the zero Config is off, one with an endpoint on")
	}
}

func TestExposureWarnings(t *testing.T) {
	for _, c := range []struct {
		endpoint  string
		tls, auth bool
		want      []string
	}{
		{"127.0.0.1:4319", false, false, nil},
		{"localhost:4319", false, false, nil},
		{"[::1]:4319", false, false, nil},
		{"127.1.2.3:0", false, false, nil},
		{":4319", false, false, []string{"without TLS", "without authentication"}},
		{"0.0.0.0:4319", true, false, []string{"without authentication"}},
		{"10.0.0.7:4319", false, true, []string{"without TLS"}},
		{"meshobs.example:4319", true, true, nil},
	} {
		got := api.Exposure(c.endpoint, c.tls, c.auth)
		if len(got) != len(c.want) {
			t.Errorf("%s tls=%v auth=%v: %q, want %q", c.endpoint, c.tls, c.auth, got, c.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], c.want[i]) {
				t.Errorf("%s: %q, want %q", c.endpoint, got[i], c.want[i])
			}
		}
	}
}
