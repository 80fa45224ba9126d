//go:build !linux

package tooltest

import (
	"errors"
	"net/netip"
)

// Listeners is only implemented on Linux.
func Listeners(pid int) ([]netip.AddrPort, error) {
	return nil, errors.New("tooltest: Listeners needs Linux /proc")
}
