//go:build linux

package launchd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Install writes hush.socket and hush.service and, where a systemd user
// manager runs, enables and starts the socket. Where none runs it says
// what to do instead.
func Install(ctx context.Context, c Config, out io.Writer) error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	units, err := Units(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.UnitDir, 0o755); err != nil {
		return fmt.Errorf("hush service: %w", err)
	}
	names := make([]string, 0, len(units))
	for name := range units {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(c.UnitDir, name)
		if err := writeFile(path, units[name], 0o644); err != nil {
			return fmt.Errorf("hush service: write %s: %w", path, err)
		}
		fmt.Fprintf(out, "wrote %s\n", path)
	}
	if !managerRunning(ctx, c) {
		fmt.Fprintf(out, "no systemd user manager answers here (a container, or a login without systemd --user), so nothing was started.\n")
		fmt.Fprintf(out, "where one runs, start it with: systemctl --user daemon-reload && systemctl --user enable --now %s\n", SocketUnit)
		fmt.Fprintf(out, "until then hush starts its daemon on demand, or run `hush daemon` yourself.\n")
		return nil
	}
	if _, err := run(ctx, c.Systemctl, "--user", "daemon-reload"); err != nil {
		return fmt.Errorf("hush service: %w", err)
	}
	if _, err := run(ctx, c.Systemctl, "--user", "enable", "--now", SocketUnit); err != nil {
		return fmt.Errorf("hush service: %w", err)
	}
	fmt.Fprintf(out, "enabled and started %s: systemd holds %s and starts %s on the first connection.\n", SocketUnit, c.Socket, ServiceUnit)
	return nil
}

// Uninstall stops and disables the units and removes them.
func Uninstall(ctx context.Context, c Config, out io.Writer) error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	paths := []string{filepath.Join(c.UnitDir, SocketUnit), filepath.Join(c.UnitDir, ServiceUnit)}
	if !exists(paths[0]) && !exists(paths[1]) {
		fmt.Fprintf(out, "hush service is not installed (no units in %s).\n", c.UnitDir)
		return nil
	}
	manager := managerRunning(ctx, c)
	if manager {
		// Disable while the files still exist; systemctl refuses units it
		// cannot find.
		if _, err := run(ctx, c.Systemctl, "--user", "disable", "--now", SocketUnit, ServiceUnit); err != nil {
			return fmt.Errorf("hush service: %w", err)
		}
		fmt.Fprintf(out, "stopped and disabled %s and %s\n", SocketUnit, ServiceUnit)
	}
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("hush service: %w", err)
		}
		fmt.Fprintf(out, "removed %s\n", p)
	}
	if manager {
		if _, err := run(ctx, c.Systemctl, "--user", "daemon-reload"); err != nil {
			return fmt.Errorf("hush service: %w", err)
		}
	}
	return nil
}

// Status reports whether the units are installed and active.
func Status(ctx context.Context, c Config) (State, error) {
	c, err := c.withDefaults()
	if err != nil {
		return State{}, err
	}
	st := State{Manager: "systemd", Socket: c.Socket}
	for _, name := range []string{SocketUnit, ServiceUnit} {
		if p := filepath.Join(c.UnitDir, name); exists(p) {
			st.Files = append(st.Files, p)
		}
	}
	st.Installed = len(st.Files) == 2
	if !managerRunning(ctx, c) {
		st.Note = "no systemd user manager answers here; hush starts its daemon on demand"
		st.Daemon = answers(c.Socket)
		return st, nil
	}
	st.Running = isActive(ctx, c, SocketUnit)
	st.Daemon = isActive(ctx, c, ServiceUnit)
	if !st.Installed {
		st.Note = "run `hush service install`"
		st.Daemon = st.Daemon || answers(c.Socket)
	}
	return st, nil
}

func managerRunning(ctx context.Context, c Config) bool {
	_, err := run(ctx, c.Systemctl, "--user", "show-environment")
	return err == nil
}

func isActive(ctx context.Context, c Config, unit string) bool {
	out, _ := run(ctx, c.Systemctl, "--user", "is-active", unit)
	return strings.TrimSpace(out) == "active"
}

// answers reports whether something accepts connections on the socket.
// Only used where no manager holds it: a dial would start an activated
// daemon.
func answers(socket string) bool {
	conn, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
