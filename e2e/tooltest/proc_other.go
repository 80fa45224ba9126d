//go:build !linux

package tooltest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
