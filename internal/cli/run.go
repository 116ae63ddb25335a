package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/mask"
	"github.com/hush-dev/hush/internal/run"
	"github.com/hush-dev/hush/internal/secret"
)

func (a *app) runCommand() *cobra.Command {
	var prefixes, envPairs, allow []string
	var noMask, preserve bool
	cmd := &cobra.Command{
		Use:   "run [--prefix P]... [NAME]... [--env VAR=NAME]... -- CMD [ARG]...",
		Short: "Run a command with secrets in its environment, masked in its output",
		Long: `Run CMD with secrets injected into its environment. No shell is involved
and values never appear in arguments. Each secret is exported under the last
segment of its name (org/api/STRIPE_KEY as STRIPE_KEY), or under VAR with
--env VAR=NAME. An injected variable beats an inherited one unless
--preserve-env.

CMD's stdout and stderr are masked: a value, each line of a multi-line value,
and its base64, hex and URL encodings are replaced by <hush:NAME>. Values
shorter than 8 bytes, not counting line breaks, spaces, tabs and colons, are
not masked (hush warns when you store one). When stdout is a terminal, CMD
runs under a pseudo-terminal. The exit code is CMD's; 127 when CMD is not
found and 126 when it cannot be executed, as in a shell.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 0 || dash == len(args) {
				return usagef("give the command after --, e.g. hush run --prefix org/api -- ./deploy")
			}
			names, argv := args[:dash], args[dash:]
			if len(names) == 0 && len(prefixes) == 0 && len(envPairs) == 0 {
				return usagef("name the secrets to inject: NAME, --prefix P or --env VAR=NAME")
			}
			pairs, err := parseEnvPairs(envPairs)
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
			fetched, err := fetch(cmd.Context(), c, prefixes, names)
			if err != nil {
				return err
			}
			vars, err := run.Exported(fetched)
			if err != nil {
				return err
			}
			for _, p := range pairs {
				res, err := c.Get(cmd.Context(), p.name)
				if err != nil {
					return err
				}
				vars = append(vars, run.Var{Name: p.variable, Secret: res.Secrets[0]})
			}
			c.Close()
			code, err := run.Run(context.WithoutCancel(cmd.Context()), run.Options{
				Argv:           argv,
				Vars:           vars,
				PreserveEnv:    preserve,
				Mask:           !noMask,
				AllowDangerous: allow,
				Stdin:          a.stdin,
				Stdout:         a.stdout,
				Stderr:         a.stderr,
				Log:            warnings(a.stderr),
			})
			if err != nil {
				// A command that did not start exits 127 (not found) or 126
				// (not executable), as in a shell, so that it is not taken
				// for the command's own exit 1 (exitCode maps the errors).
				return err
			}
			if code != 0 {
				return &exitError{code: code, quiet: true}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&prefixes, "prefix", nil, "inject every secret below `PREFIX` (repeatable)")
	f.StringArrayVar(&envPairs, "env", nil, "inject secret NAME as variable VAR (`VAR=NAME`, repeatable)")
	f.BoolVar(&noMask, "no-mask", false, "do not mask values in the command's output")
	f.BoolVar(&preserve, "preserve-env", false, "keep an inherited variable instead of injecting over it")
	f.StringArrayVar(&allow, "allow-dangerous", nil, "allow injecting `NAME` although it changes how programs load (LD_PRELOAD, NODE_OPTIONS, …)")
	return cmd
}

type envPair struct{ variable, name string }

func parseEnvPairs(in []string) ([]envPair, error) {
	var out []envPair
	for _, p := range in {
		v, n, ok := strings.Cut(p, "=")
		if !ok || v == "" || n == "" {
			return nil, usagef("--env wants VAR=NAME, got %s", secret.Quote(p))
		}
		out = append(out, envPair{variable: v, name: n})
	}
	return out, nil
}

// fetch gets the named secrets and everything below the prefixes, each
// secret once, in the order asked.
func fetch(ctx context.Context, c *client.Client, prefixes, names []string) ([]secret.Secret, error) {
	var out []secret.Secret
	seen := map[string]bool{}
	add := func(res *client.Result) {
		for _, s := range res.Secrets {
			if !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s)
			}
		}
	}
	for _, p := range prefixes {
		res, err := c.GetPrefix(ctx, strings.TrimSuffix(p, "/"))
		if err != nil {
			return nil, err
		}
		add(res)
	}
	for _, n := range names {
		res, err := c.Get(ctx, n)
		if err != nil {
			return nil, err
		}
		add(res)
	}
	return out, nil
}

func (a *app) redactCommand() *cobra.Command {
	var prefixes []string
	cmd := &cobra.Command{
		Use:   "redact [--prefix P]... [NAME]...",
		Short: "Mask secret values in stdin, writing the result to stdout (for logs)",
		Long: `Copy stdin to stdout with secret values, and their base64, hex and URL
encodings, replaced by <hush:NAME>. Without names or prefixes every secret is
masked.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			if len(names) == 0 && len(prefixes) == 0 {
				prefixes = []string{""}
			}
			s, err := loadSettings()
			if err != nil {
				return err
			}
			c, err := a.dial(cmd.Context(), s)
			if err != nil {
				return err
			}
			secrets, err := fetch(cmd.Context(), c, prefixes, names)
			c.Close()
			if err != nil {
				return err
			}
			m := mask.New(secrets)
			for _, u := range m.Unmasked() {
				fmt.Fprintf(a.stderr, "hush: warning: %s\n", mask.UnmaskedWarning(u))
			}
			w := m.Writer(a.stdout)
			if _, err := io.Copy(w, a.stdin); err != nil {
				w.Close()
				return err
			}
			return w.Close()
		},
	}
	cmd.Flags().StringArrayVar(&prefixes, "prefix", nil, "mask every secret below `PREFIX` (repeatable)")
	return cmd
}

// warnings is a logger for library warnings meant for a person: one
// "hush: warning: …" line each, no timestamps or levels.
func warnings(w io.Writer) *slog.Logger { return slog.New(lineHandler{w: w}) }

type lineHandler struct{ w io.Writer }

func (h lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h lineHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h lineHandler) WithGroup(string) slog.Handler                { return h }
func (h lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("hush: warning: " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}
