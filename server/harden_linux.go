package server

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Harden makes the daemon's memory unreadable to other processes of the
// same user (no ptrace, no /proc/PID/mem, no core dump) and every file it
// creates private. The daemon calls it first thing.
func Harden() error {
	syscall.Umask(0o077)
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_DUMPABLE: %w", err)
	}
	return nil
}
