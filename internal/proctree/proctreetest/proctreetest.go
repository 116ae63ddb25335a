// Package proctreetest builds real process trees for tests: processes that
// record their PID, clean environments, and waiting without timed asserts.
package proctreetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// patience bounds every wait; a tree that is not ready by then is a failure,
// reported as such rather than as a timing assertion.
const patience = 20 * time.Second

// Tool returns the absolute path of a program the tests rely on, failing
// in CI and skipping elsewhere when it is missing.
func Tool(t testing.TB, name, aptPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: apt-get install %s", name, aptPackage)
		}
		t.Skipf("%s not found: apt-get install %s", name, aptPackage)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// CleanEnv is an explicit environment free of anything the test runner
// inherited (in particular any agent's markers), plus extra entries.
func CleanEnv(home string, extra ...string) []string {
	return append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8"}, extra...)
}

// Caller is a process-to-be that writes its PID to a file and then execs
// sleep, keeping that PID: the stand-in for `hush get` in a tree.
type Caller struct {
	// Command is a shell command line that starts the caller.
	Command string
	pidFile string
}

// NewCaller prepares a caller whose files live in dir.
func NewCaller(t testing.TB, dir string) Caller {
	t.Helper()
	sleep := Tool(t, "sleep", "coreutils")
	mv := Tool(t, "mv", "coreutils")
	script := filepath.Join(dir, "caller.sh")
	pidFile := filepath.Join(dir, "caller.pid")
	// The PID file appears whole (rename), and the script carries absolute
	// paths so that it also runs under `env -i`.
	body := "echo $$ > \"$1.tmp\" && " + mv + " \"$1.tmp\" \"$1\"\nexec " + sleep + " 600\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return Caller{Command: "/bin/sh " + Quote(script) + " " + Quote(pidFile), pidFile: pidFile}
}

// Wait returns the caller's PID once it has become sleep, and kills it when
// the test ends (it may have been re-parented away from the test).
func (c Caller) Wait(t testing.TB) int {
	t.Helper()
	pid := WaitPIDFile(t, c.pidFile)
	Eventually(t, "the caller to exec sleep", func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		return err == nil && strings.TrimSpace(string(b)) == "sleep"
	})
	return pid
}

// WaitPIDFile waits for path to hold a PID and kills that process when the
// test ends.
func WaitPIDFile(t testing.TB, path string) int {
	t.Helper()
	var pid int
	Eventually(t, "a PID in "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// Eventually polls cond until it holds, failing the test after a generous
// bound.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Quote quotes s for a POSIX shell.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Start starts cmd in its own process group and, when the test ends, kills
// the group and reaps cmd.
func Start(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if !cmd.SysProcAttr.Setsid {
		cmd.SysProcAttr.Setpgid = true
	}
	// A grandchild that outlives the tree may hold a copied output pipe;
	// Wait must not hang on it.
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 2 * time.Second
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	Reap(t, cmd)
}

// Reap kills cmd's process group when the test ends and waits for cmd.
func Reap(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}
