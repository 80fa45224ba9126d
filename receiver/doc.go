// Package receiver is meshobs's OTLP receivers: OTLP/gRPC and OTLP/HTTP
// servers, configured as an OTel Collector user configures the collector's
// otlp receiver, that decode what they receive with the collector's pdata and
// hand it to a Consumer. They do no domain work.
//
// OTLP/HTTP serves POST /v1/traces, /v1/logs and /v1/metrics, takes
// application/x-protobuf and application/json (OTLP/JSON: hex ids, integer
// enums), optionally gzip-compressed, and answers in the request's encoding.
// Status codes: 200 (with partial success when the consumer rejected items),
// 400 malformed body, 401 missing or wrong bearer token, 404 unknown path,
// 405 wrong method, 413 body over max_request_body_size (as sent or
// decompressed), 415 unsupported content type or encoding, 503 with
// Retry-After when the consumer is unavailable, the concurrency bound is
// reached or the receiver is stopping. Error bodies are a google.rpc.Status
// naming what was wrong. OTLP/gRPC answers the same conditions with
// INVALID_ARGUMENT, UNAUTHENTICATED, RESOURCE_EXHAUSTED and UNAVAILABLE (with
// a RetryInfo detail). A refused request changes nothing in the consumer.
//
// Memory is bounded per transport: at most max_concurrent_requests requests
// are read and handled at once (default 32; one more is refused as retryable
// before its body is read, never queued), each at most max_request_body_size
// (HTTP, default 20 MiB, as sent and after decompression) or
// max_recv_msg_size_mib (gRPC, default 4 MiB). Stats counts items (spans, log
// records, metric data points) received, accepted and refused per transport
// and signal; received = accepted + refused always holds.
//
// Use:
//
//	cfg := receiver.ServeDefaults() // or the `receivers:` section of a config file
//	rcv, err := receiver.New(cfg, consumer, receiver.WithLogger(logger))
//	if err != nil {
//		return err // names the key, e.g. receivers.otlp.protocols.http.endpoint
//	}
//	if err := rcv.Start(ctx); err != nil {
//		return err // a file or an address that cannot be bound, named by its key
//	}
//	defer rcv.Shutdown(shutdownCtx) // finishes in-flight requests
//	fmt.Println(rcv.Addrs().GRPC, rcv.Addrs().HTTP)
//	// ... later: rcv.Stats() counts received, accepted and refused items.
package receiver
