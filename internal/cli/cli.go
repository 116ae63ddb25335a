// Package cli is the hush command line: cobra commands over the client, the
// MCP bridge and the daemon. cmd/hush/main.go only calls Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hush-dev/hush/internal/version"
	"github.com/spf13/cobra"
)

// Exit codes. Each kind of failure has its own, so scripts (and agents) can
// tell "no such secret" from "daemon down" without parsing messages.
const (
	ExitOK          = 0
	ExitFailure     = 1 // anything not listed below
	ExitUsage       = 2 // bad flags or arguments
	ExitNotFound    = 3 // no secret by that name
	ExitInvalid     = 4 // invalid name, value, .env line, or not exportable
	ExitUnreachable = 5 // no daemon answers (and autostart is off or failed)
	ExitLocked      = 6 // vault locked, or wrong passphrase
	ExitDenied      = 7 // refused by policy, or another user's socket
)

// app carries what every command needs: its streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// Main runs hush with args and returns the exit code.
func Main(args []string) int {
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if isCobraUsage(err) {
		err = usageError(fmt.Errorf("%w (see 'hush --help')", err))
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.quiet {
		return ee.code
	}
	code := exitCode(err)
	fmt.Fprintf(a.stderr, "hush: %s\n", message(err))
	return code
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "hush",
		Short: "Hand secrets to AI coding agents without the value entering their context",
		Long: `hush keeps secrets and hands them to AI coding agents so that the value
reaches the agent's process but never its conversation. A person asking gets the
value; an agent gets a line that sources a private, self-deleting script.`,
		Version:       version.String(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(
		a.initCommand(),
		a.setCommand(),
		a.getCommand(),
		a.lsCommand(),
		a.rmCommand(),
		a.importCommand(),
		a.runCommand(),
		a.redactCommand(),
		a.mcpCommand(),
		a.daemonCommand(),
		a.statusCommand(),
		a.unlockCommand(),
		a.lockCommand(),
		a.demoCommand(),
		a.whoamiCommand(),
		a.auditCommand(),
		a.migrateCommand(),
		a.serviceCommand(),
	)
	return root
}

// exitError carries a specific exit code; quiet ones print nothing more
// (the command already said what happened, or the child's code is passed on).
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// isCobraUsage recognises the usage errors cobra makes itself (an unknown
// command, a wrong number of arguments), which carry no type to check.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command ", "accepts ", "requires at least ", "requires at most ", "unknown flag", "unknown shorthand flag"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func usageError(err error) error {
	return &exitError{code: ExitUsage, err: err}
}

func usagef(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// exactArgs is cobra.ExactArgs with our usage exit code and a readable line.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (see 'hush %s --help')", cmd.Name(), what, cmd.Name())
		}
		return nil
	}
}
