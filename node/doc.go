// Package node is meshobs's stdio wire protocol (docs/protocol.md):
// newline-delimited JSON requests in, exactly one JSON reply line out per
// non-blank line, either as Maelstrom envelopes or bare bodies, in request
// order.
//
// The node decodes and validates each line, hands valid requests to a
// telemetry.Pipeline, and answers from the pipeline's in-memory exporters.
package node
