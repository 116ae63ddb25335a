package reliability_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/cli"
)

// asHush makes a run of the test binary behave as the hush command.
const asHush = "HUSH_RELIABILITY_AS_HUSH"

func TestMain(m *testing.M) {
	if os.Getenv(asHush) == "1" {
		os.Exit(cli.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// soak reports whether the long variants run (make soak).
func soak() bool { return os.Getenv("HUSH_SOAK") == "1" }

// valuePrefix starts every value the tests store, so a log can be searched
// for any of them.
const valuePrefix = "sk_test_FAKE_rel_"

// valueFor is the one value name may ever hold in a test that writes each
// name once: long enough to span more than one write to the disk, and
// checkable on its own so that a torn value cannot pass for a real one.
func valueFor(name string, variant int) []byte {
	body := fmt.Sprintf("%s%s#%d#%s", valuePrefix, name, variant, strings.Repeat("x", 16+(len(name)*7+variant*13)%240))
	sum := sha256.Sum256([]byte(body))
	return []byte(body + "#" + hex.EncodeToString(sum[:8]))
}

// checkValue reports whether v is a whole value written by valueFor for
// name, and which variant.
func checkValue(name string, v []byte) (int, error) {
	s := string(v)
	i := strings.LastIndexByte(s, '#')
	if i < 0 {
		return 0, fmt.Errorf("%s: a value without its checksum (%d bytes)", name, len(v))
	}
	sum := sha256.Sum256([]byte(s[:i]))
	if s[i+1:] != hex.EncodeToString(sum[:8]) {
		return 0, fmt.Errorf("%s: a torn or altered value (%d bytes)", name, len(v))
	}
	rest, ok := strings.CutPrefix(s[:i], valuePrefix+name+"#")
	if !ok {
		return 0, fmt.Errorf("%s: holds another secret's value", name)
	}
	digits, _, ok := strings.Cut(rest, "#")
	variant, err := strconv.Atoi(digits)
	if !ok || err != nil {
		return 0, fmt.Errorf("%s: a value of the wrong form", name)
	}
	return variant, nil
}

// home is one hush installation: HUSH_HOME with a vault without a
// passphrase.
type home struct {
	dir    string
	socket string
	log    string
}

func newHome(t testing.TB) *home {
	t.Helper()
	return newHomeIn(t, "")
}

// newBenchHome puts the home on a tmpfs where there is one: handoff scripts
// go to the runtime dir, which is a tmpfs (/run/user/UID) on a real
// machine, and an fsync on a disk would be measured instead of hush.
func newBenchHome(b *testing.B) *home {
	b.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return newHomeIn(b, "/dev/shm")
	}
	return newHomeIn(b, "")
}

func newHomeIn(t testing.TB, base string) *home {
	t.Helper()
	// Not t.TempDir: the socket path must stay under the kernel's 108 bytes.
	dir, err := os.MkdirTemp(base, "hrel")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &home{dir: dir, socket: filepath.Join(dir, "run", "hush.sock"), log: filepath.Join(dir, "daemon.log")}
	if out, err := h.command(t, "init", "--no-passphrase").CombinedOutput(); err != nil {
		t.Fatalf("hush init: %v\n%s", err, out)
	}
	return h
}

// command is hush with args, in an environment of its own: nothing of the
// test's, which may carry a real agent's markers.
func (h *home) command(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + h.dir,
		"HUSH_HOME=" + h.dir,
		"HUSH_NO_AUTOSTART=1",
		asHush + "=1",
	}
	if v, ok := os.LookupEnv("GORACE"); ok {
		cmd.Env = append(cmd.Env, "GORACE="+v)
	}
	cmd.Dir = h.dir
	return cmd
}

// daemon is a running `hush daemon`.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// startDaemon runs `hush daemon` and waits until its socket answers. It
// classifies callers below this process only, and appends its log to h.log.
func (h *home) startDaemon(t testing.TB) *daemon {
	t.Helper()
	logf, err := os.OpenFile(h.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := h.command(t, "daemon", "--test-tree-root", strconv.Itoa(os.Getpid()))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	logf.Close()
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(d.done) }()
	t.Cleanup(d.kill)
	deadline := time.After(30 * time.Second)
	for {
		if c, err := net.Dial("unix", h.socket); err == nil {
			c.Close()
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("the daemon exited before answering: %s\n%s", cmd.ProcessState, h.tail())
		case <-deadline:
			t.Fatalf("the daemon did not answer on %s within 30s\n%s", h.socket, h.tail())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// kill ends the daemon with SIGKILL, as a crash or the OOM killer would,
// and waits until it is gone.
func (d *daemon) kill() {
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// stop asks the daemon to exit cleanly.
func (d *daemon) stop(t testing.TB) {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		t.Error("the daemon did not exit within 15s of SIGTERM")
		d.kill()
	}
}

// dial connects to the daemon; call it from the test's goroutine. The
// connection is closed when the test ends, if not before.
func (h *home) dial(t testing.TB) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.WithSocket(h.socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tail is the end of the daemon's log, for failure messages. The log holds
// names, never values (checkLog makes sure).
func (h *home) tail() string {
	b, _ := os.ReadFile(h.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// checkLog fails the test if the daemon saw a data race or logged a value.
func (h *home) checkLog(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(h.log)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("DATA RACE")) {
		t.Errorf("the daemon reported a data race:\n%s", b)
	}
	if bytes.Contains(b, []byte(valuePrefix)) {
		t.Error("the daemon's log contains a secret value")
	}
}

// procStatus reads a field of /proc/PID/status, such as VmRSS (in kB).
func procStatus(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// openFDs counts the file descriptors pid holds.
func openFDs(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries), err
}
