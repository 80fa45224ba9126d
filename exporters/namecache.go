package exporters

import "hash/maphash"

// Bounds of a nameCache: its slots (a power of two) and the longest name
// it keeps.
const (
	nameSlots  = 256
	maxNameLen = 256
)

// nameCache hands out the strings of names that recur (those of the
// parent spans a SpanStore shows its observer), so that each is allocated
// once rather than per span. It is a direct-mapped table: a name's hash
// picks its slot, and a different name hashed to the same slot takes it
// over. It is not safe for concurrent use.
type nameCache struct {
	seed  maphash.Seed
	slots [nameSlots]string
}

func newNameCache() *nameCache { return &nameCache{seed: maphash.MakeSeed()} }

// get returns b as a string.
func (c *nameCache) get(b []byte) string {
	if len(b) == 0 || len(b) > maxNameLen {
		return string(b)
	}
	slot := &c.slots[maphash.Bytes(c.seed, b)&(nameSlots-1)]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}
