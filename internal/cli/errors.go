package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/dotenv"
	"github.com/hush-dev/hush/internal/run"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
)

// exitCode maps the error contracts of the packages below to exit codes, in
// one place.
func exitCode(err error) int {
	var ee *exitError
	var le *dotenv.LineError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &le):
		return ExitInvalid
	case errors.Is(err, store.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, secret.ErrInvalidName),
		errors.Is(err, secret.ErrDangerous),
		errors.Is(err, secret.ErrInvalidValue),
		errors.Is(err, secret.ErrNotExportable),
		errors.Is(err, secret.ErrCollision):
		return ExitInvalid
	case errors.Is(err, client.ErrUnreachable):
		return ExitUnreachable
	case errors.Is(err, store.ErrLocked), errors.Is(err, store.ErrBadPassphrase):
		return ExitLocked
	case errors.Is(err, client.ErrDenied):
		return ExitDenied
	case errors.Is(err, run.ErrNoCommand):
		return ExitUsage
	case errors.Is(err, run.ErrNotFound):
		return run.ExitNotFound
	case errors.Is(err, run.ErrCannotExecute):
		return run.ExitCannotRun
	case errors.Is(err, context.Canceled):
		return 130
	}
	return ExitFailure
}

// message is the one line a person reads: the error, plus what to do when
// the error does not already say it.
func message(err error) string {
	msg := strings.TrimSpace(err.Error())
	// Keep it to one line whatever a lower layer produced (errors.Join
	// separates its errors with newlines).
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
	hint := ""
	switch {
	case errors.Is(err, store.ErrNotFound):
		hint = "see 'hush ls'"
	case errors.Is(err, store.ErrLocked):
		hint = "a person can run 'hush unlock'"
	case errors.Is(err, store.ErrBadPassphrase):
		hint = "try again"
	}
	if hint != "" && !strings.Contains(msg, hint) {
		msg += " (" + hint + ")"
	}
	return msg
}
