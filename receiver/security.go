package receiver

import (
	"bytes"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
)

// loadTLS builds the server TLS config of a transport, or nil for plaintext.
// key names the transport's tls block in errors.
func loadTLS(key string, c *TLSConfig) (*tls.Config, error) {
	if c == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("receiver: %s.cert_file, key_file: %w", key, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("receiver: %s.client_ca_file: %w", key, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("receiver: %s.client_ca_file: no PEM certificate in %s", key, c.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// bearer is the token a transport requires; nil requires none.
type bearer []byte

// loadBearer reads a transport's token file; key names its auth block in errors.
func loadBearer(key string, a *AuthConfig) (bearer, error) {
	if a == nil {
		return nil, nil
	}
	data, err := os.ReadFile(a.BearerTokenFile)
	if err != nil {
		return nil, fmt.Errorf("receiver: %s.bearer_token_file: %w", key, err)
	}
	tok := bytes.TrimSpace(data)
	if len(tok) == 0 {
		return nil, fmt.Errorf("receiver: %s.bearer_token_file: %s is empty", key, a.BearerTokenFile)
	}
	return bearer(tok), nil
}

// allows reports whether an Authorization value ("Bearer <token>", scheme in
// any case) carries the token, comparing in constant time.
func (b bearer) allows(authorization string) bool {
	if b == nil {
		return true
	}
	scheme, tok, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), b) == 1
}

// isLoopback reports whether endpoint's host is a loopback name or address;
// an empty host means every interface.
func isLoopback(endpoint string) bool {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
