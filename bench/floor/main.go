// Command floor is the benchmark's naive, telemetry-free meshobs node: it speaks
// the stdio protocol of docs/protocol.md with encoding/json, a bufio.Scanner and plain
// maps and slices, and nothing else. It is the floor meshobs is measured against,
// not a competitor: simple and correct, with no optimisation tricks.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	var stopping atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		// Closing stdin ends the read loop, which then flushes like at EOF.
		stopping.Store(true)
		os.Stdin.Close()
	}()
	n := newNode(time.Now, randomIDs)
	if err := n.run(os.Stdin, os.Stdout); err != nil && !stopping.Load() {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// randomIDs returns a fresh non-zero W3C trace id and span id.
func randomIDs() (traceID [16]byte, spanID [8]byte) {
	for traceID == ([16]byte{}) {
		putUint64(traceID[:8], rand.Uint64())
		putUint64(traceID[8:], rand.Uint64())
	}
	for spanID == ([8]byte{}) {
		putUint64(spanID[:], rand.Uint64())
	}
	return traceID, spanID
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}
