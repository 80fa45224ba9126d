package accesslog

import (
	"testing"

	"go.opentelemetry.io/otel/semconv/v1.37.0/httpconv"
)

func TestClusterTarget(t *testing.T) {
	for _, tc := range []struct {
		name, cluster string
		target        string
		inbound       bool
	}{
		{"outbound", "outbound|9080||reviews.default.svc.cluster.local", "reviews", false},
		{"outbound subset", "outbound|9080|v1|reviews.default.svc.cluster.local", "reviews", false},
		{"external host", "outbound|443||api.example.com", "api", false},
		{"single-label host", "outbound|80||httpbin", "httpbin", false},
		{"IPv4 host kept whole", "outbound|80||10.0.0.1", "10.0.0.1", false},
		{"IPv6 host kept whole", "outbound|80||fd00::1", "fd00::1", false},
		{"wildcard host kept whole", "outbound|443||*.example.com", "*.example.com", false},
		{"empty host", "outbound|9080||", "", false},
		{"too few fields", "outbound|9080|reviews", "", false},
		{"too many fields", "outbound|9080|v1|reviews|x", "", false},
		{"SNI form", "outbound_.9080_._.reviews.default.svc.cluster.local", "reviews", false},
		{"SNI form subset", "outbound_.9080_.v1_.reviews.default.svc.cluster.local", "reviews", false},
		{"SNI form cut short", "outbound_.9080_.v1", "", false},
		{"waypoint VIP", "inbound-vip|80|http|reviews.default.svc.cluster.local", "reviews", false},
		{"inbound", "inbound|8080||", "", true},
		{"inbound, older form", "inbound|9080|http|reviews.default.svc.cluster.local", "", true},
		{"inbound passthrough", "InboundPassthroughCluster", "", true},
		{"inbound passthrough IPv4", "InboundPassthroughClusterIpv4", "", true},
		{"inbound passthrough IPv6", "InboundPassthroughClusterIpv6", "", true},
		{"not inbound passthrough", "InboundPassthroughClusterFoo", "InboundPassthroughClusterFoo", false},
		{"black hole", "BlackHoleCluster", "BlackHoleCluster", false},
		{"passthrough", "PassthroughCluster", "PassthroughCluster", false},
		{"plain Envoy cluster", "frontend", "frontend", false},
		{"empty", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, inbound := clusterTarget(tc.cluster)
			if target != tc.target || inbound != tc.inbound {
				t.Errorf("clusterTarget(%q) = %q, %v; want %q, %v", tc.cluster, target, inbound, tc.target, tc.inbound)
			}
		})
	}
}

// TestKeysMatchSemconv checks the duration keys, which are metric names in the
// semantic conventions, against the semconv package.
func TestKeysMatchSemconv(t *testing.T) {
	if got := (httpconv.ServerRequestDuration{}).Name(); got != keyServerDuration {
		t.Errorf("server duration key %q, semconv %q", keyServerDuration, got)
	}
	if got := (httpconv.ClientRequestDuration{}).Name(); got != keyClientDuration {
		t.Errorf("client duration key %q, semconv %q", keyClientDuration, got)
	}
	for s := range numSlots {
		found := false
		for _, k := range []string{keyStatusCode, keyResponseCode, keySource, keySourceWorkload, keyTarget,
			keyDestWorkload, keyUpstream, keyPeerService, keyServerAddress, keyDurationMs, keyDuration,
			keyServerDuration, keyClientDuration, keyMethod, keyMethodEnvoy, keyPath, keyPathEnvoy,
			keyProtocol, keyProtocolEnvoy} {
			if got, ok := slotOf(k); ok && got == s {
				found = true
			}
		}
		if !found {
			t.Errorf("slot %d has no key", s)
		}
	}
}
