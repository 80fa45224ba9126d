package receiver

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshobs/meshobs/otlptrace"
)

// dispatch hands n decoded items to consume and counts the outcome. A
// receiver that is stopping refuses them as retryable without calling consume.
func (r *Receivers) dispatch(t transport, s signal, n int64, consume func() (Outcome, error)) (Outcome, error) {
	if r.stopping.Load() {
		r.counts.add(t, s, 0, n)
		return Outcome{}, refuse(kindUnavailable, "receiver: %s: stopping", s)
	}
	out, err := consume()
	if err != nil {
		r.counts.add(t, s, 0, n)
		if _, _, retry := mapError(err); !retry {
			r.log.Warn("receiver: consumer failed", "transport", t.String(), "signal", s.String(), "error", err)
		}
		return Outcome{}, err
	}
	out.Rejected = min(max(out.Rejected, 0), n)
	r.counts.add(t, s, n-out.Rejected, out.Rejected)
	return out, nil
}

// The export functions run one decoded request of either transport through
// the consumer and build its response, with partial success when the
// consumer rejected items or left a message.

func (r *Receivers) exportTraces(ctx context.Context, t transport, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := req.Traces()
	out, err := r.dispatch(t, signalTraces, int64(td.SpanCount()), func() (Outcome, error) {
		return r.consumer.ConsumeTraces(ctx, td)
	})
	if err != nil {
		return ptraceotlp.ExportResponse{}, err
	}
	resp := ptraceotlp.NewExportResponse()
	if out.Rejected > 0 || out.Message != "" {
		resp.PartialSuccess().SetRejectedSpans(out.Rejected)
		resp.PartialSuccess().SetErrorMessage(out.Message)
	}
	return resp, nil
}

// exportTraceRequest is exportTraces for a request otlptrace decoded, for a
// TraceRequestConsumer.
func (r *Receivers) exportTraceRequest(ctx context.Context, t transport, c TraceRequestConsumer, req *otlptrace.Request) (Outcome, error) {
	return r.dispatch(t, signalTraces, int64(req.SpanCount()), func() (Outcome, error) {
		return c.ConsumeTraceRequest(ctx, req)
	})
}

// traceRequests holds decoded requests for reuse: a Request that has
// decoded one of each sender's shapes decodes the next without allocating.
var traceRequests = sync.Pool{New: func() any { return new(otlptrace.Request) }}

func (r *Receivers) exportLogs(ctx context.Context, t transport, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	ld := req.Logs()
	out, err := r.dispatch(t, signalLogs, int64(ld.LogRecordCount()), func() (Outcome, error) {
		return r.consumer.ConsumeLogs(ctx, ld)
	})
	if err != nil {
		return plogotlp.ExportResponse{}, err
	}
	resp := plogotlp.NewExportResponse()
	if out.Rejected > 0 || out.Message != "" {
		resp.PartialSuccess().SetRejectedLogRecords(out.Rejected)
		resp.PartialSuccess().SetErrorMessage(out.Message)
	}
	return resp, nil
}

func (r *Receivers) exportMetrics(ctx context.Context, t transport, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	md := req.Metrics()
	out, err := r.dispatch(t, signalMetrics, int64(md.DataPointCount()), func() (Outcome, error) {
		return r.consumer.ConsumeMetrics(ctx, md)
	})
	if err != nil {
		return pmetricotlp.ExportResponse{}, err
	}
	resp := pmetricotlp.NewExportResponse()
	if out.Rejected > 0 || out.Message != "" {
		resp.PartialSuccess().SetRejectedDataPoints(out.Rejected)
		resp.PartialSuccess().SetErrorMessage(out.Message)
	}
	return resp, nil
}
