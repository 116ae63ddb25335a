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
	"strconv"
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

// ValidateName reports whether name can be stored: a path of non-empty
// segments separated by '/', in UTF-8, holding nothing that could make it
// look like another name in a listing (see hiddenRule). The error wraps
// ErrInvalidName and names the rule and the character (U+202E).
func ValidateName(name string) error {
	if why := nameProblem(name, true); why != "" {
		return fmt.Errorf("%w %s: %s", ErrInvalidName, Quote(name), why)
	}
	return nil
}

// ValidateStored is ValidateName without the rules added once names were
// already being stored (no format characters, no line or paragraph
// separators): a secret stored before them is still read, exported,
// listed and deleted by its name, and a vault holding one still opens.
// Only new names are held to ValidateName. The error wraps ErrInvalidName.
func ValidateStored(name string) error {
	if why := nameProblem(name, false); why != "" {
		return fmt.Errorf("%w %s: %s", ErrInvalidName, Quote(name), why)
	}
	return nil
}

// ValidatePrefix is ValidateStored for prefixes; "" means everything. One
// trailing '/' is allowed ("org/api/" is "org/api"), since people type it.
// A prefix selects stored names and stores none, so it is not held to the
// rules for new names.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if why := nameProblem(trimSlash(prefix), false); why != "" {
		return fmt.Errorf("%w: prefix %s: %s", ErrInvalidName, Quote(prefix), why)
	}
	return nil
}

// quoteWhole is the longest name (or prefix, with its one trailing '/')
// that Quote and Shorten give whole; quoteHead is how much of a longer one
// they keep.
const (
	quoteWhole = MaxNameSize + 1
	quoteHead  = 64
)

// Shorten returns s whole when it is no longer than a name or a prefix can
// be, and otherwise its first 64 bytes (whole runes), "…" and its length:
// a refused name can be megabytes, and every error, log line and audit
// record that repeated it whole would carry them.
func Shorten(s string) string {
	if len(s) <= quoteWhole {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", head(s), len(s))
}

// Quote is Shorten for messages: the name as %q writes it (control, format
// and invalid bytes escaped, so it shows as what it is), cut as Shorten
// cuts it, e.g. "aaaa…" (2000000 bytes).
func Quote(s string) string {
	if len(s) <= quoteWhole {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s (%d bytes)", strconv.Quote(head(s)+"…"), len(s))
}

// head is s's first quoteHead bytes, less a rune cut in two.
func head(s string) string {
	h := s[:quoteHead]
	for i := len(h) - 1; i >= 0 && i >= len(h)-utf8.UTFMax; i-- {
		if utf8.RuneStart(h[i]) {
			if !utf8.FullRuneInString(h[i:]) {
				h = h[:i]
			}
			break
		}
	}
	return h
}

func trimSlash(prefix string) string {
	if len(prefix) > 1 && strings.HasSuffix(prefix, "/") {
		return prefix[:len(prefix)-1]
	}
	return prefix
}

// hiddenRule is what names may not hold, said whenever one does.
const hiddenRule = "names may not hold control, format or invisible characters (bidi controls, zero-width characters, BOM, variation selectors, fillers), spaces other than U+0020, or line and paragraph separators, which can make one name look like another"

// nameProblem says what is wrong with name, or "" when it is storable
// (strict) or may already be stored (not strict). The reasons never repeat
// the name so callers can quote it once.
func nameProblem(name string, strict bool) string {
	switch {
	case name == "":
		return "the name is empty"
	case len(name) > MaxNameSize:
		return fmt.Sprintf("the name is %d bytes, over the %d-byte limit", len(name), MaxNameSize)
	}
	for i, size := 0, 0; i < len(name); i += size {
		var r rune
		r, size = utf8.DecodeRuneInString(name[i:])
		var kind string
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("the name is not valid UTF-8 (byte %#02x at offset %d)", name[i], i)
		case unicode.Is(unicode.Cc, r):
			kind = "the control character"
		case !strict:
			continue
		case unicode.Is(unicode.Cf, r):
			kind = "the format character"
		case unicode.Is(unicode.Zl, r):
			kind = "the line separator"
		case unicode.Is(unicode.Zp, r):
			kind = "the paragraph separator"
		case unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) || r == '\u2800':
			// Hangul fillers, the combining grapheme joiner, variation
			// selectors, the blank braille pattern: drawn as nothing.
			kind = "the invisible character"
		case unicode.Is(unicode.Zs, r) && r != ' ':
			kind = "the space character"
		default:
			continue
		}
		return fmt.Sprintf("it contains %s %U; %s", kind, r, hiddenRule)
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

// ValidateNew applies the rules for a value about to be stored under a new
// or existing name: ValidateName, ValidateValue, and no empty value. An
// empty value is almost always a mistake (an empty pipe, Enter at the
// prompt) that would silently replace a real one; deleting is its own
// operation. Values stored empty before this rule can still be read.
func ValidateNew(name string, value []byte) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := ValidateValue(name, value); err != nil {
		return err
	}
	if len(value) == 0 {
		return fmt.Errorf("%w for %s: the value is empty, so nothing was stored (to delete a secret, run 'hush rm %s')", ErrInvalidValue, Quote(name), Shorten(name))
	}
	return nil
}

// ValidateValue refuses values with NUL or over MaxValueSize, naming the
// secret. The error wraps ErrInvalidValue.
func ValidateValue(name string, value []byte) error {
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w for %s: %d bytes is over the %d-byte limit", ErrInvalidValue, Quote(name), len(value), MaxValueSize)
	}
	// A C string ends at NUL, so environments and shells would silently cut
	// the value there; refusing is the only way to never deliver a truncation.
	if i := bytes.IndexByte(value, 0); i >= 0 {
		return fmt.Errorf("%w for %s: it contains a NUL byte (at byte %d), which no environment variable can carry", ErrInvalidValue, Quote(name), i)
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
// names the secret and the rule. Any stored name (ValidateStored) has an
// answer, so a secret stored before the rules for new names still exports.
func EnvName(name string) (string, error) {
	if err := ValidateStored(name); err != nil {
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
