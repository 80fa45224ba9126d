package jaegertest

import (
	"testing"

	"github.com/meshobs/meshobs/e2e/tooltest"
)

// EnvBinary names the environment variable that points at the jaeger binary
// (test.sh exports it).
const EnvBinary = "MESHOBS_JAEGER_BIN"

// Binary returns the path of the jaeger binary: MESHOBS_JAEGER_BIN, else the
// one tools/build.sh builds from tools/jaeger into the user cache directory.
// When there is none it fails the test under CI (env CI set) and skips it
// elsewhere, saying how to build it.
func Binary(t testing.TB) string {
	t.Helper()
	return tooltest.Binary(t, tooltest.Jaeger)
}
