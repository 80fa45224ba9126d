package outbound

import (
	"context"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// otlpTarget is one OTLP destination with every choice resolved except those
// deliberately left to the exporters' own OTEL_EXPORTER_OTLP_* handling.
type otlpTarget struct {
	endpoint    string // host:port, URL, or "" for the environment's
	protocol    string
	insecure    bool // plaintext to a host:port endpoint
	headers     map[string]string
	timeout     time.Duration // 0: the environment's, else 10s
	compression string        // "", none or gzip
	signals     []string      // empty: all
}

func (c OTLP) target(getenv func(string) string) otlpTarget {
	p := c.Protocol
	if p == "" {
		p = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if p != ProtocolGRPC { // the specification's default; unknown values too
		p = ProtocolHTTPProtobuf
	}
	return otlpTarget{
		endpoint: c.Endpoint, protocol: p, insecure: c.Insecure,
		headers: c.Headers, timeout: c.Timeout, compression: c.Compression, signals: c.Signals,
	}
}

func (c Jaeger) target() otlpTarget {
	return otlpTarget{endpoint: c.Endpoint, protocol: c.Protocol, insecure: true, timeout: c.Timeout, signals: c.Signals}
}

// exportTimeout is the bound the batch processors and readers put on one
// export: the configured timeout, else the environment's, else 10s.
func (t otlpTarget) exportTimeout(getenv func(string) string) time.Duration {
	if t.timeout > 0 {
		return t.timeout
	}
	if ms, err := time.ParseDuration(getenv("OTEL_EXPORTER_OTLP_TIMEOUT") + "ms"); err == nil && ms > 0 {
		return ms
	}
	return DefaultTimeout
}

// signalURL returns the endpoint URL for one signal: for http/protobuf the
// configured base URL plus /v1/<signal>, as the specification says of
// OTEL_EXPORTER_OTLP_ENDPOINT; for gRPC the URL as is.
func (t otlpTarget) signalURL(signal string) string {
	if t.protocol == ProtocolGRPC {
		return t.endpoint
	}
	u, err := url.Parse(t.endpoint)
	if err != nil { // Validate rejects these
		return t.endpoint
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/" + signal
	return u.String()
}

func (t otlpTarget) isURL() bool { return strings.Contains(t.endpoint, "://") }

func (t otlpTarget) gzip() bool { return t.compression == "gzip" }

// The six exporter constructors share one shape: endpoint (host:port or URL)
// only when configured, plaintext only when asked, headers, timeout and
// compression only when set, so that the OTEL_EXPORTER_OTLP_* variables the
// exporters read themselves apply to everything left empty.

func (t otlpTarget) spanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if t.protocol == ProtocolGRPC {
		var o []otlptracegrpc.Option
		switch {
		case t.isURL():
			o = append(o, otlptracegrpc.WithEndpointURL(t.endpoint))
		case t.endpoint != "":
			o = append(o, otlptracegrpc.WithEndpoint(t.endpoint))
		}
		if t.insecure && !t.isURL() {
			o = append(o, otlptracegrpc.WithInsecure())
		}
		if len(t.headers) > 0 {
			o = append(o, otlptracegrpc.WithHeaders(t.headers))
		}
		if t.timeout > 0 {
			o = append(o, otlptracegrpc.WithTimeout(t.timeout))
		}
		if t.compression != "" {
			o = append(o, otlptracegrpc.WithCompressor(t.compression))
		}
		return otlptracegrpc.New(ctx, o...)
	}
	var o []otlptracehttp.Option
	switch {
	case t.isURL():
		o = append(o, otlptracehttp.WithEndpointURL(t.signalURL("traces")))
	case t.endpoint != "":
		o = append(o, otlptracehttp.WithEndpoint(t.endpoint))
	}
	if t.insecure && !t.isURL() {
		o = append(o, otlptracehttp.WithInsecure())
	}
	if len(t.headers) > 0 {
		o = append(o, otlptracehttp.WithHeaders(t.headers))
	}
	if t.timeout > 0 {
		o = append(o, otlptracehttp.WithTimeout(t.timeout))
	}
	if t.compression != "" {
		c := otlptracehttp.NoCompression
		if t.gzip() {
			c = otlptracehttp.GzipCompression
		}
		o = append(o, otlptracehttp.WithCompression(c))
	}
	return otlptracehttp.New(ctx, o...)
}

func (t otlpTarget) metricExporter(ctx context.Context) (sdkmetric.Exporter, error) {
	if t.protocol == ProtocolGRPC {
		var o []otlpmetricgrpc.Option
		switch {
		case t.isURL():
			o = append(o, otlpmetricgrpc.WithEndpointURL(t.endpoint))
		case t.endpoint != "":
			o = append(o, otlpmetricgrpc.WithEndpoint(t.endpoint))
		}
		if t.insecure && !t.isURL() {
			o = append(o, otlpmetricgrpc.WithInsecure())
		}
		if len(t.headers) > 0 {
			o = append(o, otlpmetricgrpc.WithHeaders(t.headers))
		}
		if t.timeout > 0 {
			o = append(o, otlpmetricgrpc.WithTimeout(t.timeout))
		}
		if t.compression != "" {
			o = append(o, otlpmetricgrpc.WithCompressor(t.compression))
		}
		return otlpmetricgrpc.New(ctx, o...)
	}
	var o []otlpmetrichttp.Option
	switch {
	case t.isURL():
		o = append(o, otlpmetrichttp.WithEndpointURL(t.signalURL("metrics")))
	case t.endpoint != "":
		o = append(o, otlpmetrichttp.WithEndpoint(t.endpoint))
	}
	if t.insecure && !t.isURL() {
		o = append(o, otlpmetrichttp.WithInsecure())
	}
	if len(t.headers) > 0 {
		o = append(o, otlpmetrichttp.WithHeaders(t.headers))
	}
	if t.timeout > 0 {
		o = append(o, otlpmetrichttp.WithTimeout(t.timeout))
	}
	if t.compression != "" {
		c := otlpmetrichttp.NoCompression
		if t.gzip() {
			c = otlpmetrichttp.GzipCompression
		}
		o = append(o, otlpmetrichttp.WithCompression(c))
	}
	return otlpmetrichttp.New(ctx, o...)
}

func (t otlpTarget) logExporter(ctx context.Context) (sdklog.Exporter, error) {
	if t.protocol == ProtocolGRPC {
		var o []otlploggrpc.Option
		switch {
		case t.isURL():
			o = append(o, otlploggrpc.WithEndpointURL(t.endpoint))
		case t.endpoint != "":
			o = append(o, otlploggrpc.WithEndpoint(t.endpoint))
		}
		if t.insecure && !t.isURL() {
			o = append(o, otlploggrpc.WithInsecure())
		}
		if len(t.headers) > 0 {
			o = append(o, otlploggrpc.WithHeaders(t.headers))
		}
		if t.timeout > 0 {
			o = append(o, otlploggrpc.WithTimeout(t.timeout))
		}
		if t.compression != "" {
			o = append(o, otlploggrpc.WithCompressor(t.compression))
		}
		return otlploggrpc.New(ctx, o...)
	}
	var o []otlploghttp.Option
	switch {
	case t.isURL():
		o = append(o, otlploghttp.WithEndpointURL(t.signalURL("logs")))
	case t.endpoint != "":
		o = append(o, otlploghttp.WithEndpoint(t.endpoint))
	}
	if t.insecure && !t.isURL() {
		o = append(o, otlploghttp.WithInsecure())
	}
	if len(t.headers) > 0 {
		o = append(o, otlploghttp.WithHeaders(t.headers))
	}
	if t.timeout > 0 {
		o = append(o, otlploghttp.WithTimeout(t.timeout))
	}
	if t.compression != "" {
		c := otlploghttp.NoCompression
		if t.gzip() {
			c = otlploghttp.GzipCompression
		}
		o = append(o, otlploghttp.WithCompression(c))
	}
	return otlploghttp.New(ctx, o...)
}
