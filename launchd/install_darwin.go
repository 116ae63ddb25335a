//go:build darwin

package launchd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

func domain() string { return fmt.Sprintf("gui/%d", os.Getuid()) }

// Install writes the LaunchAgent and loads it with `launchctl bootstrap`,
// replacing a loaded one.
func Install(ctx context.Context, c Config, out io.Writer) error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	data, err := Plist(c)
	if err != nil {
		return err
	}
	// launchd creates the socket but not its directory, and writes the log
	// but not the log directory.
	for dir, mode := range map[string]os.FileMode{
		filepath.Dir(c.PlistPath()): 0o755,
		c.LogDir():                  0o700,
		filepath.Dir(c.Socket):      0o700,
	} {
		if err := os.MkdirAll(dir, mode); err != nil {
			return fmt.Errorf("hush service: %w", err)
		}
	}
	if err := writeFile(c.PlistPath(), data, 0o644); err != nil {
		return fmt.Errorf("hush service: write %s: %w", c.PlistPath(), err)
	}
	fmt.Fprintf(out, "wrote %s\n", c.PlistPath())
	// bootstrap refuses a label that is already loaded.
	_, _ = run(ctx, c.Launchctl, "bootout", domain()+"/"+Label)
	if _, err := run(ctx, c.Launchctl, "bootstrap", domain(), c.PlistPath()); err != nil {
		return fmt.Errorf("hush service: %w", err)
	}
	fmt.Fprintf(out, "loaded %s: launchd holds %s and starts hush at login and on the first connection; logs go to %s\n", Label, c.Socket, c.LogDir())
	return nil
}

// Uninstall unloads the LaunchAgent and removes it.
func Uninstall(ctx context.Context, c Config, out io.Writer) error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	if !exists(c.PlistPath()) {
		fmt.Fprintf(out, "hush service is not installed (no %s).\n", c.PlistPath())
		return nil
	}
	if _, err := run(ctx, c.Launchctl, "bootout", domain()+"/"+Label); err == nil {
		fmt.Fprintf(out, "unloaded %s\n", Label)
	}
	if err := os.Remove(c.PlistPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hush service: %w", err)
	}
	fmt.Fprintf(out, "removed %s\n", c.PlistPath())
	return nil
}

// Status reports whether the LaunchAgent is installed and loaded.
func Status(ctx context.Context, c Config) (State, error) {
	c, err := c.withDefaults()
	if err != nil {
		return State{}, err
	}
	st := State{Manager: "launchd", Socket: c.Socket}
	if exists(c.PlistPath()) {
		st.Installed = true
		st.Files = []string{c.PlistPath()}
	}
	out, err := run(ctx, c.Launchctl, "print", domain()+"/"+Label)
	st.Running = err == nil
	st.Daemon = st.Running && strings.Contains(out, "state = running")
	if !st.Installed {
		st.Note = "run `hush service install`"
	}
	return st, nil
}
