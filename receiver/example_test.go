package receiver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/meshobs/meshobs/receiver"
)

// printer is a Consumer that prints each span it is given.
type printer struct{}

func (printer) ConsumeTraces(_ context.Context, td ptrace.Traces) (receiver.Outcome, error) {
	for i := range td.ResourceSpans().Len() {
		rs := td.ResourceSpans().At(i)
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for j := range rs.ScopeSpans().Len() {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				fmt.Printf("span %q of %s, trace %s, kind %s\n", sp.Name(), svc.Str(), sp.TraceID(), sp.Kind())
			}
		}
	}
	return receiver.Outcome{}, nil
}

func (printer) ConsumeLogs(context.Context, plog.Logs) (receiver.Outcome, error) {
	return receiver.Outcome{}, nil
}

func (printer) ConsumeMetrics(context.Context, pmetric.Metrics) (receiver.Outcome, error) {
	return receiver.Outcome{}, nil
}

// An OTLP/HTTP receiver on a free loopback port takes one OTLP/JSON span.
func Example() {
	cfg := receiver.Config{OTLP: receiver.OTLPConfig{Protocols: receiver.Protocols{
		HTTP: &receiver.HTTPConfig{Endpoint: "127.0.0.1:0"},
	}}}
	rcv, err := receiver.New(cfg, printer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := rcv.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer rcv.Shutdown(context.Background())

	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
	  "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /cart","kind":2}]}]}]}`
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post("http://"+rcv.Addrs().HTTP+"/v1/traces", "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	for _, s := range rcv.Stats() {
		fmt.Printf("%s/%s %s: received %d, accepted %d, refused %d\n", s.Receiver, s.Transport, s.Signal, s.Received, s.Accepted, s.Refused)
	}
	// Output:
	// span "GET /cart" of checkout, trace 5b8efff798038103d269b633813fc60c, kind Server
	// 200 OK
	// otlp/http traces: received 1, accepted 1, refused 0
	// otlp/http logs: received 0, accepted 0, refused 0
	// otlp/http metrics: received 0, accepted 0, refused 0
}
