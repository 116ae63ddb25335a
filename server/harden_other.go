//go:build !linux

package server

import "syscall"

// Harden makes every file the daemon creates private. Other systems have
// no PR_SET_DUMPABLE; macOS keeps other processes out of a process's
// memory by default (task_for_pid needs entitlements).
func Harden() error {
	syscall.Umask(0o077)
	return nil
}
