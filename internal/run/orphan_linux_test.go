package run_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"github.com/hush-dev/hush/internal/proctree/proctreetest"
	"github.com/hush-dev/hush/internal/run"
)

// TestMain lets the test binary play `hush run`: with HUSH_RUN_HELPER_ARGV
// set it runs that command through run.Run with its own streams and exits
// with the code, so a test can kill it like a real hush.
func TestMain(m *testing.M) {
	encoded := os.Getenv("HUSH_RUN_HELPER_ARGV")
	if encoded == "" {
		os.Exit(m.Run())
	}
	var argv []string
	if err := json.Unmarshal([]byte(encoded), &argv); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	code, err := run.Run(context.Background(), run.Options{
		Argv: argv, Environ: []string{"PATH=/usr/bin:/bin"},
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Mask: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
	}
	os.Exit(code)
}

// A hush that is killed outright cannot forward anything; its child must
// not keep running unsupervised.
func TestChildDoesNotOutliveAKilledHush(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
	}{
		{"a child on plain pipes is stopped", false},
		// The pty's hangup would stop it, but this child ignores SIGHUP.
		{"a child under a terminal that ignores the hangup is stopped", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "child.pid")
			script := `trap '' HUP; echo $$ > "$1.tmp" && mv "$1.tmp" "$1" && exec sleep 600`
			argv, err := json.Marshal([]string{"sh", "-c", script, "sh", pidFile})
			if err != nil {
				t.Fatal(err)
			}
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			hush := exec.Command(exe)
			hush.Env = append(cleanEnv(t), "HUSH_RUN_HELPER_ARGV="+string(argv))
			if tc.terminal {
				master, tty, err := pty.Open()
				if err != nil {
					t.Fatal(err)
				}
				defer tty.Close()
				t.Cleanup(func() { master.Close() })
				go func() { _, _ = io.Copy(io.Discard, master) }()
				hush.Stdout, hush.Stderr = tty, tty
			}
			proctreetest.Start(t, hush)

			pid := proctreetest.WaitPIDFile(t, pidFile)
			var start string
			proctreetest.Eventually(t, "the child to exec sleep", func() bool {
				var comm string
				comm, _, start = procStat(pid)
				return comm == "sleep"
			})
			if err := hush.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = hush.Wait()
			proctreetest.Eventually(t, "the child to die with hush", func() bool {
				comm, state, now := procStat(pid)
				// Gone, a zombie nobody reaped yet, or its PID already reused.
				return comm == "" || state == "Z" || now != start
			})
		})
	}
}

// procStat returns comm, state and start time of pid from /proc/PID/stat,
// all empty once the process is gone.
func procStat(pid int) (comm, state, start string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", "", ""
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", "", ""
	}
	fields := strings.Fields(s[closing+1:])
	if len(fields) < 20 {
		return "", "", ""
	}
	// proc(5): state is field 3, starttime field 22.
	return s[open+1 : closing], fields[0], fields[19]
}
