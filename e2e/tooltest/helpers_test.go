package tooltest_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/meshobs/meshobs/e2e/tooltest"
)

// checkListeners asserts that the process listens on exactly the given URLs
// or host:port addresses, all on loopback (so on none of its defaults).
func checkListeners(t *testing.T, p *tooltest.Process, addrs ...string) {
	t.Helper()
	var want []netip.AddrPort
	for _, a := range addrs {
		a = strings.TrimPrefix(a, "http://")
		a, _, _ = strings.Cut(a, "/")
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			t.Fatalf("bad address %q: %v", a, err)
		}
		want = append(want, ap)
	}
	slices.SortFunc(want, func(a, b netip.AddrPort) int { return a.Compare(b) })
	got, err := tooltest.Listeners(p.PID)
	if err != nil {
		t.Logf("cannot list listeners: %v", err)
		return
	}
	if !slices.Equal(got, slices.Compact(want)) {
		t.Errorf("%s listens on %v, want exactly %v", p.Name, got, want)
	}
	for _, ap := range got {
		if !ap.Addr().IsLoopback() {
			t.Errorf("%s listens on %v, not on loopback", p.Name, ap)
		}
	}
}
