package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestVendoredDagreIsTheRecordedBuild: ui/vendor/dagre.min.js is the npm
// build VERSION names, unchanged (refresh.sh rewrites both together).
func TestVendoredDagreIsTheRecordedBuild(t *testing.T) {
	dir := filepath.Join("ui", "vendor")
	version, err := os.ReadFile(filepath.Join(dir, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^sha256: ([0-9a-f]{64})$`).FindSubmatch(version)
	if m == nil {
		t.Fatalf("VERSION has no sha256 line:\n%s", version)
	}
	build, err := os.ReadFile(filepath.Join(dir, "dagre.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(build); hex.EncodeToString(sum[:]) != string(m[1]) {
		t.Errorf("dagre.min.js sha256 %x, VERSION says %s: run ui/vendor/refresh.sh", sum, m[1])
	}
	for _, f := range []string{"LICENSE", "README.md", "refresh.sh"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
