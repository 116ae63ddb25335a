package approve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hush-dev/hush/internal/termtext"
)

// Command asks by running a program: exit status 0 approves, any other
// declines. fprintd-verify (a fingerprint), `zenity --question` or a
// script of one's own fit.
//
// The program learns what is asked from HUSH_APPROVAL_DESCRIPTION,
// HUSH_APPROVAL_WHO, HUSH_APPROVAL_TARGET, HUSH_APPROVAL_CHAIN and
// HUSH_APPROVAL_RULE in its environment, and from {description} or
// {target} in its arguments, which are replaced. None of them ever holds a
// value.
type Command struct {
	// Argv is the program and its arguments.
	Argv []string
	// Env is the program's environment before the HUSH_APPROVAL_
	// variables; nil passes on the daemon's display, session bus, locale
	// and PATH, and nothing else.
	Env []string
}

var _ Approver = (*Command)(nil)

// Approve runs the program; it is killed when ctx ends, together with
// every process it started that is still in its process group.
func (c *Command) Approve(ctx context.Context, r Request) error {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return errors.New("approval command: no program given")
	}
	argv := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		argv[i] = strings.NewReplacer("{description}", r.Description(), "{target}", r.Target).Replace(a)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	ownGroup(cmd)
	env := c.Env
	if env == nil {
		env = displayEnv(os.Environ())
	}
	cmd.Env = append(append([]string(nil), env...),
		"HUSH_APPROVAL_DESCRIPTION="+r.Description(),
		"HUSH_APPROVAL_WHO="+termtext.Escape(r.Who),
		"HUSH_APPROVAL_TARGET="+termtext.Escape(r.Target),
		"HUSH_APPROVAL_CHAIN="+termtext.Escape(r.Chain),
		"HUSH_APPROVAL_RULE="+termtext.Escape(r.Rule),
	)
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %s did not finish", ErrTimeout, argv[0])
		}
		return ctxErr
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		return fmt.Errorf("%w: %s exited with status %d", ErrDenied, argv[0], exit.ExitCode())
	}
	return fmt.Errorf("approval command: %w", err)
}
