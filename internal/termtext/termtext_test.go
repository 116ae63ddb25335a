package termtext_test

import (
	"strings"
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

func TestValidUTF8(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"UTF-8 is left alone", "café<bash 名前", "café<bash 名前"},
		{"a byte that is not UTF-8 is written out", "a\xe9b", `a\xe9b`},
		{"every stray byte is written out on its own", "\xff\xfe", `\xff\xfe`},
		{"a cut-off rune is written out byte by byte", "x\xe2\x80", `x\xe2\x80`},
		{"control characters stay: they are UTF-8", "a\nb\x1b", "a\nb\x1b"},
		{"a bidi override stays: it is UTF-8", "a\u202eb", "a\u202eb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := termtext.ValidUTF8(tc.in); got != tc.want {
				t.Errorf("ValidUTF8(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidUTF8AllSharesWhatNeedsNoChange(t *testing.T) {
	in := []string{"sh", "-c", "true"}
	if got := termtext.ValidUTF8All(in); &got[0] != &in[0] {
		t.Error("ValidUTF8All copied a slice that was all UTF-8")
	}
	in = []string{"sh", "-c", "true", "\xe9"}
	got := termtext.ValidUTF8All(in)
	if want := []string{"sh", "-c", "true", `\xe9`}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ValidUTF8All = %q, want %q", got, want)
	}
	if in[3] != "\xe9" {
		t.Error("ValidUTF8All changed its argument")
	}
	if termtext.ValidUTF8All(nil) != nil {
		t.Error("ValidUTF8All(nil) is not nil")
	}
}

func FuzzValidUTF8LosesNothing(f *testing.F) {
	f.Add("a\xe9\n\u202e")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := termtext.ValidUTF8(s)
		if !utf8.ValidString(out) {
			t.Fatalf("ValidUTF8(%q) = %q is not UTF-8", s, out)
		}
		if utf8.ValidString(s) && out != s {
			t.Fatalf("ValidUTF8 changed UTF-8 %q to %q", s, out)
		}
		if termtext.ValidUTF8(out) != out {
			t.Fatalf("ValidUTF8 is not idempotent on %q", s)
		}
		// What a display shows is the same either way.
		if termtext.Escape(out) != termtext.Escape(s) {
			t.Fatalf("Escape(ValidUTF8(%q)) = %q, Escape = %q", s, termtext.Escape(out), termtext.Escape(s))
		}
	})
}
