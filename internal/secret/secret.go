// Package secret holds the rules for secret names and values: which names
// can be stored, which can be exported as environment variables, and which
// values are acceptable.
package secret

import "errors"

// MaxValueSize is the largest value hush stores (64 KiB).
const MaxValueSize = 64 << 10

// MinMaskLength is the shortest value `hush run` masks; shorter values get a
// warning at set time.
const MinMaskLength = 8

var (
	ErrInvalidName   = errors.New("invalid secret name")
	ErrInvalidValue  = errors.New("invalid secret value")
	ErrNotExportable = errors.New("not exportable as an environment variable")
	ErrCollision     = errors.New("secrets map to the same variable")
)

// Secret is a name and its value.
type Secret struct {
	Name  string
	Value []byte
}

// ValidateName reports whether name can be stored (a path of non-empty
// segments separated by '/'). The error wraps ErrInvalidName.
func ValidateName(name string) error { panic("TODO") }

// ValidatePrefix is ValidateName for prefixes; "" means everything.
func ValidatePrefix(prefix string) error { panic("TODO") }

// ValidateValue refuses values with NUL or over MaxValueSize, naming the
// secret. The error wraps ErrInvalidValue.
func ValidateValue(name string, value []byte) error { panic("TODO") }

// Under reports whether name is prefix itself or lies below it
// ("org/api" holds "org/api/KEY", not "org/apix/KEY").
func Under(prefix, name string) bool { panic("TODO") }

// EnvName returns the variable a secret exports as: its last segment, which
// must match ^[A-Za-z_][A-Za-z0-9_]*$. The error wraps ErrNotExportable and
// names the secret and the rule.
func EnvName(name string) (string, error) { panic("TODO") }

// Exports maps each secret name to its variable, failing before anything is
// written if one is not exportable (ErrNotExportable) or two map to the same
// variable (ErrCollision, naming both).
func Exports(names []string) (map[string]string, error) { panic("TODO") }

// ShortWarning returns a one-line warning when value is too short to be
// masked in command output, or "".
func ShortWarning(name string, value []byte) string { panic("TODO") }
