package exporters_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/exporters/exporterstest"
)

// Every in-memory store of this package, registered each way the SDK
// allows, through the exported conformance suite.

func spanSuite(register func(*exporters.SpanStore) sdktrace.SpanProcessor) exporterstest.SpanStore[exporters.Span] {
	return exporterstest.SpanStore[exporters.Span]{
		New: func(t *testing.T, capacity int) (sdktrace.SpanProcessor, func(trace.TraceID) []exporters.Span) {
			s := exporters.NewSpanStore(exporters.WithSpanCapacity(capacity))
			return register(s), func(id trace.TraceID) []exporters.Span { spans, _ := s.Trace(id); return spans }
		},
		Name:       func(s exporters.Span) string { return s.Name },
		Attributes: func(s exporters.Span) []attribute.KeyValue { return s.Attributes },
	}
}

func TestSpanStoreConformance(t *testing.T) {
	t.Run("processor", func(t *testing.T) {
		exporterstest.RunSpanStore(t, spanSuite(func(s *exporters.SpanStore) sdktrace.SpanProcessor { return s }))
	})
	t.Run("syncer", func(t *testing.T) {
		exporterstest.RunSpanStore(t, spanSuite(func(s *exporters.SpanStore) sdktrace.SpanProcessor {
			return sdktrace.NewSimpleSpanProcessor(s)
		}))
	})
}

func logSuite(register func(*exporters.LogStore) sdklog.Processor) exporterstest.LogStore[exporters.AccessLog] {
	return exporterstest.LogStore[exporters.AccessLog]{
		New: func(t *testing.T, capacity int) (sdklog.Processor, func() []exporters.AccessLog) {
			s := exporters.NewLogStore(exporters.WithLogCapacity(capacity))
			return register(s), func() []exporters.AccessLog { return s.Recent(exporters.LogFilter{}, capacity) }
		},
		Path:    func(a exporters.AccessLog) string { return a.Path },
		SetPath: func(a *exporters.AccessLog, p string) { a.Path = p },
	}
}

func TestLogStoreConformance(t *testing.T) {
	t.Run("processor", func(t *testing.T) {
		exporterstest.RunLogStore(t, logSuite(func(s *exporters.LogStore) sdklog.Processor { return s }))
	})
	t.Run("exporter", func(t *testing.T) {
		exporterstest.RunLogStore(t, logSuite(func(s *exporters.LogStore) sdklog.Processor { return sdklog.NewSimpleProcessor(s) }))
	})
}

func TestMetricReaderConformance(t *testing.T) {
	exporterstest.RunMetricReader(t, exporterstest.MetricReader{
		New: func(t *testing.T) (sdkmetric.Reader, func(context.Context) (metricdata.ResourceMetrics, error)) {
			r := exporters.NewMetricReader()
			return r, r.Snapshot
		},
	})
}
