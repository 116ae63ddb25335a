// Package clip puts a secret on a person's clipboard for `hush get --clip`
// and takes it off again after a while, unless something else was copied
// meanwhile.
//
// The value reaches the clipboard tool (wl-copy, xclip, xsel, pbcopy) on
// its standard input, never in its arguments. On Wayland and X11 the
// clipboard is served by the process that owns the selection, so hush runs
// the tool in the foreground under `timeout`, in a session of its own that
// outlives the hush command: when the time is up the tool is stopped and
// the selection goes with it, and if someone copies something else first
// the tool loses the selection and exits by itself, so their copy is never
// touched. macOS's pasteboard keeps data on its own, so there a detached
// shell compares the pasteboard with the value's hash and clears only a
// match.
package clip

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultClearAfter is how long a copied secret stays on the clipboard.
const DefaultClearAfter = 30 * time.Second

// ErrNoClipboard: there is no clipboard this process can reach.
var ErrNoClipboard = errors.New("no clipboard")

// Options tune Copy. The zero value detects the tool and clears after
// DefaultClearAfter.
type Options struct {
	// ClearAfter is how long the value stays (default DefaultClearAfter).
	ClearAfter time.Duration
	// Tool forces one of "wl-copy", "xclip", "xsel", "pbcopy".
	Tool string
	// Env is the environment the display is found in (default: this
	// process's). Only the variables a clipboard tool needs are passed on.
	Env []string
}

// Result says what Copy did, for the confirmation line.
type Result struct {
	Tool    string
	ClearAt time.Time
}

// tool is how one clipboard program copies (in the foreground, so its
// lifetime is the selection's) and pastes.
type tool struct {
	name  string
	copy  []string
	paste []string
	// display is the variable that must be set for the tool to work.
	display string
}

var tools = map[string]tool{
	"wl-copy": {"wl-copy", []string{"wl-copy", "--foreground"}, []string{"wl-paste", "--no-newline"}, "WAYLAND_DISPLAY"},
	"xclip":   {"xclip", []string{"xclip", "-quiet", "-in", "-selection", "clipboard"}, []string{"xclip", "-out", "-selection", "clipboard"}, "DISPLAY"},
	"xsel":    {"xsel", []string{"xsel", "--nodetach", "--input", "--clipboard"}, []string{"xsel", "--output", "--clipboard"}, "DISPLAY"},
	"pbcopy":  {"pbcopy", []string{"pbcopy"}, []string{"pbpaste"}, ""},
}

// passEnv is what a clipboard tool needs to find the display; nothing else
// from the caller's environment (which may hold secrets of its own) goes
// along.
var passEnv = []string{"PATH", "HOME", "DISPLAY", "XAUTHORITY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "LANG", "LC_ALL", "LC_CTYPE"}

func lookup(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

func toolEnv(env []string) []string {
	var out []string
	for _, k := range passEnv {
		if v := lookup(env, k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// choose picks the clipboard for this session: Wayland, then X11, then
// macOS.
func choose(env []string, forced string) (tool, error) {
	if forced != "" {
		t, ok := tools[forced]
		if !ok {
			return tool{}, fmt.Errorf("clip: unknown clipboard tool %q (known: wl-copy, xclip, xsel, pbcopy)", forced)
		}
		for _, bin := range []string{t.copy[0], t.paste[0]} {
			if _, err := exec.LookPath(bin); err != nil {
				return tool{}, fmt.Errorf("clip: %w: %s is not installed", ErrNoClipboard, bin)
			}
		}
		return t, nil
	}
	if runtime.GOOS == "darwin" {
		return tools["pbcopy"], nil
	}
	var tried []string
	for _, name := range []string{"wl-copy", "xclip", "xsel"} {
		t := tools[name]
		if lookup(env, t.display) == "" {
			continue
		}
		if _, err := exec.LookPath(t.copy[0]); err == nil {
			if _, err := exec.LookPath(t.paste[0]); err == nil {
				return t, nil
			}
		}
		tried = append(tried, name)
	}
	if lookup(env, "WAYLAND_DISPLAY") == "" && lookup(env, "DISPLAY") == "" {
		return tool{}, fmt.Errorf("clip: %w: neither WAYLAND_DISPLAY nor DISPLAY is set, so this is not a graphical session; use `hush get` without --clip", ErrNoClipboard)
	}
	return tool{}, fmt.Errorf("clip: %w: install wl-clipboard (Wayland) or xclip or xsel (X11); tried %s", ErrNoClipboard, strings.Join(tried, ", "))
}

// Copy puts value on the clipboard and arranges for it to be cleared after
// opts.ClearAfter unless replaced. It returns once the clipboard reads
// back exactly value.
func Copy(ctx context.Context, value []byte, opts Options) (Result, error) {
	if opts.ClearAfter <= 0 {
		opts.ClearAfter = DefaultClearAfter
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	t, err := choose(opts.Env, opts.Tool)
	if err != nil {
		return Result{}, err
	}
	env := toolEnv(opts.Env)
	res := Result{Tool: t.name, ClearAt: time.Now().Add(opts.ClearAfter)}
	if t.name == "pbcopy" {
		return res, copyMac(ctx, t, value, env, opts.ClearAfter)
	}
	if _, err := exec.LookPath("timeout"); err != nil {
		return Result{}, errors.New("clip: timeout(1) from coreutils is needed to clear the clipboard, and it is not installed")
	}

	// timeout(1) ends the tool, and with it the selection, when the time
	// is up. Setsid keeps it alive after hush exits and away from the
	// terminal's hangup.
	secs := strconv.FormatFloat(opts.ClearAfter.Seconds(), 'f', 3, 64)
	cmd := exec.Command("timeout", append([]string{secs}, t.copy...)...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdin = bytes.NewReader(value)
	// Not a pipe: the tool outlives hush, and a write to a pipe nobody
	// reads any more would kill it (SIGPIPE) and empty the clipboard early.
	errFile, err := os.CreateTemp("", "hush-clip-*.err")
	if err != nil {
		return Result{}, fmt.Errorf("clip: %w", err)
	}
	defer os.Remove(errFile.Name())
	defer errFile.Close()
	cmd.Stderr = errFile
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("clip: start %s: %w", t.name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	complaint := func() string {
		b := make([]byte, 512)
		n, _ := errFile.ReadAt(b, 0)
		return strings.Join(strings.Fields(string(b[:n])), " ")
	}

	// The tool needs a moment to read its input and claim the selection;
	// until the clipboard reads back the value the copy has not happened.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, perr := paste(ctx, t, env)
		if perr == nil && bytes.Equal(got, value) {
			return res, nil
		}
		select {
		case err := <-exited:
			return Result{}, fmt.Errorf("clip: %s exited before the clipboard held the value: %v %s", t.name, err, complaint())
		case <-ctx.Done():
			cmd.Process.Kill()
			return Result{}, fmt.Errorf("clip: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return Result{}, fmt.Errorf("clip: the clipboard did not take the value from %s", t.name)
		}
	}
}

// Paste returns what the clipboard holds now, with the tool Copy would
// use. It is for tests and for checking a copy; hush never prints it.
func Paste(ctx context.Context, opts Options) ([]byte, error) {
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	t, err := choose(opts.Env, opts.Tool)
	if err != nil {
		return nil, err
	}
	return paste(ctx, t, toolEnv(opts.Env))
}

func paste(ctx context.Context, t tool, env []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.paste[0], t.paste[1:]...)
	cmd.Env = env
	return cmd.Output()
}

func copyMac(ctx context.Context, t tool, value []byte, env []string, after time.Duration) error {
	cmd := exec.CommandContext(ctx, t.copy[0], t.copy[1:]...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(value)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("clip: pbcopy: %v %s", err, bytes.TrimSpace(out))
	}
	got, err := paste(ctx, t, env)
	if err != nil || !bytes.Equal(got, value) {
		return fmt.Errorf("clip: the pasteboard did not take the value")
	}
	// The hash, not the value, waits in the detached shell: it can only
	// tell whether the pasteboard still holds what hush put there.
	sum := sha256.Sum256(value)
	// The hash travels in the environment, which only this user can read,
	// not in argv, which every user can.
	script := `sleep "$1"; [ "$(pbpaste | shasum -a 256)" = "$HUSH_CLIP_SUM  -" ] && pbcopy </dev/null`
	clear := exec.Command("sh", "-c", script, "hush-clip-clear", strconv.FormatFloat(after.Seconds(), 'f', 3, 64))
	clear.Env = append(env, "HUSH_CLIP_SUM="+hex.EncodeToString(sum[:]))
	clear.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := clear.Start(); err != nil {
		return fmt.Errorf("clip: arrange the clearing: %w", err)
	}
	go clear.Wait()
	return nil
}
