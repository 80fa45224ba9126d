//go:build unix

package main

import (
	"io"
	"os"
	"syscall"
)

// pollableStdin returns stdin as a file the runtime poller manages when
// it can (a pipe, a terminal, a socket): then a read blocked on an idle
// input can be cut short by a deadline, and the node stops at once on a
// signal instead of leaving a reader behind. restore puts the descriptor,
// which the parent shell may share, back into blocking mode.
func pollableStdin() (stdin io.Reader, restore func()) {
	if err := syscall.SetNonblock(0, true); err != nil {
		return os.Stdin, func() {}
	}
	return os.NewFile(0, "/dev/stdin"), func() { _ = syscall.SetNonblock(0, false) }
}
