package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/seal"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store/filevault"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
	"github.com/hush-dev/hush/server"
)

// daemonArg makes the test binary a daemon that autostart can launch:
// hush-test-daemon SOCKET VAULT ROOT_PID.
const daemonArg = "hush-test-daemon"

func TestMain(m *testing.M) {
	if len(os.Args) == 5 && os.Args[1] == daemonArg {
		os.Exit(testDaemon(os.Args[2], os.Args[3], os.Args[4]))
	}
	os.Exit(m.Run())
}

func testDaemon(socket, vaultPath, root string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	fail := func(err error) int { log.Error("test daemon", "err", err); return 1 }
	rootPID, err := strconv.Atoi(root)
	if err != nil {
		return fail(err)
	}
	if err := server.Harden(); err != nil {
		return fail(err)
	}
	if err := filevault.Init(vaultPath, filevault.InitOptions{NoPassphrase: true}); err != nil && !errors.Is(err, filevault.ErrExists) {
		return fail(err)
	}
	v, err := filevault.Open(vaultPath)
	if err != nil {
		return fail(err)
	}
	defer v.Close()
	l, err := server.Listen(socket)
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv := server.New(v, server.WithLogger(log), server.WithSocketPath(socket),
		server.WithDetector(detect.New(detect.WithRoot(rootPID))))
	log.Info("test daemon listening", "socket", socket)
	if err := srv.Serve(ctx, l); err != nil {
		return fail(err)
	}
	return 0
}

func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hush")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestDialWithAutostartOffSaysHowToStartTheDaemon(t *testing.T) {
	socket := filepath.Join(shortDir(t), "run", "hush.sock")
	_, err := client.Dial(context.Background(), client.WithSocket(socket))
	if !errors.Is(err, client.ErrUnreachable) {
		t.Fatalf("Dial = %v, want ErrUnreachable", err)
	}
	msg := err.Error()
	for _, want := range []string{socket, "hush daemon", "HUSH_NO_AUTOSTART"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message %q is not one line", msg)
	}
}

func TestAutostartRunsADetachedDaemonOnce(t *testing.T) {
	dir := shortDir(t)
	socket := filepath.Join(dir, "run", "hush.sock")
	logFile := filepath.Join(dir, "daemon.log")
	opts := []client.Option{
		client.WithSocket(socket),
		client.WithAutostart(testBinary(t), daemonArg, socket, filepath.Join(dir, "vault.age"), strconv.Itoa(os.Getpid())),
		client.WithLogFile(logFile),
	}
	ctx := context.Background()
	c, err := client.Dial(ctx, opts...)
	if err != nil {
		t.Fatalf("Dial with autostart: %v", err)
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := int(st.GetPid())
	t.Cleanup(func() {
		if syscall.Kill(pid, 0) == nil {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	})
	if pid == os.Getpid() {
		t.Fatal("the daemon runs in the test process")
	}

	t.Run("the daemon has its own session and no stdin", func(t *testing.T) {
		if sid := sessionOf(t, pid); sid != pid {
			t.Errorf("daemon %d is in session %d, want its own", pid, sid)
		}
		if in, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/0", pid)); err == nil && in != os.DevNull {
			t.Errorf("daemon stdin is %s, want %s", in, os.DevNull)
		}
	})
	t.Run("the daemon serves", func(t *testing.T) {
		if _, err := c.Set(ctx, "org/api/KEY", []byte("sk_test_FAKE_autostart")); err != nil {
			t.Fatal(err)
		}
		r, err := c.Get(ctx, "org/api/KEY")
		if err != nil || string(r.Secrets[0].Value) != "sk_test_FAKE_autostart" {
			t.Fatalf("Get = %v, %v", r, err)
		}
	})
	t.Run("a second Dial uses the running daemon", func(t *testing.T) {
		c2, err := client.Dial(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		st2, err := c2.Status(ctx)
		if err != nil || int(st2.GetPid()) != pid {
			t.Fatalf("Status = %v, %v; want the daemon %d", st2, err, pid)
		}
	})
	t.Run("Stop ends the daemon and frees the socket", func(t *testing.T) {
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Lstat(socket); errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the socket is still there after Stop")
			}
		}
	})
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "test daemon listening") {
		t.Errorf("the daemon's log did not reach %s:\n%s", logFile, log)
	}
	if strings.Contains(string(log), "sk_test_FAKE_autostart") {
		t.Error("the daemon log holds a value")
	}
}

func sessionOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// Fields after the parenthesised comm: state ppid pgrp session ...
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	sid, _ := strconv.Atoi(f[3])
	return sid
}

func TestAutostartFailuresSayWhatToDo(t *testing.T) {
	tests := []struct {
		name string
		exe  func(t *testing.T, dir string) (string, []string)
		says []string
	}{
		{"a daemon that exits at once", func(t *testing.T, dir string) (string, []string) {
			return "/bin/sh", []string{"-c", "echo cannot open vault >&2; exit 3"}
		}, []string{"exited before answering", "daemon.log"}},
		{"a daemon that never answers", func(t *testing.T, dir string) (string, []string) {
			pidFile := filepath.Join(dir, "pid")
			t.Cleanup(func() {
				if b, err := os.ReadFile(pidFile); err == nil {
					if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			})
			return "/bin/sh", []string{"-c", "echo $$ > " + pidFile + "; exec sleep 30"}
		}, []string{"did not answer", "daemon.log"}},
		{"a daemon binary that does not exist", func(t *testing.T, dir string) (string, []string) {
			return filepath.Join(dir, "no-such-hush"), nil
		}, []string{"no-such-hush"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			exe, args := tc.exe(t, dir)
			_, err := client.Dial(context.Background(),
				client.WithSocket(filepath.Join(dir, "hush.sock")),
				client.WithAutostart(exe, args...),
				client.WithLogFile(filepath.Join(dir, "daemon.log")),
				client.WithStartTimeout(500*time.Millisecond))
			if !errors.Is(err, client.ErrUnreachable) {
				t.Fatalf("Dial = %v, want ErrUnreachable", err)
			}
			for _, want := range tc.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not mention %q", err, want)
				}
			}
		})
	}
}

// wrongDaemon answers every Get with a sealed reply for another secret, as
// a confused or hostile daemon might.
type wrongDaemon struct {
	hushv1.UnimplementedSecretServiceServer
}

func (wrongDaemon) Get(_ context.Context, req *hushv1.GetRequest) (*hushv1.GetResponse, error) {
	s, err := seal.Seal(req.GetRecipient(), []secret.Secret{{Name: "org/other/KEY", Value: []byte("x")}})
	return &hushv1.GetResponse{Delivery: hushv1.Delivery_DELIVERY_PLAINTEXT, Sealed: s}, err
}

func TestGetRefusesAReplyForAnotherSecret(t *testing.T) {
	socket := filepath.Join(shortDir(t), "wrong.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hushv1.RegisterSecretServiceServer(gs, wrongDaemon{})
	go gs.Serve(l)
	defer gs.Stop()

	c, err := client.Dial(context.Background(), client.WithSocket(socket))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Get(context.Background(), "org/api/KEY")
	if !errors.Is(err, seal.ErrOpen) || r != nil {
		t.Fatalf("Get = %v, %v; want ErrOpen and no result", r, err)
	}
}
