// Package handoff writes the private, self-deleting shell scripts through
// which an agent's shell receives a secret without the agent seeing it.
package handoff

import (
	"time"

	"github.com/hush-dev/hush/internal/secret"
)

// Shell is the dialect a script is written in.
type Shell int

const (
	POSIX Shell = iota // bash, dash, zsh, sh, ksh
	Fish
)

// ParseShell maps a --shell flag value or a shell path ("/usr/bin/fish") to
// a dialect.
func ParseShell(s string) (Shell, error) { panic("TODO") }

// Detect picks the dialect from $SHELL and the names of the caller's
// process chain (nearest first); POSIX unless fish is found.
func Detect(shellEnv string, chain []string) Shell { panic("TODO") }

// Render returns the script that deletes path, then exports vars.
func Render(sh Shell, path string, vars []secret.Secret) []byte { panic("TODO") }

// EnsureDir creates dir 0700, or checks that an existing dir is a real
// directory owned by us with mode 0700.
func EnsureDir(dir string) error { panic("TODO") }

// Write creates a new script in dir (random name h-*.sh, O_EXCL|O_NOFOLLOW,
// 0600) exporting vars, and returns its path.
func Write(dir string, sh Shell, vars []secret.Secret) (string, error) { panic("TODO") }

// WriteValueFile writes value to a new 0600 file in dir (h-*.val) for
// tools that want a file, and returns its path.
func WriteValueFile(dir string, value []byte) (string, error) { panic("TODO") }

// SourceLine is what the agent sees: source '<path>'.
func SourceLine(path string) string { panic("TODO") }

// Reap removes handoff files in dir older than ttl and returns how many.
func Reap(dir string, ttl time.Duration, now time.Time) (int, error) { panic("TODO") }

// Pending counts handoff files in dir.
func Pending(dir string) (int, error) { panic("TODO") }
