package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// exportMethod is OTLP/gRPC's trace Export.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// rawCodec sends an already encoded request and hands back the encoded
// response, so that gRPC adds no encoding of its own to the client's cost.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	p := v.(*[]byte)
	*p = append((*p)[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// loadSpec is one load: how many requests, over which transports, with how
// many concurrent streams (goroutines, each with its own connection) per
// transport.
type loadSpec struct {
	requests   int
	transports []string // "grpc", "http"
	streams    int      // per transport
	// backoff is the wait before a refused request is sent again.
	backoff time.Duration
}

// transportStats is what the client saw on one transport.
type transportStats struct {
	Transport string `json:"transport"`
	// Requests counts attempts; a refused request sent again counts again.
	Requests int64 `json:"requests"`
	// SentSpans is the spans of every attempt.
	SentSpans int64 `json:"sent_spans"`
	// AcceptedSpans is the spans of attempts answered OK, less the partial-success rejections.
	AcceptedSpans int64 `json:"accepted_spans"`
	// RejectedSpans is the spans an OK answer reported rejected (partial success).
	RejectedSpans int64 `json:"rejected_spans"`
	// RefusedSpans is the spans of attempts refused as retryable (gRPC
	// UNAVAILABLE or RESOURCE_EXHAUSTED, HTTP 503 or 429).
	RefusedSpans int64 `json:"refused_spans"`
	// FailedSpans is the spans of attempts that failed any other way.
	FailedSpans int64 `json:"failed_spans"`
	// Refusals counts refused attempts by code ("UNAVAILABLE", "503", ...).
	Refusals map[string]int64 `json:"refusals"`
	// FirstFailure describes the first failed attempt.
	FirstFailure string `json:"first_failure,omitempty"`
}

type counters struct {
	mu sync.Mutex
	transportStats
}

func (c *counters) add(spans int64, res sendResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Requests++
	c.SentSpans += spans
	switch {
	case res.err != nil:
		c.FailedSpans += spans
		if c.FirstFailure == "" {
			c.FirstFailure = res.err.Error()
		}
	case res.refused != "":
		c.RefusedSpans += spans
		c.Refusals[res.refused]++
	default:
		c.AcceptedSpans += spans - res.rejected
		c.RejectedSpans += res.rejected
	}
}

// sendResult is one attempt's outcome: accepted (with rejected spans from
// a partial success), refused as retryable (refused names the code), or
// failed (err).
type sendResult struct {
	rejected int64
	refused  string
	err      error
}

// sender sends one encoded request.
type sender interface {
	send(ctx context.Context, body []byte) sendResult
	close()
}

type grpcSender struct {
	conn *grpc.ClientConn
	resp []byte
}

func newGRPCSender(addr string) (*grpcSender, error) {
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, err
	}
	return &grpcSender{conn: conn}, nil
}

func (s *grpcSender) send(ctx context.Context, body []byte) sendResult {
	err := s.conn.Invoke(ctx, exportMethod, &body, &s.resp)
	if err != nil {
		st, _ := status.FromError(err)
		switch st.Code() {
		case codes.Unavailable, codes.ResourceExhausted:
			return sendResult{refused: st.Code().String()}
		}
		return sendResult{err: fmt.Errorf("grpc: %w", err)}
	}
	return decodeResponse(s.resp)
}

func (s *grpcSender) close() { s.conn.Close() }

type httpSender struct {
	url    string
	client *http.Client
	buf    bytes.Buffer
}

func newHTTPSender(addr string) *httpSender {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
	}
	return &httpSender{url: "http://" + addr + "/v1/traces", client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (s *httpSender) send(ctx context.Context, body []byte) sendResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return sendResult{err: err}
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := s.client.Do(req)
	if err != nil {
		return sendResult{err: fmt.Errorf("http: %w", err)}
	}
	s.buf.Reset()
	_, err = s.buf.ReadFrom(io.LimitReader(resp.Body, 16<<20))
	resp.Body.Close()
	switch {
	case err != nil:
		return sendResult{err: fmt.Errorf("http: reading the answer: %w", err)}
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		return sendResult{refused: fmt.Sprint(resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		return sendResult{err: fmt.Errorf("http: %s: %.200s", resp.Status, s.buf.Bytes())}
	}
	return decodeResponse(s.buf.Bytes())
}

func (s *httpSender) close() { s.client.CloseIdleConnections() }

func decodeResponse(b []byte) sendResult {
	resp := ptraceotlp.NewExportResponse()
	if err := resp.UnmarshalProto(b); err != nil {
		return sendResult{err: fmt.Errorf("decoding the answer: %w", err)}
	}
	return sendResult{rejected: resp.PartialSuccess().RejectedSpans()}
}

// loadResult is what one load did, from the client's side.
type loadResult struct {
	Wall       time.Duration
	Transports []transportStats
}

func (r loadResult) total() transportStats {
	var t transportStats
	t.Refusals = map[string]int64{}
	for _, s := range r.Transports {
		t.Requests += s.Requests
		t.SentSpans += s.SentSpans
		t.AcceptedSpans += s.AcceptedSpans
		t.RejectedSpans += s.RejectedSpans
		t.RefusedSpans += s.RefusedSpans
		t.FailedSpans += s.FailedSpans
		for k, v := range s.Refusals {
			t.Refusals[k] += v
		}
		if t.FirstFailure == "" {
			t.FirstFailure = s.FirstFailure
		}
	}
	return t
}

// runLoad sends spec.requests requests, the templates in turn, each with
// ids of its own (its sequence number), from spec.streams goroutines per
// transport. A refused request is sent again after spec.backoff until it
// is accepted; a failed one is not (the caller finds it in the result's
// FailedSpans). onAccepted is called with the running
// total of accepted spans after each accepted request.
func runLoad(ctx context.Context, spec loadSpec, tmpls []*template, grpcAddr, httpAddr string, onAccepted func(total int64)) (loadResult, error) {
	var next atomic.Int64
	var accepted atomic.Int64
	stats := make([]*counters, len(spec.transports))
	var senders []sender
	var owner []*counters
	for i, tr := range spec.transports {
		stats[i] = &counters{transportStats: transportStats{Transport: tr, Refusals: map[string]int64{}}}
		for range spec.streams {
			var s sender
			switch tr {
			case "grpc":
				gs, err := newGRPCSender(grpcAddr)
				if err != nil {
					for _, s := range senders {
						s.close()
					}
					return loadResult{}, err
				}
				s = gs
			case "http":
				s = newHTTPSender(httpAddr)
			default:
				return loadResult{}, fmt.Errorf("unknown transport %q", tr)
			}
			senders = append(senders, s)
			owner = append(owner, stats[i])
		}
	}
	defer func() {
		for _, s := range senders {
			s.close()
		}
	}()

	var wg sync.WaitGroup
	start := time.Now()
	for i, s := range senders {
		wg.Go(func() {
			c := owner[i]
			var buf []byte
			for ctx.Err() == nil {
				seq := next.Add(1)
				if seq > int64(spec.requests) {
					return
				}
				t := tmpls[int(seq)%len(tmpls)]
				buf = t.patch(buf, uint64(seq))
				for {
					res := s.send(ctx, buf)
					if ctx.Err() != nil {
						return // cancelled: not an outcome of the server's
					}
					c.add(int64(t.n), res)
					if res.refused == "" {
						if res.err == nil && onAccepted != nil {
							onAccepted(accepted.Add(int64(t.n) - res.rejected))
						}
						break
					}
					select {
					case <-ctx.Done():
						return
					case <-time.After(spec.backoff):
					}
				}
			}
		})
	}
	wg.Wait()
	res := loadResult{Wall: time.Since(start)}
	for _, c := range stats {
		res.Transports = append(res.Transports, c.transportStats)
	}
	return res, ctx.Err()
}
