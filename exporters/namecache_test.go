package exporters

import (
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestNameCacheSharesRecurringNames: a name comes back equal to its bytes,
// one that recurs as the same string (no allocation), whatever other
// names took slots in between, and long names are not kept.
func TestNameCacheSharesRecurringNames(t *testing.T) {
	c := newNameCache()
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	for i := range 10 * nameSlots {
		name := "op-" + strconv.Itoa(i)
		if got := c.get([]byte(name)); got != name {
			t.Fatalf("got %q, want %q", got, name)
		}
		if got := c.get([]byte("GET /api/cart")); got != "GET /api/cart" {
			t.Fatalf("got %q", got)
		}
	}
	again := c.get([]byte("GET /api/cart"))
	if n := testing.AllocsPerRun(100, func() { again = c.get([]byte("GET /api/cart")) }); n != 0 || !same(again, c.get([]byte("GET /api/cart"))) {
		t.Errorf("a recurring name allocates %v times", n)
	}
	long := strings.Repeat("x", maxNameLen+1)
	if got := c.get([]byte(long)); got != long {
		t.Fatal("long name changed")
	}
	for _, s := range c.slots {
		if len(s) > maxNameLen {
			t.Fatalf("a name of %d bytes kept", len(s))
		}
	}
	if got := c.get(nil); got != "" {
		t.Fatalf("empty name: %q", got)
	}
}
