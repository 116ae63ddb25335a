package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

func (a *app) setCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "set NAME",
		Short: "Store a secret (value from stdin or a hidden prompt, never from arguments)",
		Long: `Store a secret under NAME, e.g. org/api/STRIPE_KEY.

The value is read from a hidden prompt when stdin is a terminal, else from
stdin, with exactly one trailing newline removed (so 'echo v | hush set N'
stores "v"). It is never taken from the command line, where ps and shell
history would see it. An empty value is refused; 'hush rm NAME' deletes.`,
		Args: exactArgs(1, "one NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := secret.ValidateName(name); err != nil {
				return err
			}
			value, err := a.readValue(name)
			if err != nil {
				return err
			}
			// The daemon's rules, checked before one is asked (or started).
			if err := secret.ValidateNew(name, value); err != nil {
				return err
			}
			s, err := loadSettings()
			if err != nil {
				return err
			}
			c, err := a.dial(cmd.Context(), s)
			if err != nil {
				return err
			}
			defer c.Close()
			warning, err := c.Set(cmd.Context(), name, value)
			if err != nil {
				return err
			}
			a.warnStored(warning)
			fmt.Fprintf(a.stderr, "hush: stored %s\n", name)
			return nil
		},
	}
}

// warnStored prints the daemon's warning about a value just stored (a
// value too short to be masked, see mask.ShortWarning), if any.
func (a *app) warnStored(fromDaemon string) {
	if fromDaemon != "" {
		fmt.Fprintf(a.stderr, "hush: warning: %s\n", fromDaemon)
	}
}

func (a *app) getCommand() *cobra.Command {
	var prefix, shell string
	var asFile, toClip bool
	var allow []string
	cmd := &cobra.Command{
		Use:   "get NAME | get --prefix PREFIX",
		Short: "Deliver a secret: the value to a person, a handoff line to an agent",
		Long: `Deliver a secret.

A person at a terminal gets the value on stdout (exact bytes; with --prefix,
one 'export NAME='…'' line per secret). An agent, or a caller the daemon
cannot tell apart from one, gets only a line like

  source '/run/user/1000/hush/h-….sh'

or, for a caller whose shell has no source (sh, dash, ksh), the same line
with "." for "source". Sourcing it exports the variable(s) into that shell
and deletes the script. Chain it with the command that needs the secret:
source '…' && deploy.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case prefix != "" && len(args) > 0:
				return usagef("give a NAME or --prefix, not both")
			case prefix == "" && len(args) != 1:
				return usagef("get takes one NAME, or --prefix PREFIX (see 'hush get --help')")
			}
			sh, err := shellFlag(shell)
			if err != nil {
				return err
			}
			s, err := loadSettings()
			if err != nil {
				return err
			}
			c, err := a.dial(cmd.Context(), s)
			if err != nil {
				return err
			}
			defer c.Close()
			var res *client.Result
			if prefix != "" {
				res, err = c.GetPrefix(cmd.Context(), prefix)
			} else {
				res, err = c.Get(cmd.Context(), args[0])
			}
			if err != nil {
				return err
			}
			if res.Delivery == hushv1.Delivery_DELIVERY_PLAINTEXT && toClip {
				if prefix != "" {
					return usagef("--clip copies one secret; give a NAME, not --prefix")
				}
				return a.copyToClipboard(cmd.Context(), s, res.Secrets[0])
			}
			if res.Delivery == hushv1.Delivery_DELIVERY_PLAINTEXT && !asFile {
				return a.printPlain(res, prefix != "")
			}
			line, err := deliver(s, res, sh, handoff.DeliverOptions{
				AsFile:         asFile,
				AllowDangerous: allow,
				Loader:         loader(shell, res.Caller),
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, line)
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "deliver every secret below `PREFIX`")
	cmd.Flags().StringVar(&shell, "shell", "", "the shell that will run the line: sh, dash, ash, ksh, mksh and posh get \". '…'\", bash, zsh, fish and posix \"source '…'\"; fish also gets a fish script (default: for the nearest shell above hush; the line also follows $SHELL when there is none)")
	cmd.Flags().StringArrayVar(&allow, "allow-dangerous", nil, "hand off `NAME` although it is a variable that makes programs run its value (PROMPT_COMMAND, BASH_ENV, …)")
	cmd.Flags().BoolVar(&toClip, "clip", false, "people: copy the value to the clipboard (cleared after clip_clear, 30 s) instead of printing it; agents get the handoff as usual")
	cmd.Flags().BoolVar(&asFile, "as-file", false, "hand off NAME_FILE=<path of a private file holding the value> instead of the value")
	return cmd
}

// printPlain writes values for a person: the exact bytes of one secret, or
// export lines for a prefix.
func (a *app) printPlain(res *client.Result, prefix bool) error {
	if !prefix {
		v := res.Secrets[0].Value
		if _, err := a.stdout.Write(v); err != nil {
			return err
		}
		// At a terminal, end the line so the prompt does not run on after
		// the value (as secret-tool does); a pipe or $(…) gets the exact bytes.
		if isTerminal(a.stdout) && !bytes.HasSuffix(v, []byte("\n")) {
			_, err := io.WriteString(a.stdout, "\n")
			return err
		}
		return nil
	}
	names := make([]string, len(res.Secrets))
	for i, s := range res.Secrets {
		names[i] = s.Name
	}
	envs, err := secret.Exports(names)
	if err != nil {
		return err
	}
	for _, s := range res.Secrets {
		fmt.Fprintf(a.stdout, "export %s=%s\n", envs[s.Name], handoff.Quote(handoff.POSIX, s.Value))
	}
	return nil
}

// shellFlag parses --shell; "" means detect.
func shellFlag(v string) (*handoff.Shell, error) {
	if v == "" {
		return nil, nil
	}
	sh, err := handoff.ParseShell(v)
	if err != nil {
		return nil, usageError(err)
	}
	return &sh, nil
}

// chainNames lists the comm of each process in the caller's chain, nearest
// first.
func chainNames(caller *hushv1.Caller) []string {
	var chain []string
	for _, p := range caller.GetChain() {
		chain = append(chain, p.GetComm())
	}
	return chain
}

// loader picks the command of the line an agent is given: for the shell
// --shell names, else for the shell the caller runs in (the nearest shell
// above hush, else $SHELL), so that a caller in dash, which has no
// `source`, gets `. '…'`.
func loader(shellFlag string, caller *hushv1.Caller) handoff.Loader {
	if shellFlag != "" {
		return handoff.LoaderFor(shellFlag)
	}
	return handoff.LoaderFor(handoff.CallerShell(os.Getenv("SHELL"), chainNames(caller)))
}

// dialect picks the script's dialect: --shell, else fish when the nearest
// shell above hush is fish (the shell that will run the line), else POSIX.
// $SHELL is not consulted here: an agent's tool calls often run bash
// whatever the login shell is, and a fish script fails in bash, while fish
// reads a POSIX script correctly except for values with a newline (its
// export function splits them).
func dialect(sh *handoff.Shell, caller *hushv1.Caller) handoff.Shell {
	if sh != nil {
		return *sh
	}
	return handoff.Detect("", chainNames(caller))
}

// deliver writes the handoff script for res and returns the line to show.
func deliver(s *settings, res *client.Result, sh *handoff.Shell, opts handoff.DeliverOptions) (string, error) {
	if len(res.Secrets) == 0 {
		return "", fmt.Errorf("%w: nothing to deliver", store.ErrNotFound)
	}
	line, _, err := handoff.Deliver(s.paths.RuntimeDir, dialect(sh, res.Caller), res.Secrets, opts)
	return line, err
}

func (a *app) lsCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "ls [PREFIX]",
		Aliases: []string{"list"},
		Short:   "List secret names (never values)",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := ""
			if len(args) == 1 {
				prefix = strings.TrimSuffix(args[0], "/")
			}
			s, err := loadSettings()
			if err != nil {
				return err
			}
			c, err := a.dial(cmd.Context(), s)
			if err != nil {
				return err
			}
			defer c.Close()
			infos, err := c.List(cmd.Context(), prefix)
			if err != nil {
				return err
			}
			for _, i := range infos {
				fmt.Fprintln(a.stdout, termtext.Escape(i.GetName()))
			}
			return nil
		},
	}
}

func (a *app) rmCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"delete"},
		Short:   "Delete a secret",
		Args:    exactArgs(1, "one NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			c, err := a.dial(cmd.Context(), s)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Delete(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "hush: deleted %s\n", args[0])
			return nil
		},
	}
}
