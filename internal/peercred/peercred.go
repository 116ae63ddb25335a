// Package peercred reads the credentials of the process at the other end of
// a Unix socket.
package peercred

import (
	"errors"
	"net"
)

// ErrNotImplemented is returned on systems without support.
var ErrNotImplemented = errors.New("peer credentials not implemented on this system")

// Cred identifies a peer process.
type Cred struct {
	PID int
	UID uint32
	GID uint32
}

// Get reads the peer credentials of a Unix socket connection.
func Get(c net.Conn) (Cred, error) { panic("TODO") }
