// Package tooltest runs the external programs of meshobs's end-to-end tests:
// HotROD, telemetrygen, the tools/otelcol collector and Prometheus (Jaeger
// itself is started by package jaegertest, on top of this one).
//
// # Binaries
//
// tools/build.sh (run by test.sh, once per run) builds the Go tools from the
// modules under tools/ into the user cache directory, keyed by tool and
// version, and installs the Debian packages prometheus and chromium. Binary
// finds a tool through its environment variable (Tool.EnvVar, e.g.
// MESHOBS_OTELCOL_BIN), else in the cache (CachePath) or on PATH. A missing
// tool fails the test under CI (env CI set) and skips it elsewhere, with the
// command that installs it. No test ever builds a tool.
//
// # Processes
//
// Every Start* function picks free 127.0.0.1 ports, starts the program with
// its output in a log file, and polls a readiness condition with a deadline
// (no fixed sleeps); a port taken between the pick and the bind makes it
// retry with new ports. t.Cleanup stops the process by pid (SIGTERM, then
// SIGKILL after StopTimeout), waits for it, and prints the tail of its log
// if the test failed.
//
// # Example
//
// HotROD and telemetrygen sending to a collector, its own metrics counting
// what arrived, and Prometheus scraping a target:
//
//	func TestPipeline(t *testing.T) {
//		grpc := tooltest.Loopback(tooltest.FreePorts(t, 1)[0])
//		c := tooltest.StartOtelcol(t, tooltest.OtelcolOptions{Config: fmt.Sprintf(`
//	receivers:
//	  otlp: {protocols: {grpc: {endpoint: %s}}}
//	exporters:
//	  nop:
//	service:
//	  pipelines:
//	    traces: {receivers: [otlp], exporters: [nop]}
//	`, grpc)})
//		opts := tooltest.TelemetrygenOptions{Endpoint: grpc, Traces: 10, ChildSpans: 1}
//		tooltest.RunTelemetrygen(t, opts)
//		c.WaitForAcceptedSpans(t, 30*time.Second, float64(opts.Spans())) // 20
//
//		j := jaegertest.Start(t, jaegertest.Options{})
//		h := tooltest.StartHotROD(t, tooltest.HotRODOptions{OTLPEndpoint: j.OTLPHTTPURL()})
//		if _, err := h.Dispatch(t.Context(), 123); err != nil {
//			t.Fatal(err)
//		}
//		j.WaitForServices(t, tooltest.HotRODServices...)
//
//		p := tooltest.StartPrometheus(t, tooltest.PrometheusOptions{Targets: []string{"127.0.0.1:9464"}})
//		v := p.WaitForQuery(t, 30*time.Second, `up`, nil) // []PromSample
//		_ = v
//	}
//
// Chromium has no starter here: chromedp tests take Binary(t, Chromium) as
// their ExecPath.
package tooltest
