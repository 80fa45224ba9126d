//go:build !unix

package main

import (
	"io"
	"os"
)

// pollableStdin returns os.Stdin as it is.
func pollableStdin() (stdin io.Reader, restore func()) { return os.Stdin, func() {} }
