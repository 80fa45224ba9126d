package graph

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// TestPendingStoreModel runs random inserts, takes, expiries and flushes
// through a pendingStore and through a plain model (a slice in insertion
// order): both must hold the same entries, expire the same ones in the
// same order, and refuse the same inserts when full.
func TestPendingStoreModel(t *testing.T) {
	type entry struct {
		key     spanKey
		expires time.Duration
		waiting int
	}
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		const ttl, maxItems = 10 * time.Millisecond, 16
		var model []entry
		var expired, wantExpired []spanKey
		s := newPendingStore(ttl, maxItems, func(e *pendingEntry) {
			if len(e.waiting) != int(e.key.span[1]) {
				t.Fatalf("seed %d: entry %v expired with %d waiting, want %d", seed, e.key, len(e.waiting), e.key.span[1])
			}
			expired = append(expired, e.key)
		})
		modelExpire := func(now time.Duration, all bool) {
			for len(model) > 0 && (all || model[0].expires <= now) {
				wantExpired = append(wantExpired, model[0].key)
				model = model[1:]
			}
		}
		var now time.Duration
		for step := range 2000 {
			k := spanKey{span: trace.SpanID{byte(r.IntN(40)), 0}}
			i := slices.IndexFunc(model, func(e entry) bool { return e.key.span[0] == k.span[0] })
			switch op := r.IntN(10); {
			case op < 5: // insert, with waiting children recorded in the key
				if i >= 0 {
					continue
				}
				n := r.IntN(4)
				k.span[1] = byte(n)
				e, err := s.insert(k, now)
				if len(model) >= maxItems {
					modelExpire(now, false)
				}
				if len(model) >= maxItems {
					if err != ErrTooManyItems {
						t.Fatalf("seed %d step %d: insert into a full store: %v", seed, step, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
				for range n {
					e.waiting = append(e.waiting, spanFacts{service: "child"})
				}
				model = append(model, entry{k, now + ttl, n})
			case op < 7: // take
				var got *pendingEntry
				if i >= 0 {
					k = model[i].key
					got = s.take(k)
					if got == nil || got.key != k || len(got.waiting) != model[i].waiting {
						t.Fatalf("seed %d step %d: take %v = %+v", seed, step, k, got)
					}
					model = slices.Delete(model, i, i+1)
				} else if got = s.take(k); got != nil {
					t.Fatalf("seed %d step %d: take of an absent key = %+v", seed, step, got)
				}
			case op < 9:
				now += time.Duration(r.IntN(4)) * time.Millisecond
				s.expire(now)
				modelExpire(now, false)
			default:
				if r.IntN(10) == 0 {
					s.flush()
					modelExpire(now, true)
				}
			}
			if !slices.Equal(expired, wantExpired) {
				t.Fatalf("seed %d step %d: expired %v, want %v", seed, step, expired, wantExpired)
			}
			if s.len() != len(model) {
				t.Fatalf("seed %d step %d: len %d, want %d", seed, step, s.len(), len(model))
			}
			for _, e := range model {
				if got := s.get(e.key); got == nil || got.expires != e.expires || len(got.waiting) != e.waiting {
					t.Fatalf("seed %d step %d: get %v = %+v, want %+v", seed, step, e.key, got, e)
				}
			}
		}
		if len(s.slots) > maxItems {
			t.Errorf("seed %d: %d slots for at most %d entries: freed slots are not reused", seed, len(s.slots), maxItems)
		}
	}
}
