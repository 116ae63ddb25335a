// Package proctree reads the caller's process chain.
package proctree

import "errors"

// ErrVanished: a process left while its chain was read; callers fail closed.
var ErrVanished = errors.New("process vanished while reading its chain")

// ErrNotImplemented is returned on systems without support.
var ErrNotImplemented = errors.New("process tree not implemented on this system")

// Process is one process, as read from the OS.
type Process struct {
	PID, PPID int
	UID       uint32 // effective UID
	Start     uint64 // clock ticks since boot on Linux, microseconds since the epoch on macOS
	Comm      string
	Exe       string // target of /proc/PID/exe; on macOS the path given to exec; "" if unreadable
	Cwd       string // target of /proc/PID/cwd, where relative paths start; "" if unreadable, always on macOS
	Argv      []string
	SID       int // session ID
	TTY       int // controlling terminal device number, 0 if none
}

// maxDepth bounds a walk up the tree; real chains are a few dozen deep, so
// anything longer is a corrupt or hostile view and is refused.
const maxDepth = 1024

// Read returns one process.
func Read(pid int) (Process, error) { return read(pid) }

// Environ returns a process's environment (same UID only).
func Environ(pid int) ([]string, error) { return environ(pid) }

// Environ returns p's environment, and ErrVanished if p's PID no longer
// names the process that was read (it exited, and the PID may be reused).
func (p Process) Environ() ([]string, error) {
	env, err := environ(p.PID)
	if err != nil {
		return nil, err
	}
	if err := p.Alive(); err != nil {
		return nil, err
	}
	return env, nil
}

// Alive returns nil if p's PID still names the process that was read, and
// an error wrapping ErrVanished otherwise.
func (p Process) Alive() error { return alive(p) }

// Chain returns pid and its ancestors, nearest first, up to PID 1 or up to
// (not including) root when root > 0. Start times must not increase up the
// chain; a process that vanished mid-walk yields ErrVanished.
//
// With root > 0 the walk also stops below any ancestor of root, so that a
// process re-parented past root (to init or a subreaper) never exposes
// root's own ancestry.
func Chain(pid, root int) ([]Process, error) { return chain(pid, root) }

// Session returns the live processes of session sid. When root > 0 only
// descendants of root are returned.
func Session(sid, root int) ([]Process, error) { return session(sid, root, nil) }

// SessionOthers is Session without the processes in known (the same PID
// and start time), which the caller has already read: typically the chain
// of the process whose session it is.
func SessionOthers(sid, root int, known []Process) ([]Process, error) {
	return session(sid, root, known)
}

// TTYName names a controlling terminal device number as /dev/pts/N and the
// like, or "" for 0.
func TTYName(tty int) string { return ttyName(tty) }
