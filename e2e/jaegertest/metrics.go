package jaegertest

import (
	"context"

	"github.com/meshobs/meshobs/e2e/tooltest"
)

// Sample is one series value of a Prometheus text exposition.
type Sample = tooltest.Sample

// Samples parses a Prometheus text exposition and returns the samples named
// name (all samples if name is ""). Malformed lines are skipped.
func Samples(exposition, name string) []Sample { return tooltest.Samples(exposition, name) }

// Find returns the first sample with the given name whose labels include all
// of want.
func Find(samples []Sample, name string, want map[string]string) (Sample, bool) {
	return tooltest.Find(samples, name, want)
}

// ScrapeMetrics fetches the prometheus exporter's exposition: the OTLP
// metrics Jaeger received, translated with the UnderscoreEscapingWithSuffixes
// strategy (a counter "meshobs.requests" with unit "1" becomes
// meshobs_requests_total; resource attributes become labels, service.name as
// service_name, besides job and instance).
func (j *Jaeger) ScrapeMetrics(ctx context.Context) (string, error) {
	b, err := j.get(ctx, j.PrometheusURL)
	return string(b), err
}

// ScrapeInternalMetrics fetches Jaeger's own telemetry, e.g.
// otelcol_receiver_accepted_log_records_total.
func (j *Jaeger) ScrapeInternalMetrics(ctx context.Context) (string, error) {
	b, err := j.get(ctx, j.InternalMetricsURL)
	return string(b), err
}
