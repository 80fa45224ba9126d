package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshobs/meshobs/otlptrace"
)

// HTTP server limits, set once for every OTLP/HTTP receiver.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = 30 * time.Second
	httpWriteTimeout      = 30 * time.Second
	httpIdleTimeout       = 2 * time.Minute
	httpMaxHeaderBytes    = 64 << 10
	// pooledBufferMax keeps a rare huge body's buffer out of the pool.
	pooledBufferMax = 4 << 20
)

// Content types of OTLP/HTTP.
const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// otlpMessage is what pdata's OTLP request and response types all are.
type otlpMessage interface {
	MarshalProto() ([]byte, error)
	UnmarshalProto([]byte) error
	MarshalJSON() ([]byte, error)
	UnmarshalJSON([]byte) error
}

// encoding is one OTLP/HTTP body encoding; a request is answered in its own.
type encoding struct {
	contentType string
	json        bool
}

var (
	encodingProtobuf = &encoding{contentType: contentTypeProtobuf}
	encodingJSON     = &encoding{contentType: contentTypeJSON, json: true}
)

// encodingOf returns the encoding of a Content-Type header, or nil.
func encodingOf(contentType string) *encoding {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil
	}
	switch mt {
	case contentTypeProtobuf:
		return encodingProtobuf
	case contentTypeJSON:
		return encodingJSON
	}
	return nil
}

func (e *encoding) unmarshal(body []byte, m otlpMessage) error {
	if e.json {
		return m.UnmarshalJSON(body)
	}
	return m.UnmarshalProto(body)
}

func (e *encoding) marshal(m otlpMessage) ([]byte, error) {
	if e.json {
		return m.MarshalJSON()
	}
	return m.MarshalProto()
}

func (e *encoding) marshalStatus(st *spb.Status) ([]byte, error) {
	if e.json {
		return protojson.Marshal(st)
	}
	return proto.Marshal(st)
}

// httpReceiver is the OTLP/HTTP transport: one handler for the three paths.
type httpReceiver struct {
	r     *Receivers
	cfg   HTTPConfig // defaults applied
	lim   limiter
	token bearer // set by Start before serving
	srv   *http.Server
}

func newHTTPReceiver(r *Receivers, cfg HTTPConfig) *httpReceiver {
	cfg = cfg.withDefaults()
	h := &httpReceiver{r: r, cfg: cfg}
	h.lim.max = int64(cfg.MaxConcurrentRequests)
	return h
}

// signalOfPath maps an OTLP/HTTP path to its signal.
func signalOfPath(path string) (signal, bool) {
	switch path {
	case "/v1/traces":
		return signalTraces, true
	case "/v1/logs":
		return signalLogs, true
	case "/v1/metrics":
		return signalMetrics, true
	}
	return 0, false
}

// ServeHTTP answers one OTLP/HTTP request. Checks run cheapest first, and all
// of them before the body is read: auth, path, method, content type and
// encoding, stopping, the concurrency bound.
func (h *httpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	enc := encodingOf(req.Header.Get("Content-Type"))
	if !h.token.allows(req.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		h.fail(w, enc, refuse(kindUnauthenticated, "receiver: missing or wrong bearer token"))
		return
	}
	sig, ok := signalOfPath(req.URL.Path)
	if !ok {
		h.fail(w, enc, refuse(kindNotFound, "receiver: no OTLP/HTTP path %q: use /v1/traces, /v1/logs or /v1/metrics", req.URL.Path))
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, enc, refuse(kindMethod, "receiver: method %s not allowed: use POST", req.Method))
		return
	}
	if enc == nil {
		h.fail(w, nil, refuse(kindMediaType, "receiver: content type %q not supported: use %s or %s",
			req.Header.Get("Content-Type"), contentTypeProtobuf, contentTypeJSON))
		return
	}
	gz, ok := gzipped(req.Header.Get("Content-Encoding"))
	if !ok {
		w.Header().Set("Accept-Encoding", "gzip")
		h.fail(w, enc, refuse(kindMediaType, "receiver: content encoding %q not supported: use gzip or none", req.Header.Get("Content-Encoding")))
		return
	}
	if h.r.stopping.Load() {
		w.Header().Set("Connection", "close")
		h.fail(w, enc, refuse(kindUnavailable, "receiver: stopping"))
		return
	}
	if !h.lim.acquire() {
		h.fail(w, enc, refuse(kindUnavailable, "receiver: http: max_concurrent_requests (%d) reached", h.lim.max))
		return
	}
	defer h.lim.release()

	buf, err := h.readBody(w, req, gz)
	if err != nil {
		h.fail(w, enc, err)
		return
	}
	var resp []byte
	if c, ok := h.r.consumer.(TraceRequestConsumer); ok && sig == signalTraces && !enc.json {
		// The decoded strings alias the body: its buffer is not reused.
		resp, err = h.exportTraceRequest(req.Context(), c, buf.Bytes())
	} else {
		resp, err = h.export(req.Context(), sig, enc, buf.Bytes())
		putBuffer(buf)
	}
	if err != nil {
		h.fail(w, enc, err)
		return
	}
	w.Header().Set("Content-Type", enc.contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp) // a failed write means the sender has gone: nothing left to do
}

// gzipped reads Content-Encoding: ok is false for an encoding not supported.
func gzipped(contentEncoding string) (gz, ok bool) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return false, true
	case "gzip", "x-gzip":
		return true, true
	}
	return false, false
}

// export decodes body as sig's request in enc and runs it through the
// consumer, returning the encoded response.
func (h *httpReceiver) export(ctx context.Context, sig signal, enc *encoding, body []byte) ([]byte, error) {
	var (
		resp otlpMessage
		err  error
	)
	switch sig {
	case signalTraces:
		req := ptraceotlp.NewExportRequest()
		if err := enc.unmarshal(body, req); err != nil {
			return nil, malformed(sig, enc, err)
		}
		resp, err = h.r.exportTraces(ctx, transportHTTP, req)
	case signalLogs:
		req := plogotlp.NewExportRequest()
		if err := enc.unmarshal(body, req); err != nil {
			return nil, malformed(sig, enc, err)
		}
		resp, err = h.r.exportLogs(ctx, transportHTTP, req)
	default:
		req := pmetricotlp.NewExportRequest()
		if err := enc.unmarshal(body, req); err != nil {
			return nil, malformed(sig, enc, err)
		}
		resp, err = h.r.exportMetrics(ctx, transportHTTP, req)
	}
	if err != nil {
		return nil, err
	}
	out, err := enc.marshal(resp)
	if err != nil {
		h.r.log.Error("receiver: encoding a response failed", "signal", sig.String(), "error", err)
		return nil, fmt.Errorf("receiver: encoding %s response: %w", sig, err)
	}
	return out, nil
}

// exportTraceRequest decodes an OTLP/protobuf trace request with otlptrace
// and runs it through c, returning the encoded response.
func (h *httpReceiver) exportTraceRequest(ctx context.Context, c TraceRequestConsumer, body []byte) ([]byte, error) {
	req := traceRequests.Get().(*otlptrace.Request)
	defer traceRequests.Put(req)
	if err := req.Unmarshal(body); err != nil {
		return nil, malformed(signalTraces, encodingProtobuf, err)
	}
	out, err := h.r.exportTraceRequest(ctx, transportHTTP, c, req)
	if err != nil {
		return nil, err
	}
	return (&traceResponseMsg{out: out}).marshal(), nil
}

func malformed(sig signal, enc *encoding, err error) error {
	return refuse(kindBadRequest, "receiver: %s: malformed %s body: %v", sig, enc.contentType, err)
}

// readBody reads the whole body into a pooled buffer, refusing one over
// max_request_body_size as sent or, when gzipped, after decompression, so a
// gzip bomb costs at most that much memory.
func (h *httpReceiver) readBody(w http.ResponseWriter, req *http.Request, gz bool) (*bytes.Buffer, error) {
	limit := h.cfg.MaxRequestBodySize
	tooLarge := func() error {
		return refuse(kindTooLarge, "receiver: body over max_request_body_size (%d bytes)", limit)
	}
	if req.ContentLength > limit {
		return nil, tooLarge()
	}
	var src io.Reader = http.MaxBytesReader(w, req.Body, limit)
	buf := getBuffer()
	if gz {
		zr, err := getGzipReader(src)
		if err != nil {
			putBuffer(buf)
			return nil, refuse(kindBadRequest, "receiver: malformed gzip body: %v", err)
		}
		defer gzipReaders.Put(zr)
		src = zr
	} else if req.ContentLength > 0 {
		buf.Grow(int(req.ContentLength))
	}
	lr := &io.LimitedReader{R: src, N: limit + 1}
	_, err := buf.ReadFrom(lr)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), err == nil && int64(buf.Len()) > limit:
		putBuffer(buf)
		return nil, tooLarge()
	case err != nil && gz:
		putBuffer(buf)
		return nil, refuse(kindBadRequest, "receiver: malformed gzip body: %v", err)
	case err != nil:
		putBuffer(buf)
		return nil, refuse(kindBadRequest, "receiver: reading body: %v", err)
	}
	return buf, nil
}

var (
	buffers     = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipReaders sync.Pool // *gzip.Reader
)

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > pooledBufferMax {
		return
	}
	b.Reset()
	buffers.Put(b)
}

func getGzipReader(src io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzipReaders.Get().(*gzip.Reader); ok {
		if err := zr.Reset(src); err != nil {
			gzipReaders.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(src)
}

// fail answers err with the status mapError gives it, a google.rpc.Status in
// the request's encoding (plain text when that is unknown) and Retry-After
// when the sender should retry.
func (h *httpReceiver) fail(w http.ResponseWriter, enc *encoding, err error) {
	code, _, retry := mapError(err)
	if retry {
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
	}
	contentType, body := "text/plain; charset=utf-8", []byte(err.Error()+"\n")
	if enc != nil {
		if b, merr := enc.marshalStatus(grpcStatus(err).Proto()); merr == nil {
			contentType, body = enc.contentType, b
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// newServer builds the http.Server for this transport.
func (h *httpReceiver) newServer() *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ErrorLog:          slogLogLogger(h.r.log),
	}
}
