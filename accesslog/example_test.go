package accesslog_test

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/meshobs/meshobs/accesslog"
)

// An Envoy sidecar's record in Istio's default text format, with the
// resource naming the reporting service: the upstream cluster names the
// target, and the record is outbound, so the reporting service is the source.
func ExampleFromRecord() {
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "productpage")
	rec := plog.NewLogRecord()
	rec.Body().SetStr(`[2025-06-20T12:00:02.000Z] "GET /reviews/0 HTTP/1.1" 200 - via_upstream - "-" 0 358 24 23 ` +
		`"-" "python-requests/2.31.0" "a1b2c3d4" "reviews:9080" "10.244.0.21:9080" ` +
		`outbound|9080||reviews.default.svc.cluster.local 10.244.0.15:50112 10.96.12.34:9080 10.244.0.15:43880 - default` + "\n")

	e, ok := accesslog.FromRecord(res, rec)
	fmt.Println(ok, e.Service, e.Source, "->", e.Target, e.Status, e.DurationMs, e.Method, e.Path, e.Timestamp)

	// A plain application log line is not an access log.
	rec.Body().SetStr("INFO starting server on :8080")
	_, ok = accesslog.FromRecord(res, rec)
	fmt.Println(ok)
	// Output:
	// true productpage productpage -> reviews 200 24 GET /reviews/0 2025-06-20 12:00:02 +0000 UTC
	// false
}
