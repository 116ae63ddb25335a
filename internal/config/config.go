// Package config finds hush's files and reads config.toml.
package config

import "time"

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
func DefaultPaths() (Paths, error) { panic("TODO") }

// Config is config.toml.
type Config struct {
	Backend    string        // "file" (default), "secretservice", "keychain"
	HandoffTTL time.Duration // default 120s
	// More fields arrive with their issues (detection signatures, policy,
	// approval).
}

// Default returns the configuration used when no file exists.
func Default() *Config { panic("TODO") }

// Load reads path; a missing file yields Default(). Unknown keys are an
// error naming the key.
func Load(path string) (*Config, error) { panic("TODO") }
