package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hush-dev/hush/internal/config"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/store/filevault"
	"github.com/hush-dev/hush/server"
)

// Started with HUSH_TEST_RENAME_AND_WAIT, the test binary names itself
// that (comm, as prctl(PR_SET_NAME) sets it, which any process may do)
// and waits for its stdin to close.
func init() {
	name := os.Getenv("HUSH_TEST_RENAME_AND_WAIT")
	if name == "" {
		return
	}
	b := append([]byte(name), 0)
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(2)
	}
	var buf [1]byte
	os.Stdin.Read(buf[:])
	os.Exit(0)
}

// renamed starts a process that names itself name, and returns its pid
// once the kernel reports the new name.
func renamed(t *testing.T, name string) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{"HUSH_TEST_RENAME_AND_WAIT=" + name}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	commFile := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "comm")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(commFile); string(b) == name+"\n" {
			return cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d never took the name %q", cmd.Process.Pid, name)
		}
	}
}

// A process chooses its own name; whoami shows it escaped, never raw to
// the terminal.
func TestWhoamiShowsAProcessNameEscaped(t *testing.T) {
	const hostile, escaped = "\x1b[2K\rOK\nsafe", `\x1b[2K\rOK\nsafe`
	pid := renamed(t, hostile)

	home, err := os.MkdirTemp("", "hush") // a socket path holds 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	t.Setenv("HUSH_HOME", home)
	t.Setenv("HUSH_CONFIG", "")
	t.Setenv("HUSH_NO_AUTOSTART", "1")
	paths, err := config.DefaultPaths()
	if err != nil {
		t.Fatal(err)
	}
	if err := filevault.Init(paths.Vault, filevault.InitOptions{NoPassphrase: true}); err != nil {
		t.Fatal(err)
	}
	v, err := filevault.Open(paths.Vault)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	l, err := server.Listen(paths.Socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.New(v, server.WithDetector(detect.New(detect.WithRoot(os.Getpid())))).Serve(ctx, l)
	}()
	defer func() { cancel(); <-done }()

	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	if code := a.run(context.Background(), []string{"whoami", "--pid", strconv.Itoa(pid)}); code != 0 {
		t.Fatalf("whoami --pid %d exited %d: %s", pid, code, errb.String())
	}
	shown := out.String()
	if strings.ContainsAny(shown, "\x1b\r") || !strings.Contains(shown, "  "+escaped+"  ") {
		t.Errorf("whoami does not show the process name escaped:\n%q", shown)
	}
}
