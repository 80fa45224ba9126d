package telemetry

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// jsonString is s as encoding/json writes it without HTML escaping.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// TestAppendStringMatchesEncodingJSON checks the escaping, the eight-bytes-
// at-a-time scan included, on strings mixing plain ASCII with every kind
// of byte that needs work, at every offset from a word's start.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	specials := []string{"\"", "\\", "\x00", "\x1f", "\n", "\t", "\x7f", "é", "\u2028", "\u2029", "\xff", "\xe2\x80", "😀", "<&>"}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100_000 {
		var sb []byte
		for n := rng.IntN(30); n > 0; n-- {
			if rng.IntN(8) == 0 {
				sb = append(sb, specials[rng.IntN(len(specials))]...)
			} else {
				sb = append(sb, byte(0x20+rng.IntN(0x5f)))
			}
		}
		s := string(sb)
		if got, want := string(AppendString(nil, s)), jsonString(t, s); got != want {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
	for c := range 256 { // each byte value alone, and after seven plain bytes
		for _, s := range []string{string([]byte{byte(c)}), "abcdefg" + string([]byte{byte(c)}) + "hijklmnop"} {
			if got, want := string(AppendString(nil, s)), jsonString(t, s); got != want {
				t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
			}
		}
	}
}
