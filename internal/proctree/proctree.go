// Package proctree reads the caller's process chain.
package proctree

import "errors"

// ErrVanished: a process left while its chain was read; callers fail closed.
var ErrVanished = errors.New("process vanished while reading its chain")

// Process is one process, as read from the OS.
type Process struct {
	PID, PPID int
	UID       uint32
	Start     uint64 // clock ticks since boot on Linux
	Comm      string
	Exe       string // target of /proc/PID/exe, "" if unreadable
	Argv      []string
	SID       int // session ID
	TTY       int // controlling terminal device number, 0 if none
}

// Read returns one process.
func Read(pid int) (Process, error) { panic("TODO") }

// Environ returns a process's environment (same UID only).
func Environ(pid int) ([]string, error) { panic("TODO") }

// Chain returns pid and its ancestors, nearest first, up to PID 1 or up to
// (not including) root when root > 0. Start times must not increase up the
// chain; a process that vanished mid-walk yields ErrVanished.
func Chain(pid, root int) ([]Process, error) { panic("TODO") }

// Session returns the live processes of session sid. When root > 0 only
// descendants of root are returned.
func Session(sid, root int) ([]Process, error) { panic("TODO") }
