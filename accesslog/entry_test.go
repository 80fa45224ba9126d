package accesslog

import (
	"github.com/meshobs/meshobs/exporters"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// record builds a resource and a log record; attribute values of type
// string, int, float64 and bool become the matching pdata types.
func record(t testing.TB, res, attrs map[string]any, body string) (pcommon.Resource, plog.LogRecord) {
	t.Helper()
	r := pcommon.NewResource()
	if err := r.Attributes().FromRaw(res); err != nil {
		t.Fatal(err)
	}
	rec := plog.NewLogRecord()
	if err := rec.Attributes().FromRaw(attrs); err != nil {
		t.Fatal(err)
	}
	if body != "" {
		rec.Body().SetStr(body)
	}
	return r, rec
}

func TestFromRecordValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attrs  map[string]any
		ok     bool
		status int
		ms     float64
	}{
		{"int status", map[string]any{"http.response.status_code": 200}, true, 200, 0},
		{"string status", map[string]any{"response_code": "404"}, true, 404, 0},
		{"integral double status", map[string]any{"http.response.status_code": 503.0}, true, 503, 0},
		{"fractional double status", map[string]any{"http.response.status_code": 200.5}, false, 0, 0},
		{"status with space", map[string]any{"response_code": " 200"}, false, 0, 0},
		{"signed status", map[string]any{"response_code": "+200"}, false, 0, 0},
		{"bool status", map[string]any{"http.response.status_code": true}, false, 0, 0},
		{"status 0", map[string]any{"response_code": "0"}, false, 0, 0},
		{"status 600", map[string]any{"http.response.status_code": 600}, false, 0, 0},
		{"huge status", map[string]any{"response_code": "99999999999999999999"}, false, 0, 0},
		{"dash status falls through", map[string]any{"http.response.status_code": "-", "response_code": "201"}, true, 201, 0},
		{"empty status falls through", map[string]any{"http.response.status_code": "", "response_code": "201"}, true, 201, 0},
		{"first status key wins", map[string]any{"http.response.status_code": 500, "response_code": "200"}, true, 500, 0},
		{"string duration", map[string]any{"response_code": "200", "duration": "12"}, true, 200, 12},
		{"int duration", map[string]any{"response_code": "200", "meshobs.duration_ms": 7}, true, 200, 7},
		{"double duration", map[string]any{"response_code": "200", "meshobs.duration_ms": 0.5}, true, 200, 0.5},
		{"seconds, server", map[string]any{"response_code": "200", "http.server.request.duration": 0.25}, true, 200, 250},
		{"seconds, client", map[string]any{"response_code": "200", "http.client.request.duration": "1.5"}, true, 200, 1500},
		{"first duration key wins", map[string]any{"response_code": "200", "duration": "3", "meshobs.duration_ms": 4.0}, true, 200, 4},
		{"dash duration falls through", map[string]any{"response_code": "200", "meshobs.duration_ms": "-", "duration": "9"}, true, 200, 9},
		{"negative duration", map[string]any{"response_code": "200", "duration": -1}, false, 0, 0},
		{"NaN duration", map[string]any{"response_code": "200", "meshobs.duration_ms": math.NaN()}, false, 0, 0},
		{"infinite duration", map[string]any{"response_code": "200", "duration": "Inf"}, false, 0, 0},
		{"text duration", map[string]any{"response_code": "200", "duration": "fast"}, false, 0, 0},
		{"map duration", map[string]any{"response_code": "200", "duration": map[string]any{"ms": 1}}, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, rec := record(t, nil, tc.attrs, "")
			e, ok := FromRecord(res, rec)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tc.ok, e)
			}
			if e.Status != tc.status || e.DurationMs != tc.ms {
				t.Errorf("status %d duration %v, want %d %v", e.Status, e.DurationMs, tc.status, tc.ms)
			}
		})
	}
}

func TestFromRecordEdge(t *testing.T) {
	type want struct{ service, source, target string }
	for _, tc := range []struct {
		name       string
		res, attrs map[string]any
		want       want
	}{
		{"meshobs edge", map[string]any{"service.name": "api"},
			map[string]any{"meshobs.source": "web", "meshobs.target": "db"}, want{"api", "web", "db"}},
		{"meshobs target only: outbound", map[string]any{"service.name": "api"},
			map[string]any{"meshobs.target": "db"}, want{"api", "api", "db"}},
		{"peer.service: outbound", map[string]any{"service.name": "checkout"},
			map[string]any{"peer.service": "payment", "server.address": "10.0.0.9"}, want{"checkout", "checkout", "payment"}},
		{"destination_workload only, unknown direction: no edge", map[string]any{"service.name": "api"},
			map[string]any{"destination_workload": "db-v1"}, want{"api", "", ""}},
		{"source_workload only, unknown direction: no edge", map[string]any{"service.name": "api"},
			map[string]any{"source_workload": "web-v1"}, want{"api", "", ""}},
		{"server.address of a server record: no edge", map[string]any{"service.name": "shop"},
			map[string]any{"server.address": "shop.example.com", "http.server.request.duration": 0.1}, want{"shop", "", ""}},
		{"server record with a source", map[string]any{"service.name": "shop"},
			map[string]any{"source_workload": "lb", "http.server.request.duration": 0.1}, want{"shop", "lb", "shop"}},
		{"inbound cluster with a source", map[string]any{"service.name": "reviews"},
			map[string]any{"source_workload": "productpage", "upstream_cluster": "inbound|9080||"}, want{"reviews", "productpage", "reviews"}},
		{"inbound cluster without a source", map[string]any{"service.name": "reviews"},
			map[string]any{"upstream_cluster": "inbound|9080||"}, want{"reviews", "", ""}},
		{"inbound cluster, no service.name: service unknown", nil,
			map[string]any{"source_workload": "productpage", "upstream_cluster": "inbound|9080||"}, want{"", "", ""}},
		{"inbound, no service.name, destination_workload names it", nil,
			map[string]any{"source_workload": "productpage", "destination_workload": "reviews-v1", "upstream_cluster": "inbound|9080||"},
			want{"reviews-v1", "productpage", "reviews-v1"}},
		{"outbound cluster, no service.name: the source reports", nil,
			map[string]any{"source_workload": "productpage", "upstream_cluster": "outbound|9080||reviews.default.svc.cluster.local"},
			want{"productpage", "productpage", "reviews"}},
		{"outbound cluster, nothing else: no edge", nil,
			map[string]any{"upstream_cluster": "outbound|9080||reviews.default.svc.cluster.local"}, want{"", "", ""}},
		{"outbound cluster with an empty host: no target", map[string]any{"service.name": "api"},
			map[string]any{"upstream_cluster": "outbound|9080||", "peer.service": "db"}, want{"api", "", ""}},
		{"BlackHoleCluster is a node", map[string]any{"service.name": "api"},
			map[string]any{"upstream_cluster": "BlackHoleCluster"}, want{"api", "api", "BlackHoleCluster"}},
		{"dash target falls through", map[string]any{"service.name": "api"},
			map[string]any{"destination_workload": "-", "upstream_cluster": "outbound|80||db.prod.svc.cluster.local"}, want{"api", "api", "db"}},
		{"record attribute before resource attribute", map[string]any{"service.name": "api", "meshobs.target": "res-db"},
			map[string]any{"meshobs.target": "rec-db"}, want{"api", "api", "rec-db"}},
		{"key order before record/resource order", map[string]any{"service.name": "api", "meshobs.target": "res-db"},
			map[string]any{"destination_workload": "rec-db"}, want{"api", "api", "res-db"}},
		{"source_workload on the resource", map[string]any{"service.name": "api", "source_workload": "api-v1"},
			map[string]any{"upstream_cluster": "outbound|80||db.prod.svc.cluster.local"}, want{"api", "api-v1", "db"}},
		{"service.name on the record is not the reporting service", nil,
			map[string]any{"service.name": "api", "meshobs.target": "db"}, want{"", "", ""}},
		{"self call", map[string]any{"service.name": "api"},
			map[string]any{"meshobs.source": "api", "meshobs.target": "api"}, want{"api", "api", "api"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.attrs["response_code"] = "200"
			res, rec := record(t, tc.res, tc.attrs, "")
			e, ok := FromRecord(res, rec)
			if !ok {
				t.Fatal("not recognised")
			}
			if got := (want{e.Service, e.Source, e.Target}); got != tc.want {
				t.Errorf("service, source, target = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestFromRecordBodyAndAttributes(t *testing.T) {
	const line = `[2025-06-20T12:00:02.000Z] "GET /reviews/0?x=1 HTTP/1.1" 503 UF upstream_reset - "-" 0 91 24 - "-" "curl" "r" "reviews:9080" "-" outbound|9080||reviews.default.svc.cluster.local - 10.96.12.34:9080 10.244.0.15:43880 - default` + "\n"
	start := time.Date(2025, 6, 20, 12, 0, 2, 0, time.UTC)

	t.Run("attributes win over the body", func(t *testing.T) {
		res, rec := record(t, map[string]any{"service.name": "productpage"},
			map[string]any{"url.path": "/reviews/0", "destination_workload": "reviews-v2", "protocol": "-"}, line)
		e, ok := FromRecord(res, rec)
		if !ok {
			t.Fatal("not recognised")
		}
		want := Entry{Service: "productpage", Source: "productpage", Target: "reviews-v2", Status: 503, DurationMs: 24,
			Method: "GET", Path: "/reviews/0", Protocol: "HTTP/1.1", Timestamp: start, Side: exporters.SideClient}
		if e != want {
			t.Errorf("got %+v\nwant %+v", e, want)
		}
	})
	t.Run("a status attribute skips the body", func(t *testing.T) {
		res, rec := record(t, nil, map[string]any{"response_code": "200"}, line)
		e, ok := FromRecord(res, rec)
		if !ok {
			t.Fatal("not recognised")
		}
		if e.Status != 200 || e.Method != "" || e.DurationMs != 0 || e.Target != "" || !e.Timestamp.IsZero() {
			t.Errorf("body was read: %+v", e)
		}
	})
	t.Run("a status attribute on the resource skips the body", func(t *testing.T) {
		res, rec := record(t, map[string]any{"response_code": "204"}, nil, line)
		if e, ok := FromRecord(res, rec); !ok || e.Status != 204 {
			t.Errorf("got %+v, %v", e, ok)
		}
	})
	t.Run("timestamps", func(t *testing.T) {
		res, rec := record(t, nil, nil, line)
		observed := time.Date(2025, 6, 20, 12, 0, 5, 0, time.UTC)
		rec.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
		if e, _ := FromRecord(res, rec); !e.Timestamp.Equal(start) {
			t.Errorf("without a record timestamp: %v, want START_TIME %v", e.Timestamp, start)
		}
		ts := time.Date(2025, 6, 20, 12, 0, 1, 999, time.UTC)
		rec.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		if e, _ := FromRecord(res, rec); !e.Timestamp.Equal(ts) {
			t.Errorf("with a record timestamp: %v, want %v", e.Timestamp, ts)
		}
		_, rec = record(t, nil, map[string]any{"response_code": "200"}, "")
		if e, _ := FromRecord(res, rec); !e.Timestamp.IsZero() {
			t.Errorf("no timestamp at all: %v, want zero", e.Timestamp)
		}
		rec.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
		if e, _ := FromRecord(res, rec); !e.Timestamp.Equal(observed) {
			t.Errorf("observed only: %v, want %v", e.Timestamp, observed)
		}
	})
}

// TestFromRecordDoesNotModify checks that FromRecord only reads its arguments.
func TestFromRecordDoesNotModify(t *testing.T) {
	res, rec := record(t, map[string]any{"service.name": "api"},
		map[string]any{"response_code": "200", "upstream_cluster": "outbound|80||db.x.svc", "duration": "3"}, "body")
	before := plog.NewLogRecord()
	rec.CopyTo(before)
	beforeRes := pcommon.NewResource()
	res.CopyTo(beforeRes)
	if _, ok := FromRecord(res, rec); !ok {
		t.Fatal("not recognised")
	}
	if !rec.Attributes().Equal(before.Attributes()) || rec.Body().AsString() != before.Body().AsString() ||
		!res.Attributes().Equal(beforeRes.Attributes()) {
		t.Error("FromRecord changed its arguments")
	}
}

// TestSide: which end reported a record, for the client- and server-side
// latency histograms: meshobs.side when given, else the end the reporting
// service is, else the record's direction.
func TestSide(t *testing.T) {
	tests := []struct {
		name  string
		res   map[string]any
		attrs map[string]any
		want  exporters.Side
	}{
		{"Envoy outbound, no service.name", nil, map[string]any{"response_code": "200",
			"source_workload": "productpage-v1", "upstream_cluster": "outbound|9080||reviews.default.svc.cluster.local"}, exporters.SideClient},
		{"Envoy inbound", map[string]any{"service.name": "reviews"}, map[string]any{"response_code": "200",
			"source_workload": "productpage", "upstream_cluster": "inbound|9080||"}, exporters.SideServer},
		{"the caller reports", map[string]any{"service.name": "web"}, map[string]any{"http.response.status_code": 200,
			"meshobs.source": "web", "meshobs.target": "api"}, exporters.SideClient},
		{"the callee reports", map[string]any{"service.name": "api"}, map[string]any{"http.response.status_code": 200,
			"meshobs.source": "web", "meshobs.target": "api"}, exporters.SideServer},
		{"a self-call says which", map[string]any{"service.name": "api"}, map[string]any{"http.response.status_code": 200,
			"meshobs.source": "api", "meshobs.target": "api", "meshobs.side": "server"}, exporters.SideServer},
		{"no edge", map[string]any{"service.name": "cron"}, map[string]any{"http.response.status_code": 204}, exporters.SideUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pcommon.NewResource()
			_ = res.Attributes().FromRaw(tt.res)
			rec := plog.NewLogRecord()
			_ = rec.Attributes().FromRaw(tt.attrs)
			e, ok := FromRecord(res, rec)
			if !ok || e.Side != tt.want {
				t.Fatalf("recognised %v, side %v (%+v); want %v", ok, e.Side, e, tt.want)
			}
		})
	}
}
