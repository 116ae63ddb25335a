//go:build linux

package peercred

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

func get(rc syscall.RawConn) (Cred, error) {
	var (
		ucred     *unix.Ucred
		credErr   error
		pidfd     = -1
		pidfdErr  error
		controlFn = func(fd uintptr) {
			ucred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
			if credErr != nil {
				return
			}
			pidfd, pidfdErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD)
		}
	)
	// Control can fail on its own (a closed connection) without ever running
	// controlFn; the two errors are separate facts and both must be checked.
	if err := rc.Control(controlFn); err != nil {
		return Cred{}, fmt.Errorf("peercred: %w", err)
	}
	if credErr != nil {
		return Cred{}, fmt.Errorf("peercred: SO_PEERCRED: %w", credErr)
	}
	// A socket with no peer (unconnected, or not AF_UNIX) reports PID 0 and
	// the overflow UID instead of an error.
	if ucred.Pid <= 0 {
		if pidfdErr == nil {
			_ = unix.Close(pidfd)
		}
		return Cred{}, errors.New("peercred: socket has no peer process (not a connected Unix socket, or the peer is in another PID namespace)")
	}
	cred := Cred{PID: int(ucred.Pid), UID: ucred.Uid, GID: ucred.Gid}

	switch {
	case pidfdErr == nil:
		cred.Handle = &Handle{fd: pidfd}
	case errors.Is(pidfdErr, unix.ENOPROTOOPT):
		// Kernel before 6.5: no pidfd; callers re-check start times instead.
		return cred, nil
	case errors.Is(pidfdErr, unix.ESRCH), errors.Is(pidfdErr, unix.EINVAL):
		// Kernels before 6.16 refuse a pidfd for a peer that has been reaped.
		return Cred{}, fmt.Errorf("peercred: pid %d: %w", cred.PID, ErrGone)
	default:
		return Cred{}, fmt.Errorf("peercred: SO_PEERPIDFD: %w", pidfdErr)
	}
	// Newer kernels hand out a pidfd even for a reaped peer; ask it.
	if err := cred.Handle.Alive(); err != nil {
		_ = cred.Close()
		return Cred{}, fmt.Errorf("peercred: pid %d: %w", cred.PID, err)
	}
	return cred, nil
}

func alive(fd int) error {
	err := unix.PidfdSendSignal(fd, 0, nil, 0)
	switch {
	case err == nil, errors.Is(err, unix.EPERM):
		// EPERM still proves the process exists: it is only not ours to signal.
		return nil
	case errors.Is(err, unix.ESRCH):
		return ErrGone
	default:
		return fmt.Errorf("peercred: pidfd_send_signal: %w", err)
	}
}

func closeHandle(fd int) error { return unix.Close(fd) }
