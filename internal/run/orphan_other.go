//go:build !linux

package run

import "syscall"

// dieWithParent: only Linux has a parent-death signal. Elsewhere a child
// outlives a hush killed with SIGKILL; signals hush receives and can act
// on are still forwarded.
func dieWithParent(*syscall.SysProcAttr) {}

func pinThread() (unpin func()) { return func() {} }
