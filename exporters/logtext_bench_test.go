package exporters

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkLogPush is what retaining one entry costs, at the default
// retention: the pointer-free entry and its strings in the arena, beside
// the plain ring of AccessLog values it replaced.
func BenchmarkLogPush(b *testing.B) {
	logs := make([]AccessLog, 1024)
	for i := range logs {
		logs[i] = AccessLog{Timestamp: time.Now(), Observed: time.Now(), Service: fmt.Sprint("svc-", i%50),
			Source: fmt.Sprint("svc-", i%50), Target: fmt.Sprint("svc-", i%7), Method: "GET",
			Path: fmt.Sprint("/api/v1/items/", i%20), Protocol: "http", Status: 200, DurationMs: 12.5}
	}
	b.Run("arena", func(b *testing.B) {
		s := NewLogStore()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.pushLog(&logs[i&1023])
			i++
		}
	})
	b.Run("ring-of-AccessLog", func(b *testing.B) {
		r := newRing[AccessLog](DefaultRetention)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.push(logs[i&1023])
			i++
		}
	})
}
