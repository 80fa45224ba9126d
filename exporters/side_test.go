package exporters_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/semconv"
)

func TestAccessLogSide(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		service, source, target string
		side                    string // the meshobs.side attribute, "" for none
		want                    exporters.Side
	}{
		{"caller says so", "api", "api", "api", "client", exporters.SideClient},
		{"callee says so", "api", "api", "api", "server", exporters.SideServer},
		{"caller by its ends", "web", "web", "api", "", exporters.SideClient},
		{"callee by its ends", "api", "web", "api", "", exporters.SideServer},
		{"self-call by its ends", "api", "api", "api", "", exporters.SideClient},
		{"a third service", "mesh", "web", "api", "", exporters.SideUnknown},
		{"an unknown value", "mesh", "web", "api", "both", exporters.SideUnknown},
		{"no edge", "api", "", "", "client", exporters.SideUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := exporters.NewLogStore()
			lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(store),
				sdklog.WithResource(resource.NewSchemaless(otelsemconv.ServiceNameKey.String(tc.service))))
			var r otellog.Record
			r.SetEventName(semconv.AccessLogEventName)
			attrs := []attribute.KeyValue{otelsemconv.HTTPResponseStatusCodeKey.Int(200)}
			if tc.source != "" {
				attrs = append(attrs, semconv.Source.String(tc.source), semconv.Target.String(tc.target))
			}
			if tc.side != "" {
				attrs = append(attrs, semconv.Side.String(tc.side))
			}
			r.AddAttributes(attrs...)
			lp.Logger("test").Emit(context.Background(), r)
			got := store.Recent(exporters.LogFilter{}, 1)
			if len(got) != 1 || got[0].Side != tc.want {
				t.Fatalf("entries %+v, want side %v", got, tc.want)
			}
		})
	}
	if exporters.SideClient.String() != "client" || exporters.SideServer.String() != "server" || exporters.SideUnknown.String() != "" {
		t.Fatal("Side.String")
	}
}
