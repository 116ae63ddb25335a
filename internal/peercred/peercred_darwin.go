//go:build darwin

package peercred

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// xucredVersion is XUCRED_VERSION from <sys/ucred.h>, which x/sys does not
// export: another layout would put other numbers where the UID is read.
const xucredVersion = 0

// get reads LOCAL_PEERCRED and LOCAL_PEERPID, both recorded when the peer
// connected. macOS has no pidfd, so Cred.Handle stays nil: Verify returns
// ErrUnverifiable and callers fall back to re-checking start times. An
// exited peer is not noticed here either; its PID simply stops matching.
func get(rc syscall.RawConn) (Cred, error) {
	var (
		xucred    *unix.Xucred
		credErr   error
		pid       int
		pidErr    error
		controlFn = func(fd uintptr) {
			xucred, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
			if credErr != nil {
				return
			}
			pid, pidErr = unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
		}
	)
	// Control can fail on its own (a closed connection) without ever running
	// controlFn; the errors are separate facts and all must be checked.
	if err := rc.Control(controlFn); err != nil {
		return Cred{}, fmt.Errorf("peercred: %w", err)
	}
	if credErr != nil {
		return Cred{}, fmt.Errorf("peercred: LOCAL_PEERCRED: %w", credErr)
	}
	if pidErr != nil {
		return Cred{}, fmt.Errorf("peercred: LOCAL_PEERPID: %w", pidErr)
	}
	if xucred.Version != xucredVersion {
		return Cred{}, fmt.Errorf("peercred: LOCAL_PEERCRED: unknown xucred version %d", xucred.Version)
	}
	// cr_groups[0] is the effective GID, as in every BSD ucred.
	if xucred.Ngroups < 1 || int(xucred.Ngroups) > len(xucred.Groups) {
		return Cred{}, fmt.Errorf("peercred: LOCAL_PEERCRED: %d groups", xucred.Ngroups)
	}
	if pid <= 0 {
		return Cred{}, errors.New("peercred: socket has no peer process")
	}
	return Cred{PID: pid, UID: xucred.Uid, GID: xucred.Groups[0]}, nil
}

// alive is never reached: without a Handle there is nothing to ask.
func alive(int) error { return ErrUnverifiable }

func closeHandle(int) error { return nil }
