//go:build linux

package approve_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/approve"
)

// tool finds a program, failing in CI and skipping elsewhere.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: apt-get install %s", name, pkg)
		}
		t.Skipf("%s not found: apt-get install %s", name, pkg)
	}
	return p
}

// tmux is a private tmux server with one pane that a person types into.
type tmux struct {
	t         *testing.T
	bin, sock string
}

func startTmux(t *testing.T) *tmux {
	t.Helper()
	dir, err := os.MkdirTemp("", "hush-tmux")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &tmux{t: t, bin: tool(t, "tmux", "tmux"), sock: filepath.Join(dir, "s")}
	m.run("new-session", "-d", "-x", "160", "-y", "40", "sleep 600")
	t.Cleanup(func() { _ = exec.Command(m.bin, "-S", m.sock, "kill-server").Run() })
	return m
}

func (m *tmux) run(args ...string) string {
	m.t.Helper()
	cmd := exec.Command(m.bin, append([]string{"-S", m.sock}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "TERM=xterm-256color", "HOME=" + m.t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitFor polls the pane until it shows text after the last line
// holding after, and returns the screen.
func (m *tmux) waitFor(after, text string) string {
	m.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		screen := m.run("capture-pane", "-p", "-S", "-")
		if i := strings.LastIndex(screen, after); i >= 0 && strings.Contains(screen[i:], text) {
			return screen[i:]
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("the pane never showed %q after %q:\n%s", text, after, screen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRealPinentryTTY asks through the real pinentry-tty on a tmux pane
// and answers with keys, as a person would.
func TestRealPinentryTTY(t *testing.T) {
	prog := tool(t, "pinentry-tty", "pinentry-tty")
	m := startTmux(t)
	tty := m.run("display-message", "-p", "#{pane_tty}")
	p := &approve.Pinentry{Program: prog, TTY: tty, Env: []string{"PATH=/usr/bin:/bin", "TERM=xterm-256color", "LANG=C.UTF-8"}}

	for _, tc := range []struct {
		name, key string
		is        error
	}{
		{"a person types a for Allow", "a", nil},
		{"a person types d for Deny", "d", approve.ErrDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := request
			r.Target = "org/prod/" + strings.ToUpper(tc.key) + "_KEY"
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- p.Approve(ctx, r) }()
			// The prompt for this question, not the previous one's.
			screen := m.waitFor(r.Target, "[ad]?")
			for _, want := range []string{request.Chain, request.Rule} {
				if !strings.Contains(screen, want) {
					t.Errorf("the dialog does not show %q:\n%s", want, screen)
				}
			}
			m.run("send-keys", tc.key, "Enter")
			err := <-done
			switch {
			case tc.is == nil && err != nil:
				t.Fatalf("Approve = %v, want approval", err)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Fatalf("Approve = %v, want %v", err, tc.is)
			}
		})
	}
}
