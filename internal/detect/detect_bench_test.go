//go:build linux

package detect_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/proctree/proctreetest"
)

// BenchmarkClassifyCaller measures the caller-chain walk and verdict for the
// two common callers, each a real process below this one in its own
// session: a person's command at a terminal, where every signal must be
// consulted (chain names, environments, the scan of /proc for the
// terminal's session), and an agent's command, decided by its parent's
// name. The walk stops at this process (WithRoot), so the figures do not
// depend on who runs the benchmark; a real chain is a few processes deeper.
func BenchmarkClassifyCaller(b *testing.B) {
	for _, tc := range []struct {
		name     string
		argv0    string
		terminal bool
		want     detect.Kind
	}{
		{"a person at a terminal", "sh", true, detect.Person},
		{"an agent's command", "claude", false, detect.Agent},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			caller := proctreetest.NewCaller(b, dir)
			cmd := exec.Command("/bin/sh", "-c", caller.Command+"; true")
			cmd.Args[0] = tc.argv0
			cmd.Env = proctreetest.CleanEnv(dir)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if tc.terminal {
				ptmx, tty, err := pty.Open()
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = ptmx.Close() })
				go func() { _, _ = io.Copy(io.Discard, ptmx) }()
				cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
				cmd.SysProcAttr.Setctty = true
				defer tty.Close()
			}
			proctreetest.Start(b, cmd)
			pid := caller.Wait(b)

			d := detect.New(detect.WithRoot(os.Getpid()))
			ctx := context.Background()
			for b.Loop() {
				v, _, err := d.Classify(ctx, pid)
				if err != nil {
					b.Fatal(err)
				}
				if v.Kind != tc.want {
					b.Fatalf("verdict %s by %q, want %s", v.Kind, v.Signal, tc.want)
				}
			}
		})
	}
}
