//go:build unix

package telemetry

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the test process has used:
// on a machine shared with other work, the cost figure wall time is not.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
