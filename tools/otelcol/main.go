// Command otelcol is a small OpenTelemetry Collector distribution for
// meshobs's end-to-end tests. Its components are listed by hand (no
// collector builder): the otlp receiver; the otlp_grpc (alias otlp), debug,
// nop and contrib load_balancing (alias loadbalancing) exporters; and the
// contrib span_metrics (alias spanmetrics) connector. Every collector core
// module is at the release that goes with contrib v0.161.0 (v0.161.0 and
// v1.67.0).
//
// Run it as any collector: otelcol --config=FILE.yaml.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/loadbalancingexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/nopexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// version returns the version of a dependency as go.mod pinned it.
func version(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "(unknown)"
}

// module returns "path version" of a dependency, for `otelcol components`.
func module(path string) string { return path + " " + version(path) }

func components() (otelcol.Factories, error) {
	var (
		f   otelcol.Factories
		err error
	)
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](
		otlpreceiver.NewFactory(),
	); err != nil {
		return f, fmt.Errorf("otelcol: receivers: %w", err)
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](
		otlpexporter.NewFactory(),
		debugexporter.NewFactory(),
		nopexporter.NewFactory(),
		loadbalancingexporter.NewFactory(),
	); err != nil {
		return f, fmt.Errorf("otelcol: exporters: %w", err)
	}
	if f.Connectors, err = otelcol.MakeFactoryMap[connector.Factory](
		spanmetricsconnector.NewFactory(),
	); err != nil {
		return f, fmt.Errorf("otelcol: connectors: %w", err)
	}
	f.Telemetry = otelconftelemetry.NewFactory()
	// Shown by `otelcol components`.
	f.ReceiverModules = map[component.Type]string{
		otlpreceiver.NewFactory().Type(): module("go.opentelemetry.io/collector/receiver/otlpreceiver"),
	}
	f.ExporterModules = map[component.Type]string{
		otlpexporter.NewFactory().Type():          module("go.opentelemetry.io/collector/exporter/otlpexporter"),
		debugexporter.NewFactory().Type():         module("go.opentelemetry.io/collector/exporter/debugexporter"),
		nopexporter.NewFactory().Type():           module("go.opentelemetry.io/collector/exporter/nopexporter"),
		loadbalancingexporter.NewFactory().Type(): module("github.com/open-telemetry/opentelemetry-collector-contrib/exporter/loadbalancingexporter"),
	}
	f.ConnectorModules = map[component.Type]string{
		spanmetricsconnector.NewFactory().Type(): module("github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"),
	}
	return f, nil
}

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol",
			Description: "meshobs test collector (otlp, otlp_grpc, debug, nop, load_balancing, span_metrics)",
			Version:     version("go.opentelemetry.io/collector/otelcol"),
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(),
					envprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "otelcol: %v\n", err)
		os.Exit(1)
	}
}
