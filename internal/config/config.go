// Package config finds hush's files and reads config.toml.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Paths are where hush keeps its files.
type Paths struct {
	RuntimeDir string // private dir (0700) for the socket and handoff scripts
	Socket     string
	ConfigFile string
	DataDir    string
	Vault      string // the age-encrypted file vault
	StateDir   string
	AuditLog   string
	LogFile    string // the autostarted daemon's stderr
}

// DefaultPaths resolves Paths from HUSH_HOME (overrides everything, for
// tests and the demo), HUSH_SOCKET, HUSH_CONFIG and the XDG variables.
// Without XDG_RUNTIME_DIR the runtime dir is /tmp/hush-$UID.
func DefaultPaths() (Paths, error) {
	return pathsFrom(os.Getenv, os.UserHomeDir, os.Getuid())
}

func pathsFrom(getenv func(string) string, home func() (string, error), uid int) (Paths, error) {
	var p Paths
	if h := getenv("HUSH_HOME"); h != "" {
		// An autostarted daemon runs in another directory, so a relative
		// HUSH_HOME would point somewhere else for it.
		abs, err := filepath.Abs(h)
		if err != nil {
			return Paths{}, fmt.Errorf("HUSH_HOME: %w", err)
		}
		p = Paths{
			RuntimeDir: filepath.Join(abs, "run"),
			ConfigFile: filepath.Join(abs, "config.toml"),
			DataDir:    filepath.Join(abs, "data"),
			StateDir:   filepath.Join(abs, "state"),
		}
	} else {
		// The XDG spec says relative paths in these variables are invalid
		// and must be ignored.
		xdg := func(name, fallback string) (string, error) {
			if d := getenv(name); filepath.IsAbs(d) {
				return filepath.Join(d, "hush"), nil
			}
			hd, err := home()
			if err != nil || !filepath.IsAbs(hd) {
				return "", fmt.Errorf("cannot place hush's files: %s is not set and there is no home directory", name)
			}
			return filepath.Join(hd, fallback, "hush"), nil
		}
		var err error
		if p.ConfigFile, err = xdg("XDG_CONFIG_HOME", ".config"); err != nil {
			return Paths{}, err
		}
		p.ConfigFile = filepath.Join(p.ConfigFile, "config.toml")
		if p.DataDir, err = xdg("XDG_DATA_HOME", filepath.Join(".local", "share")); err != nil {
			return Paths{}, err
		}
		if p.StateDir, err = xdg("XDG_STATE_HOME", filepath.Join(".local", "state")); err != nil {
			return Paths{}, err
		}
		if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
			p.RuntimeDir = filepath.Join(d, "hush")
		} else {
			// Like ssh-agent's socket dir: whoever creates it checks that we
			// own it and nobody else can enter (EnsurePrivateDir).
			p.RuntimeDir = filepath.Join("/tmp", "hush-"+strconv.Itoa(uid))
		}
	}
	p.Socket = filepath.Join(p.RuntimeDir, "hush.sock")
	p.Vault = filepath.Join(p.DataDir, "vault.age")
	p.AuditLog = filepath.Join(p.StateDir, "audit.jsonl")
	p.LogFile = filepath.Join(p.StateDir, "daemon.log")
	if s := getenv("HUSH_SOCKET"); s != "" {
		abs, err := filepath.Abs(s)
		if err != nil {
			return Paths{}, fmt.Errorf("HUSH_SOCKET: %w", err)
		}
		p.Socket = abs
	}
	if c := getenv("HUSH_CONFIG"); c != "" {
		abs, err := filepath.Abs(c)
		if err != nil {
			return Paths{}, fmt.Errorf("HUSH_CONFIG: %w", err)
		}
		p.ConfigFile = abs
	}
	return p, nil
}

// EnsurePrivateDir creates dir (mode 0700) if needed and checks that it is a
// real directory owned by this user that nobody else can enter. A shared
// /tmp lets anyone create /tmp/hush-$UID first; this is what stops them
// from owning the socket or reading handoff scripts.
func EnsurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return checkPrivateDir(dir)
}

// Config is config.toml.
//
// Each section is a field with a toml tag, its defaults set in Default and
// its checks in validate; Load's unknown-key check then covers it with no
// further work. [detect], [policy] and [approval] are in policy.go.
type Config struct {
	Backend    string         `toml:"backend"`     // "file" (default), "secretservice", "keychain"
	HandoffTTL time.Duration  `toml:"handoff_ttl"` // default 120s, written as "120s"
	ClipClear  time.Duration  `toml:"clip_clear"`  // hush get --clip clears after this; default 30s
	Detect     DetectConfig   `toml:"detect"`
	Policy     PolicyConfig   `toml:"policy"`
	Approval   ApprovalConfig `toml:"approval"`
}

// Backends are the values `backend` accepts.
var Backends = []string{"file", "secretservice", "keychain"}

// Bounds on handoff_ttl: long enough for an agent's next tool call, short
// enough that an unsourced script does not sit on disk for long.
const (
	MinHandoffTTL = time.Second
	MaxHandoffTTL = time.Hour
)

// Default returns the configuration used when no file exists.
func Default() *Config {
	return &Config{
		Backend:    "file",
		HandoffTTL: 120 * time.Second,
		ClipClear:  30 * time.Second,
		Approval:   DefaultApproval(),
	}
}

// Load reads path; a missing file yields Default(). Unknown keys are an
// error naming the key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads config.toml's contents over the defaults.
func Parse(data []byte) (*Config, error) {
	c := Default()
	md, err := toml.Decode(string(data), c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) && perr.LastKey != "" {
			return nil, fmt.Errorf("line %d: %s: %s", perr.Position.Line, perr.LastKey, perr.Message)
		}
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("line %d: %s", perr.Position.Line, perr.Message)
		}
		return nil, err
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		// Name an unknown table once, not again for each key inside it.
		seen := map[string]bool{}
		var keys []string
		for _, k := range undecoded {
			if len(k) > 1 && seen[toml.Key(k[:len(k)-1]).String()] {
				seen[k.String()] = true
				continue
			}
			seen[k.String()] = true
			keys = append(keys, strconv.Quote(k.String()))
		}
		return nil, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	if err := c.validate(md); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate(md toml.MetaData) error {
	known := false
	for _, b := range Backends {
		known = known || c.Backend == b
	}
	if !known {
		return fmt.Errorf("backend %q is not one of %s", c.Backend, strings.Join(Backends, ", "))
	}
	// TOML integers decode into a Duration as nanoseconds, which is never
	// what someone writing `handoff_ttl = 120` meant.
	if md.IsDefined("handoff_ttl") && md.Type("handoff_ttl") != "String" {
		return fmt.Errorf(`handoff_ttl must be a duration string such as "120s"`)
	}
	if c.HandoffTTL < MinHandoffTTL || c.HandoffTTL > MaxHandoffTTL {
		return fmt.Errorf("handoff_ttl %s is outside %s..%s", c.HandoffTTL, MinHandoffTTL, MaxHandoffTTL)
	}
	if md.IsDefined("clip_clear") && md.Type("clip_clear") != "String" {
		return fmt.Errorf(`clip_clear must be a duration string such as "30s"`)
	}
	if c.ClipClear < time.Second || c.ClipClear > time.Hour {
		return fmt.Errorf("clip_clear %s is outside 1s..1h", c.ClipClear)
	}
	return c.validateAccess(md)
}
