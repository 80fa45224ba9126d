package exporters

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// hasPointers reports whether values of t hold a pointer the garbage
// collector would have to follow.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	}
	return true
}

func TestLogEntryHasNoPointers(t *testing.T) {
	if hasPointers(reflect.TypeFor[logEntry]()) {
		t.Fatal("logEntry holds a pointer: the collector would scan the whole ring again")
	}
	if size := unsafe.Sizeof(logEntry{}); size > 104 {
		t.Errorf("logEntry is %d bytes, was 104: padding crept in?", size)
	}
	if !hasPointers(reflect.TypeFor[AccessLog]()) {
		t.Fatal("hasPointers misses the pointers of AccessLog")
	}
}

func TestUnixTimeRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		{},
		time.Unix(0, 0),
		time.Unix(1_700_000_000, 123_456_789),
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 3, 4, 5, 6, 7, 8, time.FixedZone("x", -7*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Now(), // with a monotonic reading and the local zone
	} {
		got := unixTimeOf(tm).time()
		if !got.Equal(tm) || got.Location() != time.UTC || got.IsZero() != tm.IsZero() {
			t.Errorf("%v came back as %v", tm, got)
		}
		if tm.IsZero() && got != (time.Time{}) {
			t.Errorf("the zero time came back as %#v", got)
		}
	}
}

// TestLogTextMatchesModel pushes random entries, short and long strings
// mixed so that the arena grows, shrinks and skips its end, and checks
// after every push that the store returns exactly the newest entries a
// plain slice holds, and that the arena stays bounded by the live bytes.
func TestLogTextMatchesModel(t *testing.T) {
	for _, capacity := range []int{1, 2, 7, 64} {
		t.Run(fmt.Sprint(capacity), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(capacity), 42))
			s := NewLogStore(WithLogCapacity(capacity))
			var model []AccessLog
			str := func() string {
				switch rng.IntN(10) {
				case 0:
					return ""
				case 1: // long: grows the arena
					return strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(3*minTextBytes))
				}
				return fmt.Sprintf("v%d", rng.IntN(1000))
			}
			for i := range 3000 {
				a := AccessLog{
					Timestamp: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC(),
					Observed:  time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC(),
					Service:   str(), Source: str(), Target: str(), Method: str(), Path: str(), Protocol: str(),
					Status: rng.IntN(700) - 50, DurationMs: rng.Float64() * 1e3,
					TraceID: trace.TraceID{byte(i), byte(i >> 8)}, SpanID: trace.SpanID{byte(i)}, Side: Side(rng.IntN(3)),
				}
				if i%500 < 250 { // phases of short strings only: the arena shrinks again
					a.Service, a.Path = "svc", "/p"
				}
				s.mu.Lock()
				s.pushLog(&a)
				live := s.text.head - s.text.tail
				size := len(s.text.buf)
				s.mu.Unlock()
				model = append(model, a)
				if len(model) > capacity {
					model = model[1:]
				}
				// At most one skip before the buffer's end is live, shorter
				// than the entry after it; past that the arena shrinks.
				var liveStrings, longest uint64
				for _, m := range model {
					n := uint64(len(m.Service + m.Source + m.Target + m.Method + m.Path + m.Protocol))
					liveStrings, longest = liveStrings+n, max(longest, n)
				}
				if uint64(size) > max(minTextBytes, 8*(liveStrings+longest)) {
					t.Fatalf("push %d: arena of %d bytes for %d live bytes of strings", i, size, liveStrings)
				}
				if live > uint64(size) {
					t.Fatalf("push %d: %d live bytes in an arena of %d", i, live, size)
				}
				got := s.Recent(LogFilter{}, capacity+1)
				if !reflect.DeepEqual(got, model) {
					t.Fatalf("push %d: store and model differ\n got %+v\nwant %+v", i, got, model)
				}
			}
		})
	}
}

func TestLogStoreRecentFiltersOnArenaText(t *testing.T) {
	s := NewLogStore(WithLogCapacity(10))
	for i, edge := range [][2]string{{"api", "db"}, {"api", "dbx"}, {"ap", "idb"}, {"", ""}, {"web", "api"}} {
		a := AccessLog{Service: "api", Source: edge[0], Target: edge[1], Status: 200 + i}
		s.mu.Lock()
		s.pushLog(&a)
		s.mu.Unlock()
	}
	for _, tc := range []struct {
		f    LogFilter
		want []int
	}{
		{LogFilter{Source: "api"}, []int{200, 201}},
		{LogFilter{Target: "db"}, []int{200}},
		{LogFilter{Source: "api", Target: "db"}, []int{200}},
		{LogFilter{Source: "ap"}, []int{202}},
		{LogFilter{Target: "api"}, []int{204}},
		{LogFilter{Status: 203}, []int{203}},
		{LogFilter{}, []int{200, 201, 202, 203, 204}},
	} {
		var got []int
		for _, a := range s.Recent(tc.f, 10) {
			got = append(got, a.Status)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: statuses %v, want %v", tc.f, got, tc.want)
		}
	}
}
