package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/peercred"
)

// ErrRunning: another daemon already answers on the socket.
var ErrRunning = errors.New("another hush daemon is running")

// maxSocketPath is the longest path a Unix socket address holds on Linux
// (sun_path is 108 bytes with the terminating NUL; macOS allows 104).
const maxSocketPath = 107

// probeTimeout bounds the dial that tells a live daemon from a stale file.
const probeTimeout = time.Second

// Listen creates the socket's dir (0700, checked), probes an existing
// socket (refusing if a daemon answers, removing it if stale), listens and
// sets mode 0600.
//
// While the listener is open it also holds an exclusive lock on
// path+".lock", so two daemons starting at once cannot both decide the
// socket is stale and take turns removing each other's.
func Listen(path string) (net.Listener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("socket path %s is %d bytes; Unix sockets allow at most %d: set HUSH_SOCKET to a shorter path", path, len(path), maxSocketPath)
	}
	// The socket shares the private runtime dir with the handoff scripts,
	// and the same rule: ours, 0700, not a symlink (as ssh-agent checks).
	if err := handoff.EnsureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	unlock, err := lockSocket(path)
	if err != nil {
		return nil, err
	}
	l, err := listenFresh(path)
	if err != nil {
		unlock()
		return nil, err
	}
	return &lockedListener{Listener: l, unlock: unlock}, nil
}

func listenFresh(path string) (net.Listener, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// On purpose, not by the accident of the umask: the dir already keeps
	// others out, the mode says so again for anyone who moves the socket.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod socket %s: %w", path, err)
	}
	return l, nil
}

// lockSocket takes the daemon lock next to the socket, or says who holds it.
// The lock file is removed when the lock is released, so a stopped daemon
// leaves its runtime dir empty.
func lockSocket(path string) (unlock func(), err error) {
	lockPath := path + ".lock"
	// A lock taken on a file its holder has just unlinked locks nothing:
	// retry until the locked file is the one at lockPath.
	for range 3 {
		f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open daemon lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				if pid, ok := answering(path); ok {
					return nil, runningError(pid, path)
				}
				return nil, fmt.Errorf("%w: another daemon is starting on %s (it holds %s)", ErrRunning, path, lockPath)
			}
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
		if sameFile(f, lockPath) {
			return func() {
				os.Remove(lockPath) // while still holding the lock
				f.Close()
			}, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("%w: the lock %s keeps changing hands", ErrRunning, lockPath)
}

func sameFile(f *os.File, path string) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(path)
	return err == nil && os.SameFile(held, now)
}

// removeStale removes a socket file nobody answers on. A file that is not a
// socket is left alone: it is not ours to delete.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
	}
	conn, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		pid := pidOf(conn)
		conn.Close()
		return runningError(pid, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("probe %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// answering dials path and reports the pid of whoever accepts.
func answering(path string) (pid int, ok bool) {
	conn, err := net.DialTimeout("unix", path, probeTimeout)
	if err != nil {
		return 0, false
	}
	defer conn.Close()
	return pidOf(conn), true
}

func pidOf(conn net.Conn) int {
	cred, err := peercred.Get(conn)
	if err != nil {
		return 0
	}
	return cred.PID
}

func runningError(pid int, path string) error {
	if pid > 0 {
		return fmt.Errorf("%w (pid %d) on %s", ErrRunning, pid, path)
	}
	return fmt.Errorf("%w on %s", ErrRunning, path)
}

// lockedListener releases the daemon lock once the socket is gone.
type lockedListener struct {
	net.Listener
	once   sync.Once
	unlock func()
	err    error
}

func (l *lockedListener) Close() error {
	l.once.Do(func() {
		l.err = l.Listener.Close() // removes the socket file
		l.unlock()
	})
	return l.err
}
