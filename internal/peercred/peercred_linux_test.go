package peercred_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hush-dev/hush/internal/peercred"
)

// TestMain lets the test binary stand in for a client process: with
// HUSH_PEERCRED_HELPER set it dials the socket and either exits at once or
// waits for its stdin to close.
func TestMain(m *testing.M) {
	switch os.Getenv("HUSH_PEERCRED_HELPER") {
	case "":
		os.Exit(m.Run())
	case "dial-exit", "dial-wait":
		c, err := net.Dial("unix", os.Getenv("HUSH_PEERCRED_SOCKET"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if os.Getenv("HUSH_PEERCRED_HELPER") == "dial-wait" {
			_, _ = io.Copy(io.Discard, os.Stdin)
		}
		_ = c.Close()
		os.Exit(0)
	default:
		os.Exit(3)
	}
}

// kernelHasPeerPidfd reports whether this kernel (6.5 or later) hands out
// SO_PEERPIDFD, so the tests can demand a Handle where one must exist.
func kernelHasPeerPidfd(t *testing.T) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		t.Fatalf("cannot parse kernel release %q", release)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(leadingDigits(parts[1]))
	if err1 != nil || err2 != nil {
		t.Fatalf("cannot parse kernel release %q", release)
	}
	return major > 6 || major == 6 && minor >= 5
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

func socketpair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		conns[i] = c
	}
	return conns[0], conns[1]
}

func TestGetOnASocketpairReportsThisProcess(t *testing.T) {
	a, _ := socketpair(t)
	cred, err := peercred.Get(a)
	if err != nil {
		t.Fatal(err)
	}
	defer cred.Close()
	if cred.PID != os.Getpid() || cred.UID != uint32(os.Geteuid()) || cred.GID != uint32(os.Getegid()) {
		t.Fatalf("Get = pid %d uid %d gid %d, want pid %d uid %d gid %d",
			cred.PID, cred.UID, cred.GID, os.Getpid(), os.Geteuid(), os.Getegid())
	}
	if kernelHasPeerPidfd(t) {
		if cred.Handle == nil {
			t.Fatal("kernel has SO_PEERPIDFD but Get returned no Handle")
		}
		if err := cred.Verify(); err != nil {
			t.Fatalf("Verify on a live peer = %v", err)
		}
	} else if err := cred.Verify(); !errors.Is(err, peercred.ErrUnverifiable) {
		t.Fatalf("Verify without a Handle = %v, want ErrUnverifiable", err)
	}
	if err := cred.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cred.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// listen returns a Unix listener in a short temporary directory.
func listen(t *testing.T) (*net.UnixListener, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, path
}

func helper(t *testing.T, mode, socket string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	// Under -race a binary otherwise lingers a second at exit.
	cmd.Env = []string{"HUSH_PEERCRED_HELPER=" + mode, "HUSH_PEERCRED_SOCKET=" + socket, "GORACE=atexit_sleep_ms=0"}
	cmd.Stderr = os.Stderr
	return cmd
}

func TestGetNamesTheConnectingChildAndVerifyNoticesItsExit(t *testing.T) {
	l, path := listen(t)
	child := helper(t, "dial-wait", path)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cred, err := peercred.Get(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer cred.Close()
	if cred.PID != child.Process.Pid {
		t.Fatalf("Get PID = %d, want the child %d", cred.PID, child.Process.Pid)
	}
	hasPidfd := kernelHasPeerPidfd(t)
	if hasPidfd {
		if err := cred.Verify(); err != nil {
			t.Fatalf("Verify while the child runs = %v", err)
		}
	}

	_ = stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	want := peercred.ErrGone
	if !hasPidfd {
		want = peercred.ErrUnverifiable
	}
	if err := cred.Verify(); !errors.Is(err, want) {
		t.Fatalf("Verify after the child exited = %v, want %v", err, want)
	}
}

func TestGetOnAPeerThatAlreadyExited(t *testing.T) {
	l, path := listen(t)
	child := helper(t, "dial-exit", path)
	if err := child.Run(); err != nil {
		t.Fatalf("child: %v", err)
	}
	// The child has connected, exited and been reaped: its PID is free.
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cred, err := peercred.Get(conn)
	if kernelHasPeerPidfd(t) {
		if !errors.Is(err, peercred.ErrGone) {
			t.Fatalf("Get on an exited peer = %+v, %v; want ErrGone", cred, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if cred.PID != child.Process.Pid {
		t.Fatalf("Get PID = %d, want %d", cred.PID, child.Process.Pid)
	}
	if err := cred.Verify(); !errors.Is(err, peercred.ErrUnverifiable) {
		t.Fatalf("Verify without a Handle = %v, want ErrUnverifiable", err)
	}
}

func TestGetRefusesWhatIsNotAConnectedUnixSocket(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tcpClient, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcpClient.Close()

	pipeA, pipeB := net.Pipe()
	defer pipeA.Close()
	defer pipeB.Close()

	closed, _ := socketpair(t)
	_ = closed.Close()

	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "unconnected")
	unconnected, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer unconnected.Close()

	for _, tc := range []struct {
		name string
		conn net.Conn
	}{
		{"a TCP connection has no peer credentials", tcpClient},
		{"an in-memory pipe is not a socket", pipeA},
		{"a closed connection fails before the syscall", closed},
		{"an unconnected Unix socket has no peer", unconnected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := peercred.Get(tc.conn)
			if err == nil {
				_ = cred.Close()
				t.Fatalf("Get = %+v, want an error", cred)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}
