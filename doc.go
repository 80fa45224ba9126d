// Package meshobs is an OpenTelemetry-native observability node for service
// meshes. This package holds the node's configuration (config.yaml); the
// protocol lives in package node, the SDK pipeline in package telemetry, the
// in-memory exporters in package exporters and the service graph in package graph.
package meshobs
