package server_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-dev/hush/server"
)

func TestListenMakesAPrivateDirAndSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "a", "run", "hush.sock")
	l, err := server.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	assertMode(t, filepath.Dir(path), fs.ModeDir|0o700)
	assertMode(t, path, fs.ModeSocket|0o600)
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func TestListenRefusesAnUnsafeSocketDir(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the socket dir
		want  string
	}{
		{"a dir others can enter is refused", func(t *testing.T, dir string) string {
			run := filepath.Join(dir, "run")
			mkdir(t, run, 0o755)
			return run
		}, "want 0700"},
		{"a group-readable dir is refused", func(t *testing.T, dir string) string {
			run := filepath.Join(dir, "run")
			mkdir(t, run, 0o750)
			return run
		}, "want 0700"},
		{"a symlink to a private dir is refused", func(t *testing.T, dir string) string {
			real := filepath.Join(dir, "real")
			mkdir(t, real, 0o700)
			link := filepath.Join(dir, "run")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "symlink"},
		{"a file where the dir should be is refused", func(t *testing.T, dir string) string {
			run := filepath.Join(dir, "run")
			if err := os.WriteFile(run, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return run
		}, "not a directory"},
		{"a dir of another user is refused", func(t *testing.T, dir string) string {
			if os.Geteuid() != 0 {
				if os.Getenv("CI") == "true" {
					t.Fatal("CI runs as root and must test a dir of another user")
				}
				t.Skip("needs root to give a dir to another user")
			}
			run := filepath.Join(dir, "run")
			mkdir(t, run, 0o700)
			if err := os.Chown(run, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return run
		}, "owned by uid 65534"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := tc.setup(t, shortDir(t))
			l, err := server.Listen(filepath.Join(run, "hush.sock"))
			if err == nil {
				l.Close()
				t.Fatal("Listen accepted an unsafe dir")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if fi, err := os.Lstat(filepath.Join(run, "hush.sock")); err == nil {
				t.Errorf("Listen left a %v in the unsafe dir", fi.Mode().Type())
			}
		})
	}
}

func mkdir(t *testing.T, dir string, mode fs.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func TestASecondDaemonRefusesWhileOneAnswers(t *testing.T) {
	tests := []struct {
		name  string
		first func(t *testing.T, path string) net.Listener
	}{
		{"a hush daemon holding the socket", func(t *testing.T, path string) net.Listener {
			l, err := server.Listen(path)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}},
		{"any process answering on the socket", func(t *testing.T, path string) net.Listener {
			mkdir(t, filepath.Dir(path), 0o700)
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(shortDir(t), "run", "hush.sock")
			first := tc.first(t, path)
			defer first.Close()
			l, err := server.Listen(path)
			if err == nil {
				l.Close()
				t.Fatal("a second Listen succeeded while the first answers")
			}
			if !errors.Is(err, server.ErrRunning) {
				t.Fatalf("error %v is not ErrRunning", err)
			}
			want := fmt.Sprintf("another hush daemon is running (pid %d)", os.Getpid())
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if c, err := net.Dial("unix", path); err != nil {
				t.Errorf("the first daemon's socket stopped answering: %v", err)
			} else {
				c.Close()
			}
		})
	}
}

func TestAStaleSocketFileIsReplaced(t *testing.T) {
	path := filepath.Join(shortDir(t), "run", "hush.sock")
	mkdir(t, filepath.Dir(path), 0o700)
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false) // as a daemon that crashed leaves it
	old.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("no stale socket to test with: %v", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		t.Fatal("the stale socket still answers")
	}

	l, err := server.Listen(path)
	if err != nil {
		t.Fatalf("Listen refused a stale socket: %v", err)
	}
	defer l.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the new socket does not answer: %v", err)
	}
	c.Close()
}

func TestListenLeavesWhatIsNotASocketAlone(t *testing.T) {
	path := filepath.Join(shortDir(t), "run", "hush.sock")
	mkdir(t, filepath.Dir(path), 0o700)
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := server.Listen(path)
	if err == nil {
		l.Close()
		t.Fatal("Listen replaced a regular file")
	}
	if !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("error %q does not say it is not a socket", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Error("the file was changed")
	}
}

func TestListenRefusesASocketPathTooLongForTheKernel(t *testing.T) {
	path := filepath.Join(shortDir(t), strings.Repeat("d", 100), "hush.sock")
	l, err := server.Listen(path)
	if err == nil {
		l.Close()
		t.Fatal("Listen accepted a path the kernel would truncate")
	}
	if !strings.Contains(err.Error(), "HUSH_SOCKET") {
		t.Errorf("error %q does not say how to fix it", err)
	}
}

func TestShutdownRemovesTheSocketAndFreesIt(t *testing.T) {
	tests := []struct {
		name string
		stop func(t *testing.T, d *daemon)
	}{
		{"when its context ends", func(t *testing.T, d *daemon) { d.cancel() }},
		{"when a Stop call arrives", func(t *testing.T, d *daemon) {
			if err := d.dial(t).Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// With the reaper running, as in `hush daemon`: a Stop call must
			// end it too.
			d := startDaemon(t, daemonConfig{handoffTTL: time.Minute})
			c := d.dial(t)
			if _, err := c.List(context.Background(), ""); err != nil {
				t.Fatal(err)
			}
			tc.stop(t, d)
			select {
			case err := <-d.done:
				if err != nil {
					t.Fatalf("Serve: %v", err)
				}
				close(d.done)
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not return")
			}
			if _, err := os.Lstat(d.socket); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the socket file is still there: %v", err)
			}
			if left, err := os.ReadDir(filepath.Dir(d.socket)); err != nil || len(left) > 0 {
				t.Errorf("the runtime dir still holds %v (%v)", left, err)
			}
			l, err := server.Listen(d.socket)
			if err != nil {
				t.Fatalf("the socket is not free for the next daemon: %v", err)
			}
			l.Close()
		})
	}
}
