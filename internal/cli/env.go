package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/config"
	"github.com/hush-dev/hush/internal/secret"
)

// settings are the resolved paths and config.toml.
type settings struct {
	paths config.Paths
	cfg   *config.Config
}

func loadSettings() (*settings, error) {
	paths, err := config.DefaultPaths()
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(paths.ConfigFile)
	if err != nil {
		return nil, err
	}
	return &settings{paths: paths, cfg: cfg}, nil
}

// dial connects to the daemon, starting one when none answers unless
// HUSH_NO_AUTOSTART=1 (as gpg-agent does).
func (a *app) dial(ctx context.Context, s *settings) (*client.Client, error) {
	opts := []client.Option{client.WithSocket(s.paths.Socket)}
	if os.Getenv("HUSH_NO_AUTOSTART") != "1" {
		if s.cfg.Backend == "" || s.cfg.Backend == "file" {
			// A daemon without a vault cannot start; say so now rather than
			// after an autostart timeout.
			if _, err := os.Stat(s.paths.Vault); errors.Is(err, os.ErrNotExist) {
				if c, err := client.Dial(ctx, opts...); err == nil {
					return c, nil
				}
				return nil, fmt.Errorf("%w: no vault at %s: run 'hush init' first", client.ErrUnreachable, s.paths.Vault)
			}
		}
		exe, err := selfExecutable()
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithAutostart(exe, "daemon"), client.WithLogFile(s.paths.LogFile))
		c, err := client.Dial(ctx, opts...)
		if err != nil {
			if why := daemonFailure(s.paths.LogFile); why != "" {
				err = fmt.Errorf("%w; the daemon said: %s", err, why)
			}
		}
		return c, err
	}
	return client.Dial(ctx, opts...)
}

// daemonFailure is the last error an auto-started daemon printed before it
// exited (its "hush: …" line), so a corrupt vault or a held lock reads as
// what it is rather than as "unreachable".
func daemonFailure(logFile string) string {
	b, err := os.ReadFile(logFile)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if last := lines[len(lines)-1]; strings.HasPrefix(last, "hush: ") {
		return strings.TrimPrefix(last, "hush: ")
	}
	return ""
}

// selfExecutable is the binary to re-run for autostart: the path we were
// started as (so a test harness's command wrapper keeps working), else the
// resolved executable.
func selfExecutable() (string, error) {
	if arg0 := os.Args[0]; strings.ContainsRune(arg0, filepath.Separator) {
		return filepath.Abs(arg0)
	} else if p, err := exec.LookPath(arg0); err == nil && filepath.Base(arg0) == "hush" {
		return filepath.Abs(p)
	}
	return os.Executable()
}

// isTerminal reports whether r is a terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readValue reads a secret value: from a no-echo prompt when stdin is a
// terminal, else all of stdin with exactly one trailing line end (\n or
// \r\n) removed (so `echo value | hush set NAME` stores "value", and a
// value that really ends in newlines keeps all but the one the pipe added).
func (a *app) readValue(name string) ([]byte, error) {
	if isTerminal(a.stdin) {
		fmt.Fprintf(a.stderr, "Value for %s (input hidden): ", name)
		v, err := term.ReadPassword(int(a.stdin.(*os.File).Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return nil, fmt.Errorf("reading value: %w", err)
		}
		return v, nil
	}
	v, err := io.ReadAll(io.LimitReader(a.stdin, secret.MaxValueSize+2))
	if err != nil {
		return nil, fmt.Errorf("reading value from stdin: %w", err)
	}
	// The line end a pipe added: \n, or \r\n from Windows tools.
	if t, ok := bytes.CutSuffix(v, []byte("\r\n")); ok {
		v = t
	} else {
		v = bytes.TrimSuffix(v, []byte("\n"))
	}
	if len(v) > secret.MaxValueSize {
		return nil, fmt.Errorf("%w: %s: value is over the %d KiB limit", secret.ErrInvalidValue, name, secret.MaxValueSize>>10)
	}
	return v, nil
}

// readPassphrase reads a passphrase from a no-echo prompt, or the first line
// of stdin when stdin is not a terminal.
func (a *app) readPassphrase(prompt string, confirm bool) ([]byte, error) {
	if isTerminal(a.stdin) {
		fd := int(a.stdin.(*os.File).Fd())
		fmt.Fprint(a.stderr, prompt)
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return nil, fmt.Errorf("reading passphrase: %w", err)
		}
		if confirm {
			fmt.Fprint(a.stderr, "Again: ")
			q, err := term.ReadPassword(fd)
			fmt.Fprintln(a.stderr)
			if err != nil {
				return nil, fmt.Errorf("reading passphrase: %w", err)
			}
			if !bytes.Equal(p, q) {
				return nil, usagef("the passphrases differ; nothing was changed")
			}
		}
		return p, nil
	}
	line, err := bufio.NewReader(a.stdin).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading passphrase from stdin: %w", err)
	}
	return bytes.TrimRight(line, "\r\n"), nil
}
