package outbound

import (
	"context"
	"net/url"
	"strconv"
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

// otlpEnvTimeout is the export bound when neither the config nor the
// signal's processor variable sets one: OTEL_EXPORTER_OTLP_TIMEOUT, which
// the exporters themselves read too, else 10s.
func otlpEnvTimeout(getenv func(string) string) time.Duration {
	if ms, err := strconv.Atoi(strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TIMEOUT"))); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
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

// otlpOptions are one exporter package's option constructors: the six OTLP
// exporters take the same settings through six distinct option types.
type otlpOptions[O any] struct {
	endpointURL func(string) O
	endpoint    func(string) O
	insecure    func() O
	headers     func(map[string]string) O
	timeout     func(time.Duration) O
	compression func(gzip bool) O
}

// otlpOptionList builds one exporter's options: endpoint (host:port or URL, url
// being the signal's URL) only when configured, plaintext only when asked,
// headers, timeout and compression only when set, so that the
// OTEL_EXPORTER_OTLP_* variables the exporters read themselves apply to
// everything left empty.
func otlpOptionList[O any](t otlpTarget, url string, c otlpOptions[O]) []O {
	var o []O
	switch {
	case t.isURL():
		o = append(o, c.endpointURL(url))
	case t.endpoint != "":
		o = append(o, c.endpoint(t.endpoint))
	}
	if t.insecure && !t.isURL() {
		o = append(o, c.insecure())
	}
	if len(t.headers) > 0 {
		o = append(o, c.headers(t.headers))
	}
	if t.timeout > 0 {
		o = append(o, c.timeout(t.timeout))
	}
	if t.compression != "" {
		o = append(o, c.compression(t.gzip()))
	}
	return o
}

func (t otlpTarget) spanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if t.protocol == ProtocolGRPC {
		return otlptracegrpc.New(ctx, otlpOptionList(t, t.endpoint, otlpOptions[otlptracegrpc.Option]{
			otlptracegrpc.WithEndpointURL, otlptracegrpc.WithEndpoint, otlptracegrpc.WithInsecure,
			otlptracegrpc.WithHeaders, otlptracegrpc.WithTimeout,
			func(bool) otlptracegrpc.Option { return otlptracegrpc.WithCompressor(t.compression) },
		})...)
	}
	return otlptracehttp.New(ctx, otlpOptionList(t, t.signalURL("traces"), otlpOptions[otlptracehttp.Option]{
		otlptracehttp.WithEndpointURL, otlptracehttp.WithEndpoint, otlptracehttp.WithInsecure,
		otlptracehttp.WithHeaders, otlptracehttp.WithTimeout,
		func(gzip bool) otlptracehttp.Option {
			if gzip {
				return otlptracehttp.WithCompression(otlptracehttp.GzipCompression)
			}
			return otlptracehttp.WithCompression(otlptracehttp.NoCompression)
		},
	})...)
}

func (t otlpTarget) metricExporter(ctx context.Context) (sdkmetric.Exporter, error) {
	if t.protocol == ProtocolGRPC {
		return otlpmetricgrpc.New(ctx, otlpOptionList(t, t.endpoint, otlpOptions[otlpmetricgrpc.Option]{
			otlpmetricgrpc.WithEndpointURL, otlpmetricgrpc.WithEndpoint, otlpmetricgrpc.WithInsecure,
			otlpmetricgrpc.WithHeaders, otlpmetricgrpc.WithTimeout,
			func(bool) otlpmetricgrpc.Option { return otlpmetricgrpc.WithCompressor(t.compression) },
		})...)
	}
	return otlpmetrichttp.New(ctx, otlpOptionList(t, t.signalURL("metrics"), otlpOptions[otlpmetrichttp.Option]{
		otlpmetrichttp.WithEndpointURL, otlpmetrichttp.WithEndpoint, otlpmetrichttp.WithInsecure,
		otlpmetrichttp.WithHeaders, otlpmetrichttp.WithTimeout,
		func(gzip bool) otlpmetrichttp.Option {
			if gzip {
				return otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression)
			}
			return otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression)
		},
	})...)
}

func (t otlpTarget) logExporter(ctx context.Context) (sdklog.Exporter, error) {
	if t.protocol == ProtocolGRPC {
		return otlploggrpc.New(ctx, otlpOptionList(t, t.endpoint, otlpOptions[otlploggrpc.Option]{
			otlploggrpc.WithEndpointURL, otlploggrpc.WithEndpoint, otlploggrpc.WithInsecure,
			otlploggrpc.WithHeaders, otlploggrpc.WithTimeout,
			func(bool) otlploggrpc.Option { return otlploggrpc.WithCompressor(t.compression) },
		})...)
	}
	return otlploghttp.New(ctx, otlpOptionList(t, t.signalURL("logs"), otlpOptions[otlploghttp.Option]{
		otlploghttp.WithEndpointURL, otlploghttp.WithEndpoint, otlploghttp.WithInsecure,
		otlploghttp.WithHeaders, otlploghttp.WithTimeout,
		func(gzip bool) otlploghttp.Option {
			if gzip {
				return otlploghttp.WithCompression(otlploghttp.GzipCompression)
			}
			return otlploghttp.WithCompression(otlploghttp.NoCompression)
		},
	})...)
}
