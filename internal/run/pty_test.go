package run_test

import (
	"context"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/hush-dev/hush/internal/run"
)

// parentTerminal makes a pty to stand for the terminal hush runs in: the
// test holds the master (the terminal emulator's side), Run gets the tty.
func parentTerminal(t *testing.T, rows, cols uint16) (master, tty *os.File, screen *syncBuffer) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pty: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	screen = &syncBuffer{}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(screen, master)
	}()
	t.Cleanup(func() {
		tty.Close()
		master.Close()
		<-copied
	})
	return master, tty, screen
}

// R4: with stdout a terminal the child still sees one, masking still
// applies, and the exit code is kept.
func TestUnderATerminal(t *testing.T) {
	_, tty, screen := parentTerminal(t, 33, 101)
	code, err := run.Run(context.Background(), run.Options{
		Argv: []string{"sh", "-c", `test -t 1 && echo stdout-is-a-tty; test -t 2 && echo stderr-is-a-tty; stty size </dev/tty; printf '%s\n' "$TLS_KEY"; echo "$STRIPE_KEY" >&2; exit 5`},
		Vars: []run.Var{stripeVar, pemVar}, Environ: cleanEnv(t, "TERM=xterm-256color"), Mask: true,
		Stdout: tty, Stderr: tty,
	})
	if err != nil || code != 5 {
		t.Fatalf("Run = %d, %v; want exit code 5", code, err)
	}
	want := []string{"stdout-is-a-tty", "stderr-is-a-tty", "33 101", pemMark, keyMark}
	waitFor(t, "the child's output on the terminal", func() bool {
		for _, w := range want {
			if !strings.Contains(screen.String(), w) {
				return false
			}
		}
		return true
	})
	if s := screen.String(); strings.Contains(s, "MIIBOgIBAAJB") || strings.Contains(s, stripe) {
		t.Errorf("a secret reached the terminal: %q", s)
	}
}

// Keystrokes typed on the terminal reach the child, which reads them from
// its own terminal.
func TestTerminalInputReachesTheChild(t *testing.T) {
	master, tty, screen := parentTerminal(t, 24, 80)
	result := make(chan int, 1)
	go func() {
		code, err := run.Run(context.Background(), run.Options{
			Argv:    []string{"sh", "-c", `test -t 0 && echo stdin-is-a-tty; echo ready; read line; echo "got:$line"`},
			Environ: cleanEnv(t), Mask: true, Stdin: tty, Stdout: tty, Stderr: tty,
		})
		if err != nil {
			t.Error(err)
		}
		result <- code
	}()
	waitFor(t, "the child to start", func() bool { return strings.Contains(screen.String(), "ready") })
	if _, err := master.Write([]byte("hello\r")); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-result:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the child did not get the typed line")
	}
	waitFor(t, "the echoed line", func() bool { return strings.Contains(screen.String(), "got:hello") })
	if !strings.Contains(screen.String(), "stdin-is-a-tty") {
		t.Errorf("the child's stdin was not a terminal: %q", screen.String())
	}
}

// A resized terminal (SIGWINCH) is passed on to the child's terminal.
func TestWindowSizeFollowsTheTerminal(t *testing.T) {
	master, tty, screen := parentTerminal(t, 24, 80)
	result := make(chan int, 1)
	go func() {
		code, err := run.Run(context.Background(), run.Options{
			Argv:    []string{"sh", "-c", `trap 'stty size </dev/tty; exit 0' WINCH; echo ready; while :; do sleep 0.01; done`},
			Environ: cleanEnv(t), Mask: true, Stdout: tty, Stderr: tty,
		})
		if err != nil {
			t.Error(err)
		}
		result <- code
	}()
	waitFor(t, "the child to start", func() bool { return strings.Contains(screen.String(), "ready") })
	if err := pty.Setsize(master, &pty.Winsize{Rows: 50, Cols: 132}); err != nil {
		t.Fatal(err)
	}
	// The terminal is not the test's controlling terminal, so send the
	// SIGWINCH a real one would.
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	select {
	case <-result:
	case <-time.After(10 * time.Second):
		t.Fatal("the child never saw the new size")
	}
	waitFor(t, "the new size", func() bool { return strings.Contains(screen.String(), "50 132") })
}

// What reaches the caller's terminal is exactly what the child wrote, with
// each newline translated once: hush neither adds bytes nor translates
// twice, whatever was pending on the terminal and whatever the masker held
// back.
func TestTerminalGetsExactlyTheChildsBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		// typed is what sits in the terminal's input before hush runs.
		typed string
		argv  []string
		want  string
		code  int
	}{
		{
			name: "a line comes out with its newline translated once",
			argv: []string{"sh", "-c", "echo hi"},
			want: "hi\r\n",
		},
		{
			name: "a tail the masker held back until the end is translated once",
			// The start of a secret, long enough to be held until the
			// child is gone.
			argv: []string{"sh", "-c", `printf 'sk_te\n'`},
			want: "sk_te\r\n",
		},
		{
			name:  "an end of input typed before hush ran (script(1) sends one) ends the child's input and echoes nothing",
			typed: "\x04",
			argv:  []string{"sh", "-c", `read line; echo "read:$?:$line"`},
			want:  "read:1:\r\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			master, tty, screen := parentTerminal(t, 24, 80)
			if tc.typed != "" {
				if _, err := master.Write([]byte(tc.typed)); err != nil {
					t.Fatal(err)
				}
				awaitInput(t, tty)
			}
			// Bounded, so that a child that never sees the end of its
			// input fails the test instead of hanging it.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, err := run.Run(ctx, run.Options{
				Argv: tc.argv, Vars: []run.Var{stripeVar}, Environ: cleanEnv(t), Mask: true,
				Stdin: tty, Stdout: tty, Stderr: tty,
			})
			if err != nil || code != tc.code {
				t.Errorf("Run = %d, %v; want exit code %d", code, err, tc.code)
			}
			// Everything Run wrote is on the screen once this mark is.
			const end = "<end>"
			if _, err := tty.Write([]byte(end)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the end mark", func() bool { return strings.Contains(screen.String(), end) })
			if got := strings.TrimSuffix(screen.String(), end); got != tc.want {
				t.Errorf("the terminal got %q, want %q", got, tc.want)
			}
		})
	}
}

// awaitInput waits until the terminal has taken in what the test typed: in
// canonical mode it is readable once a line or an end of input is complete.
func awaitInput(t *testing.T, tty *os.File) {
	t.Helper()
	rc, err := tty.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var perr error
	if err := rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, perr = unix.Poll(fds, 10_000)
	}); err != nil {
		t.Fatal(err)
	}
	if perr != nil || n != 1 {
		t.Fatalf("the terminal never took the typed input: %d, %v", n, perr)
	}
}
