package termtext_test

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/hush-dev/hush/internal/termtext"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"a plain name is left alone", "claude", "claude"},
		{"printable Unicode is left alone", "café<bash 名前", "café<bash 名前"},
		{"an empty string stays empty", "", ""},
		{"a terminal escape and line breaks are written out", "\x1b[2K\rOK\nsafe", `\x1b[2K\rOK\nsafe`},
		{"a bidi override is written out", "abc\u202edef", `abc\u202edef`},
		{"a byte that is not UTF-8 is written out", "a\xffb", `a\xffb`},
		{"NUL and DEL are written out", "a\x00b\x7fc", `a\x00b\x7fc`},
		{"a tab is written out", "a\tb", `a\tb`},
		{"a backslash stays as it is", `a\nb`, `a\nb`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := termtext.Escape(tc.in)
			if got != tc.want {
				t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again := termtext.Escape(got); again != got {
				t.Errorf("escaping twice changed %q to %q", got, again)
			}
		})
	}
}

func FuzzEscapeLeavesOnlyPrintableRunes(f *testing.F) {
	f.Add("\x1b[2K\rOK\nsafe")
	f.Add("a\xff\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		out := termtext.Escape(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", s, out)
		}
		for _, r := range out {
			if !unicode.IsPrint(r) {
				t.Fatalf("Escape(%q) = %q holds %U", s, out, r)
			}
		}
		if termtext.Escape(out) != out {
			t.Fatalf("Escape is not idempotent on %q", s)
		}
	})
}
