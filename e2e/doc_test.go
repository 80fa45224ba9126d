// Package e2e_test runs meshobs against real backends: the meshobs binary,
// built from this module, exporting to a Jaeger v1.75.0 started by
// e2e/jaegertest, checked through Jaeger's own HTTP API.
package e2e_test
