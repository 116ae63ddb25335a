package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/audit"
	"github.com/hush-dev/hush/internal/config"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/dotenv"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/store/filevault"
	"github.com/hush-dev/hush/internal/store/keychain"
	"github.com/hush-dev/hush/internal/store/secretservice"
	"github.com/hush-dev/hush/launchd"
	"github.com/hush-dev/hush/server"
)

func (a *app) initCommand() *cobra.Command {
	var noPassphrase bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the vault",
		Long: `Create the encrypted file vault.

With a passphrase (asked twice at a terminal, or the first line of stdin),
the vault key is wrapped with it and the daemon starts locked until a person
runs 'hush unlock'. With --no-passphrase the key is kept in a 0600 file next
to the vault: convenient on a headless box, and only as safe as that file.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			if b := s.cfg.Backend; b != "" && b != "file" {
				return usagef("config.toml selects the %q backend, which needs no init", b)
			}
			if err := filevault.CheckFree(s.paths.Vault); err != nil {
				return err
			}
			opts := filevault.InitOptions{NoPassphrase: noPassphrase}
			if !noPassphrase {
				p, err := a.readPassphrase("New vault passphrase: ", true)
				if err != nil {
					return err
				}
				if len(p) == 0 {
					return usagef("an empty passphrase protects nothing: give one, or use --no-passphrase")
				}
				opts.Passphrase = p
			}
			if err := filevault.Init(s.paths.Vault, opts); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "hush: created vault %s\n", s.paths.Vault)
			return nil
		},
	}
	cmd.Flags().BoolVar(&noPassphrase, "no-passphrase", false, "keep the vault key in a 0600 file instead of behind a passphrase")
	return cmd
}

func (a *app) importCommand() *cobra.Command {
	var prefix string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "import [--prefix PREFIX] FILE",
		Short: "Import a .env file (names are PREFIX/KEY)",
		Long: `Import a .env file: every NAME=value line is stored as PREFIX/NAME.

The file goes in whole or not at all: any bad line is reported with its
line number and nothing is stored, and the daemon stores nothing when it
refuses any one name (policy). The file vault writes the whole file in one
replacement of the vault; other backends store the secrets one by one. A NAME= line with an empty value (a
placeholder) is skipped with a warning naming its line; a secret already
stored under that name keeps its value ('hush rm NAME' deletes one).`,
		Args: exactArgs(1, "one FILE ('-' for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix = strings.Trim(prefix, "/")
			if prefix != "" {
				if err := secret.ValidatePrefix(prefix); err != nil {
					return err
				}
			}
			in, err := a.openEnvFile(args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			// Parse and validate everything before storing anything.
			entries, err := dotenv.Parse(in)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			var secrets []secret.Secret
			var empty []string
			for _, e := range entries {
				name := e.Name
				if prefix != "" {
					name = path.Join(prefix, name)
				}
				if err := secret.ValidateName(name); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				if len(e.Value) == 0 {
					empty = append(empty, fmt.Sprintf("%s (line %d)", name, e.Line))
					continue
				}
				if err := secret.ValidateValue(name, e.Value); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				secrets = append(secrets, secret.Secret{Name: name, Value: e.Value})
			}
			if len(empty) > 0 {
				fmt.Fprintf(a.stderr, "hush: warning: %s: skipped empty values (hush stores none): %s; a secret already stored under such a name keeps its value ('hush rm NAME' deletes one)\n",
					args[0], strings.Join(empty, ", "))
			}
			if dryRun {
				for _, sec := range secrets {
					fmt.Fprintln(a.stdout, sec.Name)
				}
				return nil
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
			// One call: the daemon checks and authorizes every entry before
			// it stores any, so a refused name leaves nothing half-imported.
			var warnings []string
			if len(secrets) > 0 {
				warnings, err = c.SetMany(cmd.Context(), secrets)
			}
			switch {
			case errors.Is(err, client.ErrDenied), errors.Is(err, secret.ErrInvalidName), errors.Is(err, secret.ErrInvalidValue):
				return fmt.Errorf("%s: nothing was imported: %w", args[0], err)
			case err != nil:
				return fmt.Errorf("%s: %w", args[0], err)
			}
			for _, w := range warnings {
				a.warnStored(w)
			}
			for _, sec := range secrets {
				if _, err := secret.EnvName(sec.Name); err != nil {
					fmt.Fprintf(a.stderr, "hush: warning: %v\n", err)
				}
			}
			if len(empty) > 0 {
				fmt.Fprintf(a.stderr, "hush: imported %d secrets, skipped %d empty\n", len(secrets), len(empty))
			} else {
				fmt.Fprintf(a.stderr, "hush: imported %d secrets\n", len(secrets))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "store each KEY as `PREFIX`/KEY")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the names that would be stored, store nothing")
	return cmd
}

// openEnvFile opens the .env file to import ("-" is stdin). A file that
// cannot be read is an ordinary failure (exit 1), not an invalid .env line
// (exit 4): the error says which file and why, once.
func (a *app) openEnvFile(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(a.stdin), nil
	}
	f, err := os.Open(name)
	if err == nil {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil && fi.IsDir() {
			err = errors.New("it is a directory")
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	return f, nil
}

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's state",
		Args:  exactArgs(0, "no arguments"),
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
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			locked := "no"
			if st.GetLocked() {
				locked = "yes (a person can run 'hush unlock')"
			}
			fmt.Fprintf(a.stdout, "daemon:   running (pid %d, version %s, up %s)\n", st.GetPid(), st.GetVersion(), time.Duration(st.GetUptimeSeconds())*time.Second)
			fmt.Fprintf(a.stdout, "socket:   %s\n", st.GetSocket())
			fmt.Fprintf(a.stdout, "backend:  %s\n", st.GetBackend())
			fmt.Fprintf(a.stdout, "locked:   %s\n", locked)
			if st.GetLocked() {
				fmt.Fprintln(a.stdout, "secrets:  unknown while locked")
			} else {
				fmt.Fprintf(a.stdout, "secrets:  %d\n", st.GetSecretCount())
			}
			fmt.Fprintf(a.stdout, "handoffs: %d pending\n", st.GetHandoffsPending())
			return nil
		},
	}
}

func (a *app) unlockCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "unlock",
		Short: "Unlock a passphrase-protected vault (people only)",
		Args:  exactArgs(0, "no arguments"),
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
			// A vault without a passphrase is never locked: say so rather
			// than ask for a passphrase it does not have.
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if !st.GetLocked() {
				fmt.Fprintln(a.stderr, "hush: the vault is not locked; nothing to unlock")
				return nil
			}
			p, err := a.readPassphrase("Vault passphrase: ", false)
			if err != nil {
				return err
			}
			if err := c.Unlock(cmd.Context(), p); err != nil {
				return err
			}
			fmt.Fprintln(a.stderr, "hush: unlocked")
			return nil
		},
	}
}

func (a *app) lockCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "lock",
		Short: "Lock the vault: the daemon forgets its key until 'hush unlock'",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			c, err := client.Dial(cmd.Context(), client.WithSocket(s.paths.Socket))
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Lock(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(a.stderr, "hush: locked")
			return nil
		},
	}
}

func (a *app) daemonCommand() *cobra.Command {
	var stop bool
	var treeRoot int
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the daemon in the foreground (--stop asks the running one to exit)",
		Long: `Run the daemon in the foreground, logging to stderr.

Any other hush command starts the daemon when none answers, unless
HUSH_NO_AUTOSTART=1. 'hush daemon --stop' asks a running daemon to exit
cleanly.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if stop {
				return a.stopDaemon(cmd.Context())
			}
			s, err := loadSettings()
			if err != nil {
				return err
			}
			return a.serve(cmd, s, treeRoot)
		},
	}
	cmd.Flags().BoolVar(&stop, "stop", false, "ask the running daemon to exit")
	cmd.Flags().IntVar(&treeRoot, "test-tree-root", 0, "tests only: never examine this `PID` or its ancestors when classifying callers")
	_ = cmd.Flags().MarkHidden("test-tree-root")
	return cmd
}

// stopDaemon asks the running daemon to exit. It needs only the socket's
// path, which config.toml does not set, so a broken config.toml (perhaps the
// reason to restart the daemon) is a warning here, not a failure.
func (a *app) stopDaemon(ctx context.Context) error {
	paths, err := config.DefaultPaths()
	if err != nil {
		return err
	}
	if _, err := config.Load(paths.ConfigFile); err != nil {
		fmt.Fprintf(a.stderr, "hush: warning: %s; stopping the daemon anyway\n", message(err))
	}
	c, err := client.Dial(ctx, client.WithSocket(paths.Socket))
	if errors.Is(err, client.ErrNoDaemon) {
		// Stopping what is not running is done already.
		fmt.Fprintf(a.stderr, "hush: no daemon is running on %s\n", paths.Socket)
		return nil
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Stop(ctx); err != nil {
		return err
	}
	fmt.Fprintln(a.stderr, "hush: daemon stopped")
	return nil
}

func (a *app) serve(cmd *cobra.Command, s *settings, treeRoot int) error {
	log := slog.New(slog.NewTextHandler(a.stderr, nil))
	if err := server.Harden(); err != nil {
		return fmt.Errorf("hardening the daemon: %w", err)
	}
	st, err := openStore(cmd.Context(), s, s.cfg.Backend)
	if err != nil {
		return err
	}
	if c, ok := st.(store.Closer); ok {
		defer c.Close()
	}
	acc, err := accessOptions(s.cfg)
	if err != nil {
		return err
	}
	al, err := audit.Open(s.paths.AuditLog)
	if err != nil {
		return err
	}
	defer al.Close()
	l, err := listen(s)
	if err != nil {
		return err
	}
	dopts := []detect.Option{acc.detect}
	if treeRoot > 0 {
		log.Warn("test tree root set: processes at and above it are not examined", "pid", treeRoot)
		dopts = append(dopts, detect.WithRoot(treeRoot))
	}
	srv := server.New(st, append(acc.server,
		server.WithLogger(log),
		server.WithDetector(detect.New(dopts...)),
		server.WithHandoffDir(s.paths.RuntimeDir, s.cfg.HandoffTTL),
		server.WithSocketPath(s.paths.Socket),
		server.WithAuditLog(al),
	)...)
	log.Info("hush daemon listening", "socket", s.paths.Socket, "pid", os.Getpid())
	return srv.Serve(cmd.Context(), l)
}

// openStore opens the backend config.toml selects.
func openStore(ctx context.Context, s *settings, backend string) (store.Store, error) {
	switch backend {
	case "", "file":
		v, err := filevault.Open(s.paths.Vault)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no vault at %s: run 'hush init' first", s.paths.Vault)
		}
		return v, err
	case "secretservice":
		return secretservice.Open(ctx)
	case "keychain":
		return keychain.Open(ctx)
	}
	return nil, fmt.Errorf("unknown backend %q in %s (want file, secretservice or keychain)", backend, s.paths.ConfigFile)
}

// listen takes the socket systemd or launchd opened for us (socket
// activation), else makes our own.
func listen(s *settings) (net.Listener, error) {
	ls, err := launchd.Listeners()
	if err != nil {
		return nil, err
	}
	if len(ls) > 0 {
		for _, extra := range ls[1:] {
			extra.Close()
		}
		return ls[0], nil
	}
	return server.Listen(s.paths.Socket)
}
