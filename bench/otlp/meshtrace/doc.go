// Package meshtrace generates the OTLP traces of a small service mesh, as
// the OTel SDKs of its services (otelhttp, otelsql, redisotel) would report
// them: a shop of seven services behind a frontend, each request a trace of
// HTTP client/server pairs and database calls, with the HTTP, database,
// Kubernetes and SDK attributes of the OTel semantic conventions. The OTLP
// ingest benchmark (bench/otlp) sends it; the receiver-path benchmarks
// (telemetry) consume it.
package meshtrace
