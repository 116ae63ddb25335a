// Package termtext makes text that others control safe to show a person:
// a process can name itself anything (prctl PR_SET_NAME, argv), escape
// sequences and line breaks included, and that name reaches terminals,
// dialogs, logs and the audit log.
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
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&0xf, 16))
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

func isPrintable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
