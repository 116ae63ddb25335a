// Package termtext makes text that others control safe to show a person:
// a process can name itself anything (prctl PR_SET_NAME, argv), escape
// sequences and line breaks included, and that name reaches terminals,
// dialogs, logs and the audit log. The same names must also fit where
// only UTF-8 may go (protobuf strings), which ValidUTF8 sees to.
package termtext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape writes every rune that is not printable as Go would inside a
// quoted string (\x1b, \r, \n, \u202e; a byte that is not UTF-8 as \xff)
// and leaves the rest alone, so "\x1b[2K\rOK" shows as `\x1b[2K\rOK`. A
// backslash stays as it is: the result only ever holds printable runes, so
// escaping twice changes nothing, and the several places a name passes
// through can each make sure of it.
func Escape(s string) string {
	if isPrintable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeByte(&b, s[i])
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// ValidUTF8 writes every byte that is not UTF-8 as \xNN, as Escape does,
// and leaves everything else alone, control characters included. It is
// for text that must be UTF-8 but is not shown raw to a person as it is:
// a protobuf string field (which cannot carry other bytes, so a raw argv
// would fail the whole reply) or JSON. Nothing is lost, as with
// strings.ToValidUTF8 it would be, and Escape of the result is Escape of
// s, so a display escapes it the same either way.
func ValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			writeByte(&b, s[i])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// ValidUTF8All is ValidUTF8 of each string, sharing ss when all are UTF-8.
func ValidUTF8All(ss []string) []string {
	for i, s := range ss {
		if !utf8.ValidString(s) {
			out := make([]string, len(ss))
			copy(out, ss[:i])
			for j := i; j < len(ss); j++ {
				out[j] = ValidUTF8(ss[j])
			}
			return out
		}
	}
	return ss
}

func writeByte(b *strings.Builder, c byte) {
	const hex = "0123456789abcdef"
	b.WriteString(`\x`)
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&0xf])
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
