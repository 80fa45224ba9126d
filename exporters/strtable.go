package exporters

// strTable gives the few strings every span repeats (service names, scope
// names) a small number each, so that a held span refers to them without
// a pointer. A string is kept while some span refers to it: references are
// counted, and a number whose count drops to zero is reused. It holds at
// most as many strings as references, so a store's table is bounded by
// twice its capacity. It is not safe for concurrent use.
type strTable struct {
	ids  map[string]uint32
	strs []string
	refs []uint32
	free []uint32
}

// strCache remembers the last string a caller looked up, which the next
// lookup most often repeats (the spans of one request share a service and
// a scope); comparing a string to itself costs no more than comparing
// pointers.
type strCache struct {
	s  string
	id uint32
	ok bool
}

// ref returns the number of s, counting one more reference to it.
func (t *strTable) ref(s string, c *strCache) uint32 {
	if c.ok && c.s == s {
		t.refs[c.id]++
		return c.id
	}
	id, ok := t.ids[s]
	if !ok {
		if n := len(t.free); n > 0 {
			id, t.free = t.free[n-1], t.free[:n-1]
			t.strs[id], t.refs[id] = s, 0
		} else {
			id = uint32(len(t.strs))
			t.strs, t.refs = append(t.strs, s), append(t.refs, 0)
		}
		if t.ids == nil {
			t.ids = make(map[string]uint32)
		}
		t.ids[s] = id
	}
	t.refs[id]++
	*c = strCache{s: t.strs[id], id: id, ok: true}
	return id
}

// unref drops one reference to number id, and the string with the last
// one; caches is every strCache that may name it.
func (t *strTable) unref(id uint32, caches ...*strCache) {
	if t.refs[id]--; t.refs[id] > 0 {
		return
	}
	delete(t.ids, t.strs[id])
	t.strs[id] = ""
	t.free = append(t.free, id)
	for _, c := range caches {
		if c.ok && c.id == id {
			*c = strCache{}
		}
	}
}

// str returns the string numbered id.
func (t *strTable) str(id uint32) string { return t.strs[id] }
