package clip_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/clip"
	"github.com/hush-dev/hush/internal/proctree/proctreetest"
)

// xvfb starts a private X server and returns the environment that reaches
// it. Xvfb picks a free display and reports it on fd 3.
func xvfb(t *testing.T) []string {
	t.Helper()
	proctreetest.Tool(t, "Xvfb", "xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "320x240x24")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// SIGTERM lets Xvfb remove its socket and lock file, so the next
	// server that picks the same display number starts clean.
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb reported no display: %v", err)
	}
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DISPLAY=:" + strings.TrimSpace(line)}
}

// eventually polls cond until it holds or a generous deadline passes; the
// deadline only stops a broken test from hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never: %s", what)
}

func TestClipboardUnderX11(t *testing.T) {
	for _, tool := range []struct{ name, pkg string }{{"xclip", "xclip"}, {"xsel", "xsel"}} {
		t.Run(tool.name, func(t *testing.T) {
			proctreetest.Tool(t, tool.name, tool.pkg)
			proctreetest.Tool(t, "timeout", "coreutils")
			env := xvfb(t)
			ctx := context.Background()
			opts := clip.Options{Tool: tool.name, Env: env, ClearAfter: time.Minute}
			pasted := func() []byte {
				v, err := clip.Paste(ctx, opts)
				if err != nil {
					return nil
				}
				return v
			}

			values := []struct {
				name  string
				value []byte
			}{
				{"a key with shell characters", []byte("data$extra#tail it's `x` \"y\" \\z")},
				{"a PEM block over three lines", []byte("-----BEGIN KEY-----\nAAAA\n-----END KEY-----")},
				{"a value ending in two newlines", []byte("sk_test_FAKE\n\n")},
				{"a value ending in two spaces", []byte("sk_test_FAKE  ")},
				{"a UTF-8 value", []byte("pässwörd-ключ-🔑")},
			}
			for _, v := range values {
				t.Run("the clipboard holds "+v.name+" byte-exact", func(t *testing.T) {
					res, err := clip.Copy(ctx, v.value, opts)
					if err != nil {
						t.Fatal(err)
					}
					if res.Tool != tool.name {
						t.Errorf("Tool = %q", res.Tool)
					}
					if got := pasted(); !bytes.Equal(got, v.value) {
						t.Fatalf("clipboard holds %d bytes, want %d", len(got), len(v.value))
					}
				})
			}

			t.Run("the value is in no process's arguments", func(t *testing.T) {
				secret := []byte("sk_test_ARGV_CANARY_7f3a")
				if _, err := clip.Copy(ctx, secret, opts); err != nil {
					t.Fatal(err)
				}
				cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
				for _, f := range cmdlines {
					if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, secret) {
						t.Fatalf("%s holds the value", f)
					}
				}
			})

			t.Run("the clipboard is empty after the timeout", func(t *testing.T) {
				short := opts
				short.ClearAfter = time.Second
				if _, err := clip.Copy(ctx, []byte("gone-soon"), short); err != nil {
					t.Fatal(err)
				}
				eventually(t, "the clipboard emptied", func() bool { return len(pasted()) == 0 })
			})

			t.Run("a later copy by someone else is not cleared", func(t *testing.T) {
				short := opts
				short.ClearAfter = time.Second
				res, err := clip.Copy(ctx, []byte("ours"), short)
				if err != nil {
					t.Fatal(err)
				}
				// Another program copies, as a person would from an editor.
				// xclip forks a child that keeps serving the selection, so
				// no pipe of ours may be its stdout or stderr.
				other := exec.Command("xclip", "-in", "-selection", "clipboard")
				other.Env = env
				other.Stdin = strings.NewReader("theirs")
				if err := other.Run(); err != nil {
					t.Fatalf("xclip: %v", err)
				}
				eventually(t, "their copy showed", func() bool { return string(pasted()) == "theirs" })
				// Past the moment hush would clear, with room to spare.
				time.Sleep(time.Until(res.ClearAt) + 1500*time.Millisecond)
				if got := pasted(); string(got) != "theirs" {
					t.Fatalf("their copy was replaced: %q", got)
				}
			})
		})
	}
}

func TestNoClipboard(t *testing.T) {
	cases := []struct {
		name string
		opts clip.Options
		want string
	}{
		{"a session without a display says so", clip.Options{Env: []string{"PATH=" + os.Getenv("PATH")}}, "not a graphical session"},
		{"an unknown tool is named", clip.Options{Tool: "xcopy", Env: []string{"DISPLAY=:0"}}, `unknown clipboard tool "xcopy"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := clip.Copy(context.Background(), []byte("v"), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Copy = %v", err)
			}
			if c.opts.Tool == "" && !errors.Is(err, clip.ErrNoClipboard) {
				t.Fatalf("not ErrNoClipboard: %v", err)
			}
		})
	}
}
