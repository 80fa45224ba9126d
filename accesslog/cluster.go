package accesslog

import "strings"

// Istio's cluster names (istio/istio pilot/pkg/model/service.go BuildSubsetKey,
// BuildDNSSrvSubsetKey, TrafficDirectionInboundVIP; pilot/pkg/networking/util/util.go).
const (
	outboundPrefix    = "outbound|"    // outbound|PORT|SUBSET|HOST
	inboundPrefix     = "inbound|"     // inbound|PORT|| (older: inbound|PORT|NAME|HOST)
	inboundVIPPrefix  = "inbound-vip|" // waypoint: inbound-vip|PORT|PROTOCOL|HOST
	outboundSRVPrefix = "outbound_."   // outbound_.PORT_.SUBSET_.HOST (SNI form)
	// inboundPassthrough is the cluster of inbound traffic to undeclared
	// ports; older Istio suffixes it with Ipv4 or Ipv6.
	inboundPassthrough = "InboundPassthroughCluster"
)

// clusterTarget reads an Envoy upstream cluster name.
//
//   - inbound|...: the call ends at the reporting service: inbound is true and
//     target is empty (the caller substitutes the reporting service). So do
//     InboundPassthroughCluster, InboundPassthroughClusterIpv4 and ...Ipv6.
//   - outbound|PORT|SUBSET|HOST (exactly three '|'), its SNI form
//     outbound_.PORT_.SUBSET_.HOST, and a waypoint's inbound-vip|PORT|PROTO|HOST:
//     the first DNS label of HOST ("reviews" for reviews.default.svc.cluster.local).
//     A HOST that is an IP address, or whose first label is the wildcard "*",
//     is kept whole; an empty HOST, or a malformed key, gives no target.
//   - any other name is the target as it stands: Envoy's own static clusters
//     are usually named after the service they reach, and Istio's
//     BlackHoleCluster and PassthroughCluster stay named nodes, as Istio's
//     metrics (destination_service) and Kiali show them.
func clusterTarget(name string) (target string, inbound bool) {
	switch {
	case strings.HasPrefix(name, inboundPrefix):
		return "", true
	case strings.HasPrefix(name, inboundPassthrough):
		switch name[len(inboundPassthrough):] {
		case "", "Ipv4", "Ipv6":
			return "", true
		}
		return name, false
	case strings.HasPrefix(name, outboundPrefix), strings.HasPrefix(name, inboundVIPPrefix):
		if strings.Count(name, "|") != 3 {
			return "", false
		}
		return hostLabel(name[strings.LastIndexByte(name, '|')+1:]), false
	case strings.HasPrefix(name, outboundSRVPrefix):
		// The host may itself contain "_." (Istio parses it the same way):
		// skip exactly three separators.
		rest := name
		for range 3 {
			i := strings.Index(rest, "_.")
			if i < 0 {
				return "", false
			}
			rest = rest[i+2:]
		}
		return hostLabel(rest), false
	}
	return name, false
}

// hostLabel returns a host's first DNS label; IP addresses and wildcard
// hosts are returned whole.
func hostLabel(host string) string {
	if host == "" || strings.IndexByte(host, ':') >= 0 || isIPv4(host) {
		return host
	}
	i := strings.IndexByte(host, '.')
	if i < 0 {
		return host
	}
	if host[:i] == "*" || i == 0 {
		return host
	}
	return host[:i]
}

// isIPv4 reports whether s consists of digits and dots only, as a dotted
// IPv4 address does and no DNS name does (a top-level label is never all-numeric).
func isIPv4(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}
