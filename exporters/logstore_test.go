package exporters_test

import (
	"context"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/graph"
	"github.com/meshobs/meshobs/semconv"
)

// logEmitter emits access logs into a store whose observer is a graph,
// the aggregates meshobs keeps over every entry.
type logEmitter struct {
	loggers map[string]otellog.Logger
	store   *exporters.LogStore
	graph   *graph.Graph
}

func newLogEmitter(opts ...exporters.LogStoreOption) *logEmitter {
	g := graph.New()
	store := exporters.NewLogStore(append(opts, exporters.WithAccessLogObserver(g))...)
	return &logEmitter{loggers: map[string]otellog.Logger{}, store: store, graph: g}
}

func (e *logEmitter) emit(service, source, target string, status int, ms float64, observed time.Time) {
	l := e.loggers[service]
	if l == nil {
		lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(e.store),
			sdklog.WithResource(resource.NewSchemaless(otelsemconv.ServiceNameKey.String(service))))
		l = lp.Logger("test")
		e.loggers[service] = l
	}
	var r otellog.Record
	r.SetEventName(semconv.AccessLogEventName)
	r.SetObservedTimestamp(observed)
	r.SetTimestamp(observed)
	if source != "" {
		r.AddAttributes(semconv.Source.String(source), semconv.Target.String(target))
	}
	r.AddAttributes(otelsemconv.HTTPResponseStatusCodeKey.Int(status), semconv.DurationMs.Float64(ms))
	l.Emit(context.Background(), r)
}

func TestAccessLogAggregatesStayExactAfterEviction(t *testing.T) {
	e := newLogEmitter(exporters.WithLogCapacity(10))
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		status := 200
		if i%10 == 0 {
			status = 503
		}
		e.emit("api", "api", "db", status, 1, t0)
	}
	if got := e.store.Len(); got != 10 {
		t.Fatalf("Len %d, want 10", got)
	}
	if got := e.graph.Logged("api"); got != 1000 {
		t.Fatalf("Logged %d, want 1000", got)
	}
	pairs := e.graph.Pairs(exporters.LogFilter{})
	if len(pairs) != 1 || pairs[0].Count != 1000 || pairs[0].ErrorCount != 100 {
		t.Fatalf("Pairs %+v", pairs)
	}
}

func TestAccessLogPairsFilters(t *testing.T) {
	e := newLogEmitter()
	now := time.Unix(1_700_000_000, 0)
	e.emit("web", "web", "api", 200, 1, now)
	e.emit("api", "api", "db", 500, 1, now)
	e.emit("api", "api", "db", 404, 1, now)
	e.emit("web", "web", "api", 201, 1, now)
	e.emit("lonely", "", "", 200, 1, now) // no edge: never in pairs

	tests := []struct {
		name string
		f    exporters.LogFilter
		want []graph.Pair
	}{
		{"all", exporters.LogFilter{}, []graph.Pair{{Source: "web", Target: "api", Count: 2, ErrorCount: 0}, {Source: "api", Target: "db", Count: 2, ErrorCount: 1}}},
		{"source", exporters.LogFilter{Source: "api"}, []graph.Pair{{Source: "api", Target: "db", Count: 2, ErrorCount: 1}}},
		{"target", exporters.LogFilter{Target: "api"}, []graph.Pair{{Source: "web", Target: "api", Count: 2, ErrorCount: 0}}},
		{"both", exporters.LogFilter{Source: "web", Target: "db"}, []graph.Pair{}},
		{"status", exporters.LogFilter{Status: 404}, []graph.Pair{{Source: "api", Target: "db", Count: 1, ErrorCount: 0}}},
		{"class 2xx", exporters.LogFilter{StatusClass: 2}, []graph.Pair{{Source: "web", Target: "api", Count: 2, ErrorCount: 0}}},
		{"class 5xx", exporters.LogFilter{StatusClass: 5}, []graph.Pair{{Source: "api", Target: "db", Count: 1, ErrorCount: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.graph.Pairs(tt.f)
			if got == nil {
				t.Fatal("nil slice")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

func TestLogStoreRecentNewestOldestFirst(t *testing.T) {
	e := newLogEmitter(exporters.WithLogCapacity(5))
	now := time.Unix(1_700_000_000, 0)
	for i := range 8 {
		e.emit("api", "api", "db", 200, float64(i), now)
	}
	e.emit("api", "", "", 200, 99, now)
	got := e.store.Recent(exporters.LogFilter{Source: "api"}, 3)
	want := []float64{5, 6, 7}
	if len(got) != 3 {
		t.Fatalf("got %d entries", len(got))
	}
	for i, a := range got {
		if a.DurationMs != want[i] || a.Service != "api" || a.Target != "db" {
			t.Fatalf("entry %d: %+v", i, a)
		}
	}
	if all := e.store.Recent(exporters.LogFilter{}, 100); len(all) != 5 || all[4].DurationMs != 99 {
		t.Fatalf("unfiltered: %+v", all)
	}
	if none := e.store.Recent(exporters.LogFilter{}, 0); none == nil || len(none) != 0 {
		t.Fatalf("limit 0: %#v", none)
	}
}

func TestAccessLogRateWindow(t *testing.T) {
	e := newLogEmitter()
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 120 { // one request a second for two minutes
		e.emit("api", "", "", 200, 1, t0.Add(time.Duration(i)*time.Second))
	}
	now := t0.Add(119 * time.Second)
	got := e.graph.Tallies("api", now)
	if len(got) != 1 || got[0].RatePerSecond != 1 {
		t.Fatalf("rate %+v, want 1/s", got)
	}
	later := e.graph.Tallies("", now.Add(90*time.Second))
	if later[0].RatePerSecond != 0 {
		t.Fatalf("rate 90 s after the last request: %v", later[0].RatePerSecond)
	}
	if later[0].Requests != 120 || len(later[0].StatusCodes) != 1 || later[0].StatusCodes[0] != (graph.StatusCount{Code: 200, N: 120}) {
		t.Fatalf("totals %+v", later[0])
	}
}

func TestLogStoreIgnoresOtherEvents(t *testing.T) {
	store := exporters.NewLogStore()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(store))
	var r otellog.Record
	r.SetBody(attribute.StringValue("an application log, not an access log"))
	lp.Logger("app").Emit(context.Background(), r)
	if store.Len() != 0 {
		t.Fatal("stored a record that is not an access log")
	}
}
