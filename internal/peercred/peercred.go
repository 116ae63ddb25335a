// Package peercred reads the credentials of the process at the other end of
// a Unix socket.
package peercred

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// ErrNotImplemented is returned on systems without support.
var ErrNotImplemented = errors.New("peer credentials not implemented on this system")

// ErrGone: the peer process has exited. Whatever was read about its PID
// may now describe another process, so callers fail closed.
var ErrGone = errors.New("peer process has exited")

// ErrUnverifiable: the system gave no handle on the peer process (a kernel
// without SO_PEERPIDFD), so Verify cannot tell whether the PID still names
// the process that connected. Callers fall back to re-checking the
// process's start time.
var ErrUnverifiable = errors.New("peer process cannot be pinned on this system")

// Cred identifies a peer process.
type Cred struct {
	PID int
	UID uint32
	GID uint32

	// Handle pins the peer process itself rather than its PID (a pidfd on
	// Linux), nil where the system has none. Release it with Close.
	Handle *Handle
}

// Verify reports whether the peer is still the process that connected: nil
// if so, ErrGone if it exited, ErrUnverifiable without a Handle. Call it
// after reading anything about Cred.PID (its /proc entries, its ancestry):
// a nil result proves the PID was not reused meanwhile.
func (c Cred) Verify() error {
	if c.Handle == nil {
		return ErrUnverifiable
	}
	return c.Handle.Alive()
}

// Close releases the Handle, if any.
func (c Cred) Close() error {
	if c.Handle == nil {
		return nil
	}
	return c.Handle.Close()
}

// Handle is a reference to one process that, unlike a PID, can never come to
// mean another process.
type Handle struct {
	mu     sync.Mutex
	fd     int
	closed bool
}

// Alive returns nil while the process runs (or is an unreaped zombie, whose
// PID cannot be reused yet) and ErrGone once it has exited.
func (h *Handle) Alive() error {
	if h == nil {
		return ErrUnverifiable
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errors.New("peercred: handle used after Close")
	}
	return alive(h.fd)
}

// Close releases the handle. It is safe to call more than once.
func (h *Handle) Close() error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	return closeHandle(h.fd)
}

// Get reads the peer credentials of a Unix socket connection. It fails with
// ErrGone when the system can already tell that the peer has exited. A
// successful Get may hold a Handle: release it with Cred.Close.
func Get(c net.Conn) (Cred, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return Cred{}, fmt.Errorf("peercred: %T is not a socket connection", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return Cred{}, fmt.Errorf("peercred: %w", err)
	}
	return get(rc)
}
