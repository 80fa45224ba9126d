// Package workload generates the deterministic stdio benchmark input: a seeded
// stream of Maelstrom-framed meshobs requests with a fixed message mix.
package workload
