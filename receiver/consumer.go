package receiver

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/meshobs/meshobs/otlptrace"
)

// Consumer takes the data the receivers decode. It is called concurrently; it must not keep
// td/ld/md after it returns. It never blocks for long: when it cannot take more it returns an
// error wrapping ErrUnavailable.
type Consumer interface {
	// ConsumeTraces takes the spans of one request.
	ConsumeTraces(ctx context.Context, td ptrace.Traces) (Outcome, error)
	// ConsumeLogs takes the log records of one request.
	ConsumeLogs(ctx context.Context, ld plog.Logs) (Outcome, error)
	// ConsumeMetrics takes the metrics of one request.
	ConsumeMetrics(ctx context.Context, md pmetric.Metrics) (Outcome, error)
}

// TraceRequestConsumer is a Consumer that also takes trace requests as
// package otlptrace decodes them: the receivers then decode OTLP/protobuf
// trace requests (gRPC and HTTP) with otlptrace instead of pdata, several
// times cheaper, and call ConsumeTraceRequest. OTLP/JSON still goes through
// pdata and ConsumeTraces. The consumer must not keep req, nor the slices
// in it, after it returns (the receivers reuse them); the strings in it
// stay valid, and keep their request's buffer alive, unless the consumer
// is a StringRetainer that reports it keeps none.
type TraceRequestConsumer interface {
	Consumer
	// ConsumeTraceRequest takes the spans of one request.
	ConsumeTraceRequest(ctx context.Context, req *otlptrace.Request) (Outcome, error)
}

// StringRetainer is an optional interface of a TraceRequestConsumer.
// When RetainsStrings reports false, the consumer keeps no string of a
// request once ConsumeTraceRequest returns, and the gRPC receiver decodes
// each request from a reused buffer, handed back as soon as the consumer
// returns, instead of a fresh copy left to the garbage collector. Its
// answer must not change while the receivers run.
type StringRetainer interface {
	RetainsStrings() bool
}

// Outcome reports items refused inside an otherwise accepted request (OTLP partial success).
type Outcome struct {
	// Rejected is how many spans, log records or metric data points were not taken;
	// it is clamped to the request's item count.
	Rejected int64
	// Message says why, for the sender; with Rejected 0 it is a warning.
	Message string
}

// ErrUnavailable is what a Consumer wraps when it is full or stopping: the request is
// refused as retryable (HTTP 503 with Retry-After, gRPC UNAVAILABLE with RetryInfo).
// Any other Consumer error is answered as an internal error (HTTP 500, gRPC INTERNAL),
// which OTLP senders do not retry.
var ErrUnavailable = errors.New("receiver: unavailable") // full or stopping -> retryable
