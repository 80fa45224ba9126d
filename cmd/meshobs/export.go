package main

import (
	"context"
	"fmt"
	"io"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/telemetry"
)

// outboundOptions builds the configured exporters and the pipeline options
// that register them, with a base resource from OTEL_RESOURCE_ATTRIBUTES.
// The caller shuts the pipeline down, then out, then reports out's counts.
func outboundOptions(cfg outbound.Config, stderr io.Writer) (opts []telemetry.Option, out *outbound.Set, err error) {
	ctx := context.Background()
	// Each service's providers add their own service.name over this base.
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil { // a malformed OTEL_RESOURCE_ATTRIBUTES: keep what parsed
		fmt.Fprintf(stderr, "meshobs: resource: %v\n", err)
	}
	if res != nil {
		opts = append(opts, telemetry.WithResource(res))
	}
	if out, err = outbound.New(ctx, cfg, outbound.WithStderr(stderr)); err != nil {
		return nil, nil, err
	}
	if cfg.Enabled() {
		// One line per failed batch for as long as an endpoint is down
		// would drown stderr; the exit report has the counts.
		otel.SetErrorHandler(outbound.NewErrorHandler(stderr, 5))
	}
	for _, sp := range out.SpanProcessors() {
		opts = append(opts, telemetry.WithSpanProcessor(sp))
	}
	for _, lp := range out.LogProcessors() {
		opts = append(opts, telemetry.WithLogProcessor(lp))
	}
	for _, r := range out.MetricReaders() {
		opts = append(opts, telemetry.WithMetricReader(r))
	}
	return opts, out, nil
}
