// Package telemetry is meshobs's OpenTelemetry SDK pipeline: it owns the
// providers (one resource per service), the instruments, and the translation
// of a validated request into SDK calls. What the SDK emits is captured by the
// in-memory stores of package exporters, and by any outbound exporters the
// caller adds.
package telemetry
