package accesslog

import (
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"github.com/meshobs/meshobs/semconv"
)

// Attribute keys of the access-log table (docs/protocol.md, "Receiving OTLP").
// They are constants so that slotOf compiles to one string switch.
const (
	keyStatusCode     = string(otelsemconv.HTTPResponseStatusCodeKey) // http.response.status_code
	keyResponseCode   = "response_code"                               // Envoy %RESPONSE_CODE%
	keySource         = string(semconv.Source)                        // meshobs.source
	keySourceWorkload = "source_workload"                             // Istio label
	keyTarget         = string(semconv.Target)                        // meshobs.target
	keyDestWorkload   = "destination_workload"                        // Istio label
	keyUpstream       = "upstream_cluster"                            // Envoy %UPSTREAM_CLUSTER(_RAW)%
	keyPeerService    = string(otelsemconv.PeerServiceKey)            // peer.service
	keyServerAddress  = string(otelsemconv.ServerAddressKey)          // server.address
	keyDurationMs     = string(semconv.DurationMs)                    // meshobs.duration_ms
	keyDuration       = "duration"                                    // Envoy %DURATION%, ms
	// The HTTP duration metric names of the semantic conventions, in seconds, used
	// as attribute keys; TestKeysMatchSemconv checks them against httpconv.
	keyServerDuration = "http.server.request.duration"
	keyClientDuration = "http.client.request.duration"
	keyMethod         = string(otelsemconv.HTTPRequestMethodKey)   // http.request.method
	keyMethodEnvoy    = "method"                                   // Envoy %REQ(:METHOD)%
	keyPath           = string(otelsemconv.URLPathKey)             // url.path
	keyPathEnvoy      = "path"                                     // Envoy %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%
	keyProtocol       = string(otelsemconv.NetworkProtocolNameKey) // network.protocol.name
	keyProtocolEnvoy  = "protocol"                                 // Envoy %PROTOCOL%
	keyServiceName    = string(otelsemconv.ServiceNameKey)         // service.name (resource only)
)

// slot indexes the keys a record is searched for. A record's attributes are
// read once into one value per slot; fields then pick slots in table order.
type slot uint8

const (
	slotStatusCode slot = iota
	slotResponseCode
	slotSource
	slotSourceWorkload
	slotTarget
	slotDestWorkload
	slotUpstream
	slotPeerService
	slotServerAddress
	slotDurationMs
	slotDuration
	slotServerDuration
	slotClientDuration
	slotMethod
	slotMethodEnvoy
	slotPath
	slotPathEnvoy
	slotProtocol
	slotProtocolEnvoy
	numSlots
)

// Each field's keys, first present wins.
var (
	statusSlots   = [...]slot{slotStatusCode, slotResponseCode}
	sourceSlots   = [...]slot{slotSource, slotSourceWorkload}
	targetSlots   = [...]slot{slotTarget, slotDestWorkload, slotUpstream, slotPeerService, slotServerAddress}
	durationSlots = [...]slot{slotDurationMs, slotDuration, slotServerDuration, slotClientDuration}
	methodSlots   = [...]slot{slotMethod, slotMethodEnvoy}
	pathSlots     = [...]slot{slotPath, slotPathEnvoy}
	protocolSlots = [...]slot{slotProtocol, slotProtocolEnvoy}
)

// slotOf returns the slot of an attribute key, or false for any other key.
func slotOf(key string) (slot, bool) {
	switch key {
	case keyStatusCode:
		return slotStatusCode, true
	case keyResponseCode:
		return slotResponseCode, true
	case keySource:
		return slotSource, true
	case keySourceWorkload:
		return slotSourceWorkload, true
	case keyTarget:
		return slotTarget, true
	case keyDestWorkload:
		return slotDestWorkload, true
	case keyUpstream:
		return slotUpstream, true
	case keyPeerService:
		return slotPeerService, true
	case keyServerAddress:
		return slotServerAddress, true
	case keyDurationMs:
		return slotDurationMs, true
	case keyDuration:
		return slotDuration, true
	case keyServerDuration:
		return slotServerDuration, true
	case keyClientDuration:
		return slotClientDuration, true
	case keyMethod:
		return slotMethod, true
	case keyMethodEnvoy:
		return slotMethodEnvoy, true
	case keyPath:
		return slotPath, true
	case keyPathEnvoy:
		return slotPathEnvoy, true
	case keyProtocol:
		return slotProtocol, true
	case keyProtocolEnvoy:
		return slotProtocolEnvoy, true
	}
	return 0, false
}
