// Package launchd starts hush with the user's session: a LaunchAgent on
// macOS and the systemd user units hush.socket + hush.service on Linux.
// In both the service manager owns the socket, so the first client starts
// the daemon and a crashed daemon loses no connection attempt; Listeners
// hands the daemon the socket the manager opened.
//
// Install, Uninstall and Status back `hush service install|uninstall|status`.
// Plist and Units render the files and work on every system, so they are
// tested everywhere.
package launchd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Label names the launchd job; the systemd units are hush.socket and
// hush.service.
const Label = "dev.hush.daemon"

// Unit file names.
const (
	SocketUnit  = "hush.socket"
	ServiceUnit = "hush.service"
)

// ErrNotSupported: this system has no service manager hush integrates with.
var ErrNotSupported = errors.New("hush service: only systemd (Linux) and launchd (macOS) are supported; start `hush daemon` yourself")

// Config says what to install. Zero fields take the defaults noted.
type Config struct {
	// Executable is the absolute path of the hush binary (default: this
	// program, symlinks resolved).
	Executable string
	// Args follow the executable (default: "daemon").
	Args []string
	// Socket is the absolute path of the daemon's socket (required: the
	// caller passes config.Paths.Socket).
	Socket string
	// Env is set for the daemon (default: HUSH_HOME, HUSH_CONFIG and
	// HUSH_SOCKET as set where install runs, so the service sees the same
	// hush the user does).
	Env map[string]string
	// Home is the user's home (default: os.UserHomeDir); macOS keeps the
	// plist and logs below it.
	Home string
	// UnitDir is where the systemd units go (default:
	// $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user).
	UnitDir string
	// Systemctl and Launchctl name the manager's command (default:
	// "systemctl", "launchctl"), for tests.
	Systemctl string
	Launchctl string
}

// withDefaults fills the zero fields and checks what must be given.
func (c Config) withDefaults() (Config, error) {
	if c.Socket == "" {
		return c, errors.New("hush service: no socket path given")
	}
	if !filepath.IsAbs(c.Socket) {
		return c, fmt.Errorf("hush service: the socket path %q is not absolute", c.Socket)
	}
	if c.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("hush service: cannot find the hush binary: %w", err)
		}
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		c.Executable = exe
	}
	if !filepath.IsAbs(c.Executable) {
		return c, fmt.Errorf("hush service: the executable path %q is not absolute", c.Executable)
	}
	if c.Args == nil {
		c.Args = []string{"daemon"}
	}
	if c.Env == nil {
		c.Env = map[string]string{}
		for _, k := range []string{"HUSH_HOME", "HUSH_CONFIG", "HUSH_SOCKET"} {
			if v := os.Getenv(k); v != "" {
				c.Env[k] = v
			}
		}
	}
	if c.Home == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return c, fmt.Errorf("hush service: %w", err)
		}
		c.Home = home
	}
	if c.UnitDir == "" {
		base := os.Getenv("XDG_CONFIG_HOME")
		if base == "" || !filepath.IsAbs(base) {
			base = filepath.Join(c.Home, ".config")
		}
		c.UnitDir = filepath.Join(base, "systemd", "user")
	}
	if c.Systemctl == "" {
		c.Systemctl = "systemctl"
	}
	if c.Launchctl == "" {
		c.Launchctl = "launchctl"
	}
	for _, s := range append([]string{c.Executable, c.Socket, c.Home, c.UnitDir}, c.Args...) {
		if strings.ContainsFunc(s, isControl) {
			return c, fmt.Errorf("hush service: %q contains a control character, which no unit file or plist can carry", s)
		}
	}
	for k, v := range c.Env {
		if k == "" || strings.ContainsAny(k, "= ") || strings.ContainsFunc(k+v, isControl) {
			return c, fmt.Errorf("hush service: environment variable %q cannot be passed to the service", k)
		}
	}
	return c, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// PlistPath is where the LaunchAgent lives.
func (c Config) PlistPath() string {
	return filepath.Join(c.Home, "Library", "LaunchAgents", Label+".plist")
}

// LogDir is where launchd writes the daemon's output on macOS.
func (c Config) LogDir() string {
	return filepath.Join(c.Home, "Library", "Logs", "hush")
}

// State is what `hush service status` reports.
type State struct {
	Manager   string   // "systemd" or "launchd"
	Installed bool     // the unit files or plist are in place
	Files     []string // those of them that exist
	// Running: the manager holds the socket (systemd: hush.socket active;
	// launchd: the job is loaded). The daemon itself may still be asleep
	// until the first client connects.
	Running bool
	// Daemon: the daemon process is up.
	Daemon bool
	Socket string
	// Note says what the person can do next, when there is something.
	Note string
}

// String is the report, one fact per line.
func (s State) String() string {
	var b strings.Builder
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Fprintf(&b, "manager:   %s\n", s.Manager)
	fmt.Fprintf(&b, "installed: %s\n", yes[s.Installed])
	for _, f := range s.Files {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	fmt.Fprintf(&b, "running:   %s\n", yes[s.Running])
	switch {
	case s.Daemon:
		fmt.Fprintf(&b, "daemon:    up\n")
	case s.Running:
		fmt.Fprintf(&b, "daemon:    not started yet (starts on the first connection)\n")
	default:
		fmt.Fprintf(&b, "daemon:    no\n")
	}
	fmt.Fprintf(&b, "socket:    %s\n", s.Socket)
	if s.Note != "" {
		fmt.Fprintf(&b, "note:      %s\n", s.Note)
	}
	return b.String()
}
