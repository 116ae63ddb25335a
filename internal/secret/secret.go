// Package secret holds the rules for secret names and values: which names
// can be stored, which can be exported as environment variables, and which
// values are acceptable.
//
// Storing and exporting are separate rules on purpose. A name such as
// "api.access.token" or "$(id)" is a fine key in a vault, but it must never
// reach a shell script as a variable name, so it is storable and not
// exportable; the refusal comes before anything is written.
package secret

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxValueSize is the largest value hush stores (64 KiB).
const MaxValueSize = 64 << 10

// MaxNameSize is the longest name hush stores, in bytes.
const MaxNameSize = 256

// MinMaskLength is the shortest value `hush run` masks; shorter values get a
// warning at set time.
const MinMaskLength = 8

// EnvNameRule is the pattern a name's last segment must match to be
// exported as an environment variable. Errors quote it so the user sees the
// rule, not just the refusal.
const EnvNameRule = `^[A-Za-z_][A-Za-z0-9_]*$`

var envNameRE = regexp.MustCompile(EnvNameRule)

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
func ValidateName(name string) error {
	if why := nameProblem(name); why != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidName, name, why)
	}
	return nil
}

// ValidatePrefix is ValidateName for prefixes; "" means everything. One
// trailing '/' is allowed ("org/api/" is "org/api"), since people type it.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if why := nameProblem(trimSlash(prefix)); why != "" {
		return fmt.Errorf("%w: prefix %q: %s", ErrInvalidName, prefix, why)
	}
	return nil
}

func trimSlash(prefix string) string {
	if len(prefix) > 1 && strings.HasSuffix(prefix, "/") {
		return prefix[:len(prefix)-1]
	}
	return prefix
}

// nameProblem says what is wrong with name, or "" when it is storable. The
// reasons never repeat the name so callers can quote it once.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case len(name) > MaxNameSize:
		return fmt.Sprintf("the name is %d bytes, over the %d-byte limit", len(name), MaxNameSize)
	case !utf8.ValidString(name):
		return "the name is not valid UTF-8"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Sprintf("the name contains the control character %U", r)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return "segments between '/' must not be empty"
		case ".", "..":
			return fmt.Sprintf("%q is not allowed as a segment", seg)
		}
	}
	return ""
}

// ValidateValue refuses values with NUL or over MaxValueSize, naming the
// secret. The error wraps ErrInvalidValue.
func ValidateValue(name string, value []byte) error {
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w for %q: %d bytes is over the %d-byte limit", ErrInvalidValue, name, len(value), MaxValueSize)
	}
	// A C string ends at NUL, so environments and shells would silently cut
	// the value there; refusing is the only way to never deliver a truncation.
	if i := bytes.IndexByte(value, 0); i >= 0 {
		return fmt.Errorf("%w for %q: it contains a NUL byte (at byte %d), which no environment variable can carry", ErrInvalidValue, name, i)
	}
	return nil
}

// Under reports whether name is prefix itself or lies below it
// ("org/api" holds "org/api/KEY", not "org/apix/KEY").
func Under(prefix, name string) bool {
	if prefix == "" {
		return true
	}
	prefix = trimSlash(prefix)
	return name == prefix || (strings.HasPrefix(name, prefix) && len(name) > len(prefix) && name[len(prefix)] == '/')
}

// EnvName returns the variable a secret exports as: its last segment, which
// must match ^[A-Za-z_][A-Za-z0-9_]*$. The error wraps ErrNotExportable and
// names the secret and the rule.
func EnvName(name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	v := name[strings.LastIndexByte(name, '/')+1:]
	if !envNameRE.MatchString(v) {
		return "", fmt.Errorf("secret %q is %w: its last segment %q must match %s", name, ErrNotExportable, v, EnvNameRule)
	}
	return v, nil
}

// Exports maps each secret name to its variable, failing before anything is
// written if one is not exportable (ErrNotExportable) or two map to the same
// variable (ErrCollision, naming both).
func Exports(names []string) (map[string]string, error) {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)

	out := make(map[string]string, len(sorted))
	owner := make(map[string]string, len(sorted)) // variable -> secret name
	var bad []string
	for _, name := range sorted {
		if _, seen := out[name]; seen {
			continue
		}
		v, err := EnvName(name)
		if errors.Is(err, ErrInvalidName) {
			return nil, err
		}
		if err != nil {
			bad = append(bad, name)
			continue
		}
		if other, taken := owner[v]; taken {
			return nil, fmt.Errorf("%w: %q and %q both export as %s; select a narrower prefix or rename one", ErrCollision, other, name, v)
		}
		owner[v] = name
		out[name] = v
	}
	switch len(bad) {
	case 0:
		return out, nil
	case 1:
		_, err := EnvName(bad[0])
		return nil, err
	default:
		return nil, fmt.Errorf("secrets %s are %w: the last segment of each must match %s", quoteAll(bad), ErrNotExportable, EnvNameRule)
	}
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// ShortWarning returns a one-line warning when value is too short to be
// masked in command output, or "". An empty value has nothing to leak, so
// it gets no warning.
func ShortWarning(name string, value []byte) string {
	if len(value) == 0 || len(value) >= MinMaskLength {
		return ""
	}
	return fmt.Sprintf("secret %q is only %d bytes: values shorter than %d bytes are not masked in command output", name, len(value), MinMaskLength)
}
