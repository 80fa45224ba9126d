package telemetry

import (
	"context"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Every service has its own providers (its own resource), and they all share
// one set of processors. A provider shuts its processors down when it is shut
// down, and the SDK does not support a processor registered with several
// providers; these wrappers make the registrations non-owning, and the
// Pipeline shuts each real processor down exactly once.

type sharedSpanProcessor struct{ sdktrace.SpanProcessor }

func (sharedSpanProcessor) Shutdown(context.Context) error { return nil }

type sharedLogProcessor struct{ sdklog.Processor }

func (sharedLogProcessor) Shutdown(context.Context) error { return nil }
