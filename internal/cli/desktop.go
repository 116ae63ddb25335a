package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/clip"
	"github.com/hush-dev/hush/internal/migrate"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/launchd"
)

// copyToClipboard puts a person's value on the clipboard (through the
// tool's stdin, never its argv) and says only where it went.
func (a *app) copyToClipboard(ctx context.Context, s *settings, sec secret.Secret) error {
	res, err := clip.Copy(ctx, sec.Value, clip.Options{ClearAfter: s.cfg.ClipClear})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "hush: copied %s to the clipboard with %s; it is cleared at %s unless you copy something else first\n",
		sec.Name, res.Tool, res.ClearAt.Format(time.TimeOnly))
	return nil
}

func (a *app) migrateCommand() *cobra.Command {
	var to, prefix string
	var removeSource, overwrite bool
	cmd := &cobra.Command{
		Use:   "migrate --to BACKEND",
		Short: "Copy every secret to another backend, verify each, then optionally remove the source",
		Long: `Copy the secrets of the configured backend (or those below --prefix) to
BACKEND (file, secretservice or keychain). Each is read back from the
destination; only when every one is verified are the sources removed, and only
with --remove-source. Stopped half-way, nothing is lost: run it again.

The daemon must not be running (it holds the vault); afterwards set
backend = "BACKEND" in config.toml.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			from := s.cfg.Backend
			if to == "" || to == from {
				return usagef("--to names the backend to move to, other than the configured %q", from)
			}
			if c, err := client.Dial(cmd.Context(), client.WithSocket(s.paths.Socket)); err == nil {
				c.Close()
				return errors.New("a hush daemon is running and holds the store: stop it with 'hush daemon --stop', then migrate")
			}
			src, err := openStore(cmd.Context(), s, from)
			if err != nil {
				return err
			}
			defer closeStore(src)
			dst, err := openStore(cmd.Context(), s, to)
			if err != nil {
				return err
			}
			defer closeStore(dst)
			rep, err := migrate.Run(cmd.Context(), src, dst, migrate.Options{Prefix: prefix, RemoveSource: removeSource, Overwrite: overwrite})
			fmt.Fprintf(a.stderr, "hush: %d copied, %d already there, %d removed from %s\n", len(rep.Copied), len(rep.Present), len(rep.Removed), from)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "hush: done; set backend = %q in %s to use it\n", to, s.paths.ConfigFile)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "destination `BACKEND`: file, secretservice or keychain")
	f.StringVar(&prefix, "prefix", "", "only the secrets below `PREFIX`")
	f.BoolVar(&removeSource, "remove-source", false, "remove each secret from the source once all are verified in the destination")
	f.BoolVar(&overwrite, "overwrite", false, "replace a different value already in the destination")
	return cmd
}

func closeStore(st store.Store) {
	if c, ok := st.(store.Closer); ok {
		c.Close()
	}
}

func (a *app) serviceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service install|uninstall|status",
		Short: "Start the daemon with your session (systemd user units, or a launchd LaunchAgent)",
	}
	config := func() (launchd.Config, error) {
		s, err := loadSettings()
		if err != nil {
			return launchd.Config{}, err
		}
		return launchd.Config{Socket: s.paths.Socket}, nil
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "install",
			Short: "Install and start the units (socket activation)",
			Args:  exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := config()
				if err != nil {
					return err
				}
				return launchd.Install(cmd.Context(), c, a.stdout)
			},
		},
		&cobra.Command{
			Use:   "uninstall",
			Short: "Stop and remove the units",
			Args:  exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := config()
				if err != nil {
					return err
				}
				return launchd.Uninstall(cmd.Context(), c, a.stdout)
			},
		},
		&cobra.Command{
			Use:   "status",
			Short: "Say whether the units are installed and running, and the socket",
			Args:  exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := config()
				if err != nil {
					return err
				}
				st, err := launchd.Status(cmd.Context(), c)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, st.String())
				return nil
			},
		},
	)
	return cmd
}
