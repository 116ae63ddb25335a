package secret_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/hush-dev/hush/internal/secret"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name  string
		input string
		ok    bool
	}{
		{"a plain variable name is storable", "STRIPE_KEY", true},
		{"a path of segments is storable", "org/proj/STRIPE_KEY", true},
		{"a dotted name is storable (N1)", "api.access.token", true},
		{"a dashed name is storable (N1)", "my-key", true},
		{"a name starting with a digit is storable (N1)", "1KEY", true},
		{"a name with a space is storable (N1)", "a b", true},
		{"a shell command injection is storable as data (N2)", "X;touch /tmp/pwned;Y", true},
		{"a command substitution is storable as data (N2)", "$(id)", true},
		{"a name in another script is storable", "org/ключ", true},
		{"a name of exactly 256 bytes is storable", strings.Repeat("k", 256), true},
		{"a name over 256 bytes is refused", strings.Repeat("k", 257), false},
		{"an empty name is refused", "", false},
		{"a leading slash is refused", "/org/KEY", false},
		{"a trailing slash is refused", "org/KEY/", false},
		{"a doubled slash is refused", "org//KEY", false},
		{"a dot segment is refused", "org/./KEY", false},
		{"a dot-dot segment is refused", "org/../KEY", false},
		{"a lone dot-dot is refused", "..", false},
		{"a newline is refused", "KEY\nOTHER", false},
		{"a NUL is refused", "KEY\x00", false},
		{"an escape character is refused", "KEY\x1b[31m", false},
		{"a DEL is refused", "KEY\x7f", false},
		{"a C1 control is refused", "KEY\u0085", false},
		{"invalid UTF-8 is refused", "KEY\xff", false},
		{"a right-to-left override is refused", "s/\u202eYEK_EPIRTS", false},
		{"a left-to-right isolate is refused", "s/\u2066KEY", false},
		{"a zero-width space is refused", "org/KEY\u200b", false},
		{"a zero-width joiner is refused", "org/K\u200dEY", false},
		{"a byte order mark is refused", "\ufeffKEY", false},
		{"a soft hyphen is refused", "KE\u00adY", false},
		{"a line separator is refused", "KEY\u2028X", false},
		{"a paragraph separator is refused", "KEY\u2029X", false},
		{"a replacement character is storable: it is printable", "KEY\ufffd", true},
		{"a no-break space is refused: it looks like a space", "a\u00a0b", false},
		{"an ideographic space is refused", "a\u3000b", false},
		{"a variation selector is refused", "x/K\ufe0f", false},
		{"a combining grapheme joiner is refused", "x/K\u034f", false},
		{"a Hangul filler is refused", "x/K\u3164", false},
		{"a halfwidth Hangul filler is refused", "x/K\uffa0", false},
		{"the blank braille pattern is refused", "x/K\u2800", false},
		{"an ASCII space is storable", "my key", true},
		{"letters of any script are storable", "org/ключ/ﾃｽﾄ", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := secret.ValidateName(tt.input)
			if tt.ok && err != nil {
				t.Fatalf("ValidateName(%q) = %v, want nil", tt.input, err)
			}
			if !tt.ok {
				if !errors.Is(err, secret.ErrInvalidName) {
					t.Fatalf("ValidateName(%q) = %v, want ErrInvalidName", tt.input, err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error is not one line: %q", err)
				}
			}
		})
	}
}

func TestARefusedCharacterIsNamedWithTheRule(t *testing.T) {
	for _, tc := range []struct{ name, input, char, kind string }{
		{"a bidi override", "s/\u202eYEK_EPIRTS", "U+202E", "format character"},
		{"a zero-width joiner", "a\u200db", "U+200D", "format character"},
		{"a line separator", "a\u2028b", "U+2028", "line separator"},
		{"an escape character", "a\x1bb", "U+001B", "control character"},
		{"a variation selector", "x/K\ufe0f", "U+FE0F", "invisible character"},
		{"a no-break space", "a\u00a0b", "U+00A0", "space character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := secret.ValidateName(tc.input)
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil", tc.input)
			}
			msg := err.Error()
			for _, want := range []string{tc.kind + " " + tc.char, "names may not hold control, format or invisible characters"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if strings.ContainsAny(msg, "\n\u202e\u200d\u2028\x1b") {
				t.Errorf("error %q is not one escaped line", msg)
			}
		})
	}
	t.Run("invalid UTF-8, with the byte and where it is", func(t *testing.T) {
		err := secret.ValidateName("org/\xe9KEY")
		if err == nil || !strings.Contains(err.Error(), "not valid UTF-8 (byte 0xe9 at offset 4)") || !utf8.ValidString(err.Error()) {
			t.Errorf("ValidateName = %v", err)
		}
	})
}

func TestNamesStoredBeforeTheRulesStillWork(t *testing.T) {
	const old = "s/\u202eYEK_EPIRTS/KEY"
	if secret.ValidateName(old) == nil {
		t.Fatal("a new name with a bidi override is accepted")
	}
	if err := secret.ValidateStored(old); err != nil {
		t.Errorf("ValidateStored = %v; a stored name must stay readable and deletable", err)
	}
	if err := secret.ValidatePrefix("s/\u202eYEK_EPIRTS"); err != nil {
		t.Errorf("ValidatePrefix = %v; such names must stay listable by prefix", err)
	}
	if v, err := secret.EnvName(old); err != nil || v != "KEY" {
		t.Errorf("EnvName = %q, %v; want KEY", v, err)
	}
	for _, bad := range []string{"a\x1bb", "a//b", "\xff", strings.Repeat("k", 257)} {
		if secret.ValidateStored(bad) == nil {
			t.Errorf("ValidateStored(%q) = nil; only the new rules are relaxed", bad)
		}
	}
}

func TestAnOversizedNameIsQuotedShort(t *testing.T) {
	huge := strings.Repeat("a", 2_000_000)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"ValidateName", secret.ValidateName(huge)},
		{"ValidateStored", secret.ValidateStored(huge)},
		{"ValidatePrefix", secret.ValidatePrefix(huge)},
		{"ValidateValue", secret.ValidateValue(huge, []byte("a\x00"))},
		{"EnvName", func() error { _, err := secret.EnvName(huge); return err }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("accepted a 2,000,000-byte name")
			}
			msg := tc.err.Error()
			if len(msg) > 400 {
				t.Errorf("the error is %d bytes; it must quote a short prefix, not the name", len(msg))
			}
			if !strings.Contains(msg, `"`+strings.Repeat("a", 64)+`…" (2000000 bytes)`) {
				t.Errorf("error %q does not quote the start of the name and its length", msg)
			}
		})
	}
}

func TestQuoteAndShorten(t *testing.T) {
	long := strings.Repeat("k", 257)
	for _, tc := range []struct{ name, in, quote, short string }{
		{"a name is given whole", "org/KEY", `"org/KEY"`, "org/KEY"},
		{"a prefix as long as it can be is given whole", long, `"` + long + `"`, long},
		{"a longer one keeps 64 bytes and says its length", strings.Repeat("x", 300),
			`"` + strings.Repeat("x", 64) + `…" (300 bytes)`, strings.Repeat("x", 64) + "… (300 bytes)"},
		{"a rune is not cut in two", strings.Repeat("x", 63) + strings.Repeat("é", 200),
			`"` + strings.Repeat("x", 63) + `…" (463 bytes)`, strings.Repeat("x", 63) + "… (463 bytes)"},
		{"quoting escapes what a terminal would act on", "a\u202e\x1b\xff", `"a\u202e\x1b\xff"`, "a\u202e\x1b\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := secret.Quote(tc.in); got != tc.quote {
				t.Errorf("Quote = %q, want %q", got, tc.quote)
			}
			if got := secret.Shorten(tc.in); got != tc.short {
				t.Errorf("Shorten = %q, want %q", got, tc.short)
			}
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		ok     bool
	}{
		{"the empty prefix selects everything", "", true},
		{"a path prefix is valid", "org/api", true},
		{"one trailing slash is accepted", "org/api/", true},
		{"a lone slash is refused", "/", false},
		{"a doubled trailing slash is refused", "org//", false},
		{"a dot-dot segment is refused", "org/..", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := secret.ValidatePrefix(tt.prefix)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidatePrefix(%q) = %v, want ok=%v", tt.prefix, err, tt.ok)
			}
			if err != nil && !errors.Is(err, secret.ErrInvalidName) {
				t.Fatalf("error %v does not wrap ErrInvalidName", err)
			}
		})
	}
}

func TestUnder(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		secret string
		want   bool
	}{
		{"everything is under the empty prefix", "", "org/api/KEY", true},
		{"a prefix holds itself", "org/api", "org/api", true},
		{"a prefix holds a child", "org/api", "org/api/KEY", true},
		{"a prefix holds a grandchild", "org", "org/api/KEY", true},
		{"a trailing slash changes nothing", "org/api/", "org/api/KEY", true},
		{"a sibling sharing a string prefix is not under", "org/api", "org/apix/KEY", false},
		{"a parent is not under its child", "org/api", "org", false},
		{"an unrelated name is not under", "org/api", "other/KEY", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secret.Under(tt.prefix, tt.secret); got != tt.want {
				t.Fatalf("Under(%q, %q) = %v, want %v", tt.prefix, tt.secret, got, tt.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		want    string
		wantErr error
	}{
		{"a plain name exports as itself", "STRIPE_KEY", "STRIPE_KEY", nil},
		{"a path exports as its last segment", "org/proj/STRIPE_KEY", "STRIPE_KEY", nil},
		{"an underscore may lead", "org/_private", "_private", nil},
		{"lower case is allowed", "org/token", "token", nil},
		{"a dotted name is not exportable (N1)", "api.access.token", "", secret.ErrNotExportable},
		{"a dashed name is not exportable (N1)", "org/my-key", "", secret.ErrNotExportable},
		{"a leading digit is not exportable (N1)", "1KEY", "", secret.ErrNotExportable},
		{"a space is not exportable (N1)", "a b", "", secret.ErrNotExportable},
		{"a shell injection is not exportable (N2)", "X;touch /tmp/pwned;Y", "", secret.ErrNotExportable},
		{"a command substitution is not exportable (N2)", "$(id)", "", secret.ErrNotExportable},
		{"a name that hides a slash in its last segment is not exportable", "org/$(id)", "", secret.ErrNotExportable},
		{"a non-ASCII letter is not exportable", "org/ключ", "", secret.ErrNotExportable},
		{"an invalid name is an invalid name, not a non-exportable one", "org//KEY", "", secret.ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secret.EnvName(tt.secret)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("EnvName(%q) = %q, %v; want %q", tt.secret, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("EnvName(%q) = %q, %v; want %v", tt.secret, got, err, tt.wantErr)
			}
			if got != "" {
				t.Fatalf("EnvName(%q) returned %q along with an error", tt.secret, got)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprintf("%q", tt.secret)) {
				t.Fatalf("error %q does not name the secret", msg)
			}
			if tt.wantErr == secret.ErrNotExportable && !strings.Contains(msg, secret.EnvNameRule) {
				t.Fatalf("error %q does not state the rule", msg)
			}
		})
	}
}

func TestExports(t *testing.T) {
	tests := []struct {
		name      string
		names     []string
		want      map[string]string
		wantErr   error
		mentioned []string
	}{
		{
			name:  "distinct last segments export side by side",
			names: []string{"org/a/KEY", "org/b/OTHER"},
			want:  map[string]string{"org/a/KEY": "KEY", "org/b/OTHER": "OTHER"},
		},
		{
			name:  "a name listed twice is not a collision",
			names: []string{"org/a/KEY", "org/a/KEY"},
			want:  map[string]string{"org/a/KEY": "KEY"},
		},
		{
			name:  "no names export nothing",
			names: nil,
			want:  map[string]string{},
		},
		{
			name:      "two secrets with the same last segment fail naming both (N3)",
			names:     []string{"org/b/KEY", "org/a/KEY", "org/c/FINE"},
			wantErr:   secret.ErrCollision,
			mentioned: []string{`"org/a/KEY"`, `"org/b/KEY"`, "KEY"},
		},
		{
			name:      "one non-exportable name fails the whole set (N1)",
			names:     []string{"org/GOOD", "org/api.access.token"},
			wantErr:   secret.ErrNotExportable,
			mentioned: []string{`"org/api.access.token"`, secret.EnvNameRule},
		},
		{
			name:      "every non-exportable name is named at once (N1, N2)",
			names:     []string{"org/my-key", "X;touch /tmp/pwned;Y", "org/GOOD"},
			wantErr:   secret.ErrNotExportable,
			mentioned: []string{`"org/my-key"`, `"X;touch /tmp/pwned;Y"`, secret.EnvNameRule},
		},
		{
			name:      "an invalid name fails the set",
			names:     []string{"org/GOOD", "org/../KEY"},
			wantErr:   secret.ErrInvalidName,
			mentioned: []string{`"org/../KEY"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secret.Exports(tt.names)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Exports = %v", err)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("Exports = %v, want %v", got, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Exports = %v, %v; want %v", got, err, tt.wantErr)
			}
			if got != nil {
				t.Fatalf("Exports returned %v along with an error; it must be all or nothing", got)
			}
			for _, m := range tt.mentioned {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %s", err, m)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestValidateValue(t *testing.T) {
	all := make([]byte, 0, 255)
	for b := 1; b <= 0xff; b++ {
		all = append(all, byte(b))
	}
	tests := []struct {
		name  string
		value []byte
		ok    bool
	}{
		{"an empty value is accepted", nil, true},
		{"every byte but NUL is accepted", all, true},
		{"trailing newlines are accepted (V5)", []byte("value\n\n"), true},
		{"trailing spaces are accepted (V5)", []byte("value  "), true},
		{"invalid UTF-8 is accepted", []byte{0xff, 0xfe, 0x80}, true},
		{"a value of exactly the limit is accepted", bytes.Repeat([]byte("a"), secret.MaxValueSize), true},
		{"a value over the limit is refused", bytes.Repeat([]byte("a"), secret.MaxValueSize+1), false},
		{"a NUL in the middle is refused (V6)", []byte("abc\x00def"), false},
		{"a NUL at the end is refused (V6)", []byte("abc\x00"), false},
		{"a lone NUL is refused (V6)", []byte{0}, false},
	}
	const key = "org/api/STRIPE_KEY"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := secret.ValidateValue(key, tt.value)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateValue = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, secret.ErrInvalidValue) {
				t.Fatalf("ValidateValue = %v, want ErrInvalidValue", err)
			}
			if !strings.Contains(err.Error(), key) {
				t.Fatalf("error %q does not name the secret", err)
			}
			if bytes.Contains([]byte(err.Error()), []byte("abc")) {
				t.Fatalf("error %q repeats part of the value", err)
			}
		})
	}
}

var envRE = regexp.MustCompile(secret.EnvNameRule)

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"org/proj/KEY", "api.access.token", "$(id)", "X;touch /tmp/pwned;Y", "a//b", "..", "k\x00", "\xff", "org/ключ", "s/\u202eKEY", "a\u200db", "a\u2028b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := secret.ValidateName(name)
		if err == nil {
			if name == "" || len(name) > secret.MaxNameSize || !utf8.ValidString(name) {
				t.Fatalf("accepted %q", name)
			}
			for _, seg := range strings.Split(name, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("accepted %q with segment %q", name, seg)
				}
			}
			for _, r := range name {
				if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
					t.Fatalf("accepted %q holding %U", name, r)
				}
			}
			if !secret.Under(name, name) {
				t.Fatalf("%q is not under itself", name)
			}
			if secret.ValidatePrefix(name) != nil {
				t.Fatalf("a storable name %q is not a valid prefix", name)
			}
			if secret.ValidateStored(name) != nil {
				t.Fatalf("a storable name %q is not a valid stored name", name)
			}
			return
		}
		if !errors.Is(err, secret.ErrInvalidName) {
			t.Fatalf("error %v does not wrap ErrInvalidName", err)
		}
		// One line, UTF-8, nothing a terminal acts on, and short whatever
		// the name's size.
		msg := err.Error()
		if !utf8.ValidString(msg) || strings.ContainsFunc(msg, func(r rune) bool {
			return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
		}) {
			t.Fatalf("error for %q is not one printable line: %q", name, msg)
		}
		if len(name) > secret.MaxNameSize+1 && len(msg) > 512 {
			t.Fatalf("error for a %d-byte name is %d bytes", len(name), len(msg))
		}
	})
}

func FuzzEnvName(f *testing.F) {
	for _, s := range []string{"org/proj/KEY", "_x", "1KEY", "my-key", "$(id)", "org/a b", "X;touch /tmp/pwned;Y", "a/b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v, err := secret.EnvName(name)
		if err != nil {
			if v != "" {
				t.Fatalf("EnvName(%q) returned %q with error %v", name, v, err)
			}
			if !errors.Is(err, secret.ErrNotExportable) && !errors.Is(err, secret.ErrInvalidName) {
				t.Fatalf("EnvName(%q) error %v wraps neither sentinel", name, err)
			}
			return
		}
		// Whatever passes must be safe to write unquoted into any shell.
		if !envRE.MatchString(v) || !strings.HasSuffix(name, v) || secret.ValidateStored(name) != nil {
			t.Fatalf("EnvName(%q) = %q", name, v)
		}
		m, err := secret.Exports([]string{name})
		if err != nil || m[name] != v {
			t.Fatalf("Exports disagrees with EnvName for %q: %v, %v", name, m, err)
		}
	})
}

func ExampleEnvName() {
	v, _ := secret.EnvName("org/api/STRIPE_KEY")
	fmt.Println(v)
	_, err := secret.EnvName("org/api/my-key")
	fmt.Println(err)
	// Output:
	// STRIPE_KEY
	// secret "org/api/my-key" is not exportable as an environment variable: its last segment "my-key" must match ^[A-Za-z_][A-Za-z0-9_]*$
}

func ExampleExports() {
	_, err := secret.Exports([]string{"org/a/KEY", "org/b/KEY"})
	fmt.Println(err)
	// Output:
	// secrets map to the same variable: "org/a/KEY" and "org/b/KEY" both export as KEY; select a narrower prefix or rename one
}

func TestIsDangerous(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"LD_PRELOAD", true},
		{"DYLD_INSERT_LIBRARIES", true},
		{"BASH_FUNC_ls%%", true},
		{"PS0", true},               // bash expands it before each command
		{"PROMPT", true},            // zsh with PROMPT_SUBST
		{"FPATH", true},             // zsh autoloads functions from it
		{"GIT_EXTERNAL_DIFF", true}, // git diff runs it
		{"GIT_SEQUENCE_EDITOR", true},
		{"GIT_CONFIG", true},
		{"GIT_CONFIG_GLOBAL", true},
		{"PYTHONBREAKPOINT", true},
		{"LUA_INIT_5_4", true},
		{"fish_trace", true},      // fish prints every later line, exports included
		{"fish_user_paths", true}, // fish prepends it to PATH
		{"fish_function_path", true},
		{"STRIPE_KEY", false},
		{"GIT_TOKEN", false},
		{"PROMPT_TOKEN", false}, // only the exact name is a prompt
		{"LD", false},
		{"ld_preload", false}, // variable names are case-sensitive
	} {
		if got := secret.IsDangerous(c.name); got != c.want {
			t.Errorf("IsDangerous(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}
