// Package run starts a command with secrets in its environment and masks
// them in what it prints (`hush run`).
//
// The child is started directly, never through a shell, and values go only
// into its environment, never into argv where `ps` shows them. Injected
// variables replace inherited ones of the same name unless PreserveEnv is
// set (field case R1). Exit codes pass through; a child killed by a signal
// gives 128+signal, as shells report it. SIGINT, SIGTERM and SIGHUP sent to
// hush are forwarded to the child. On Linux a child whose hush dies without
// a chance to forward anything (SIGKILL, a crash) gets SIGTERM from the
// kernel (the parent-death signal). That covers the child, not what it
// starts in turn: a process bent on outliving hush can fork away from it.
//
// When Stdout is a terminal the child runs under a pseudo-terminal of its
// own, so it still sees a terminal (colours, progress bars, TUIs) while its
// output passes through the masker (R4). The window size is copied and kept
// up to date on SIGWINCH; if Stdin is the terminal too it is put in raw mode
// and its keystrokes pass to the child's terminal, so ^C reaches the child
// the way it would without hush.
package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hush-dev/hush/internal/mask"
	"github.com/hush-dev/hush/internal/secret"
)

// ErrNoCommand is returned when Argv is empty.
var ErrNoCommand = errors.New("no command to run")

// Errors for a command that did not start: not found (ExitNotFound), or
// found but not executable (ExitCannotRun). Callers that exit with Run's
// code map these, as shells and env(1) do, to 127 and 126, which a command
// of its own rarely exits with.
var (
	ErrNotFound      = errors.New("command not found")
	ErrCannotExecute = errors.New("cannot execute")
)

// Exit codes for a command that could not be started, as shells use them.
const (
	ExitCannotRun = 126
	ExitNotFound  = 127
)

const (
	// How long output may keep coming after the child exits, from
	// processes it left running with our pipes or terminal open.
	drainGrace = 500 * time.Millisecond
	// How long the child has to exit after SIGTERM when ctx is done.
	killGrace = 5 * time.Second
)

// Var is one injection: an environment variable and the secret it gets.
// Secret.Name is what masks show (<hush:org/proj/STRIPE_KEY>).
type Var struct {
	Name   string
	Secret secret.Secret
}

// Exported returns a Var for each secret under its variable name, the last
// segment of its name (secret.Exports), in the order given. It fails before
// anything runs if a name is not exportable or two secrets share a
// variable. Pairs from --env VAR=NAME are appended by the caller.
func Exported(secrets []secret.Secret) ([]Var, error) {
	names := make([]string, len(secrets))
	for i, s := range secrets {
		names[i] = s.Name
	}
	vars, err := secret.Exports(names)
	if err != nil {
		return nil, err
	}
	out := make([]Var, len(secrets))
	for i, s := range secrets {
		out[i] = Var{Name: vars[s.Name], Secret: s}
	}
	return out, nil
}

// Options describes one run.
type Options struct {
	// Argv is the command and its arguments; Argv[0] is looked up in the
	// child's PATH.
	Argv []string
	// Vars are the variables to inject, typically every selected secret
	// under its secret.Exports name plus --env VAR=NAME pairs.
	Vars []Var
	// Environ is the environment the child inherits; nil means
	// os.Environ().
	Environ []string
	// PreserveEnv keeps an inherited variable instead of injecting over it.
	PreserveEnv bool
	// Mask replaces secret values in the child's stdout and stderr.
	Mask bool
	// AllowDangerous names variables from secret.Dangerous that may be injected.
	AllowDangerous []string
	// Stdin, Stdout and Stderr are the child's streams; nil means
	// /dev/null. Pass *os.File for the process's own streams: a terminal
	// is only recognised as such.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Log receives warnings (a secret too short to mask); nil discards.
	Log *slog.Logger
	// MaskOptions are passed to mask.New.
	MaskOptions []mask.Option
}

// Run starts the command, waits for it and returns its exit code. The
// error is non-nil only when the command did not run; the code is then
// ExitNotFound if it was not found (the error wraps ErrNotFound) and
// ExitCannotRun otherwise (wrapping ErrCannotExecute when the command was
// found but could not be executed). Refusals
// come before anything starts: a malformed variable name
// (secret.ErrNotExportable), a dangerous one (secret.ErrDangerous), two secrets
// for one variable (secret.ErrCollision), a value the environment cannot
// hold (secret.ErrInvalidValue). Errors name variables and secrets, never
// values.
//
// When ctx is done the child gets SIGTERM, then SIGKILL after a grace
// period. Run forwards SIGINT, SIGTERM and SIGHUP itself, so a caller should
// not cancel ctx on those signals (context.WithoutCancel), or the child
// gets SIGTERM on top of the forwarded signal.
func Run(ctx context.Context, o Options) (int, error) {
	if len(o.Argv) == 0 || o.Argv[0] == "" {
		return ExitCannotRun, ErrNoCommand
	}
	if err := ctx.Err(); err != nil {
		return ExitCannotRun, err
	}
	base := o.Environ
	if base == nil {
		base = os.Environ()
	}
	env, err := Environ(base, o.Vars, o.PreserveEnv, o.AllowDangerous)
	if err != nil {
		return ExitCannotRun, err
	}
	path, err := lookPath(o.Argv[0], env)
	if err != nil {
		code := ExitNotFound
		if errors.Is(err, ErrCannotExecute) {
			code = ExitCannotRun
		}
		return code, err
	}

	var m *mask.Masker
	if o.Mask {
		secrets := make([]secret.Secret, 0, len(o.Vars))
		for _, v := range o.Vars {
			secrets = append(secrets, v.Secret)
		}
		m = mask.New(secrets, o.MaskOptions...)
		if o.Log != nil {
			for _, name := range m.Unmasked() {
				o.Log.Warn(mask.UnmaskedWarning(name))
			}
		}
	}

	c := &child{cmd: &exec.Cmd{Path: path, Args: o.Argv, Env: env, WaitDelay: drainGrace}, mask: m}
	c.cmd.SysProcAttr = &syscall.SysProcAttr{}
	// The child must not outlive hush unsupervised (see dieWithParent);
	// the thread that starts it is the one whose death it follows.
	dieWithParent(c.cmd.SysProcAttr)
	unpin := pinThread()
	defer unpin()
	// Catch the signals before the child exists, so one arriving while it
	// starts is forwarded rather than killing hush.
	sigs := make(chan os.Signal, 8)
	forwarded := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if f, ok := o.Stdout.(*os.File); ok && isTerminal(f) {
		signal.Notify(sigs, syscall.SIGWINCH)
		err = c.startTerminal(f, o.Stdin, o.Stderr)
	} else {
		err = c.startPlain(o.Stdin, o.Stdout, o.Stderr)
	}
	if err != nil {
		c.closeWriters()
		// exec's error repeats the path; the reason is enough after ours.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		switch {
		case errors.Is(err, syscall.ENOENT):
			// The file is there (lookPath saw it): its #! interpreter is not.
			return ExitNotFound, fmt.Errorf("%q: %w: its #! interpreter does not exist", o.Argv[0], ErrNotFound)
		case errors.Is(err, syscall.ENOEXEC):
			return ExitCannotRun, fmt.Errorf("%q: %w: not a program the system can run (a script needs a #! line; or run it with sh)", o.Argv[0], ErrCannotExecute)
		}
		return ExitCannotRun, fmt.Errorf("%q: %w: %w", o.Argv[0], ErrCannotExecute, err)
	}

	done := make(chan struct{})
	go c.relay(ctx, sigs, done)
	waitErr := c.cmd.Wait()
	close(done)
	if c.term != nil {
		c.term.finish()
	}
	c.closeWriters()
	if c.term != nil {
		c.term.restoreInput()
	}
	if c.cmd.ProcessState == nil {
		return ExitCannotRun, waitErr
	}
	// Errors writing our own output (a reader that went away, as with
	// `| head`) are the child's business: it got EPIPE and its exit code
	// says what it made of it.
	return exitCode(c.cmd.ProcessState), nil
}

// child is a started command and what must be cleaned up after it.
type child struct {
	cmd     *exec.Cmd
	mask    *mask.Masker // nil when not masking
	writers []io.Closer  // maskers to flush once the child is gone
	term    *terminal    // nil unless running under a pty
}

// masked wraps w in a masking writer when masking is on.
func (c *child) masked(w io.Writer) io.Writer {
	if w == nil || c.mask == nil {
		return w
	}
	mw := c.mask.Writer(w)
	c.writers = append(c.writers, mw)
	return mw
}

func (c *child) closeWriters() {
	for _, w := range c.writers {
		_ = w.Close()
	}
}

// startPlain starts the child with our streams: passed through as they are
// when no masking is needed, else through pipes and the masker.
func (c *child) startPlain(stdin io.Reader, stdout, stderr io.Writer) error {
	c.cmd.Stdin = stdin
	c.cmd.Stdout = c.masked(stdout)
	if sameWriter(stdout, stderr) {
		// One masker for both keeps exec's promise of one writer at a
		// time, and masks a secret split between the two streams.
		c.cmd.Stderr = c.cmd.Stdout
	} else {
		c.cmd.Stderr = c.masked(stderr)
	}
	return c.cmd.Start()
}

// sameWriter compares two writers without panicking on types that cannot
// be compared.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() { _ = recover() }()
	return a != nil && a == b
}

// relay forwards signals to the child until done, and stops it when ctx
// ends: SIGTERM first, SIGKILL if it is still there after killGrace.
func (c *child) relay(ctx context.Context, sigs <-chan os.Signal, done <-chan struct{}) {
	p := c.cmd.Process
	ctxDone := ctx.Done()
	var kill <-chan time.Time
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			if s == syscall.SIGWINCH {
				c.term.resize()
				continue
			}
			_ = p.Signal(s)
		case <-ctxDone:
			ctxDone = nil
			_ = p.Signal(syscall.SIGTERM)
			t := time.NewTimer(killGrace)
			defer t.Stop()
			kill = t.C
		case <-kill:
			_ = p.Kill()
		}
	}
}

// Environ returns base with vars injected: an injected variable replaces
// every inherited entry of the same name, unless preserve is set and base
// already has it. It fails, naming the variable and secret, on a name that
// is not a valid variable, a name in secret.Dangerous not listed in allow, two
// different secrets for one variable, or a value with a NUL byte.
func Environ(base []string, vars []Var, preserve bool, allow []string) ([]string, error) {
	chosen := map[string]Var{}
	var order []string
	for _, v := range vars {
		if !validVarName(v.Name) {
			return nil, fmt.Errorf("%w: variable %s for secret %s must match %s",
				secret.ErrNotExportable, secret.Quote(v.Name), secret.Quote(v.Secret.Name), `^[A-Za-z_][A-Za-z0-9_]*$`)
		}
		if secret.IsDangerous(v.Name) && !slices.Contains(allow, v.Name) {
			return nil, fmt.Errorf("%w %s (secret %q); pass --allow-dangerous %s if you mean it",
				secret.ErrDangerous, v.Name, v.Secret.Name, v.Name)
		}
		if slices.Contains(v.Secret.Value, 0) {
			return nil, fmt.Errorf("%w: secret %q contains a NUL byte and cannot be put in the environment",
				secret.ErrInvalidValue, v.Secret.Name)
		}
		if prev, ok := chosen[v.Name]; ok {
			if prev.Secret.Name != v.Secret.Name {
				return nil, fmt.Errorf("%w: %q and %q both set %s", secret.ErrCollision, prev.Secret.Name, v.Secret.Name, v.Name)
			}
			continue
		}
		chosen[v.Name] = v
		order = append(order, v.Name)
	}
	inherited := map[string]bool{}
	env := make([]string, 0, len(base)+len(order))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		inherited[name] = true
		if _, ok := chosen[name]; ok && !preserve {
			continue
		}
		env = append(env, kv)
	}
	for _, name := range order {
		if preserve && inherited[name] {
			continue
		}
		env = append(env, name+"="+string(chosen[name].Secret.Value))
	}
	return env, nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// lookPath finds file in the PATH of the child's environment, which is
// where a shell running the command would look.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, executable(file)
	}
	pathVar, found := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar, found = v, true
		}
	}
	if !found {
		p, err := exec.LookPath(file)
		if err != nil {
			return "", fmt.Errorf("%q: %w in PATH", file, ErrNotFound)
		}
		return p, nil
	}
	var denied error
	relative := ""
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" || !filepath.IsAbs(dir) {
			// "." or a relative entry: never run from the current
			// directory implicitly (as Go's exec.ErrDot), but say so.
			if relative == "" && executable(filepath.Join(dir, file)) == nil {
				relative = cmp.Or(dir, ".")
			}
			continue
		}
		p := filepath.Join(dir, file)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, ErrCannotExecute) && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	if relative != "" {
		return "", fmt.Errorf("%q: %w in PATH's absolute directories; it is in the relative entry %q, which hush does not search: give its path (./%s)", file, ErrNotFound, relative, filepath.Join(relative, file))
	}
	return "", fmt.Errorf("%q: %w in PATH", file, ErrNotFound)
}

// executable checks p the way exec will: ErrNotFound when nothing is
// there, ErrCannotExecute when it is a directory, has no execute bit, or
// cannot be looked at.
func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%q: %w", p, ErrNotFound)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%q: %w: %w", p, ErrCannotExecute, err)
	case fi.IsDir():
		return fmt.Errorf("%q: %w: it is a directory", p, ErrCannotExecute)
	case fi.Mode()&0o111 == 0:
		return fmt.Errorf("%q: %w: %w", p, ErrCannotExecute, fs.ErrPermission)
	}
	return nil
}

// exitCode returns the child's exit status the way a shell reports it.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
