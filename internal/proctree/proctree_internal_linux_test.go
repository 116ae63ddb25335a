package proctree

import (
	"slices"
	"testing"
)

func TestParseStatFindsFieldsAfterTheLastParenthesis(t *testing.T) {
	line := "42 (a) (b c) S 7 42 9 34816 42 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 1 1"
	s, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.comm != "a) (b c" || s.ppid != 7 || s.sid != 9 || s.tty != 34816 || s.start != 12345 {
		t.Errorf("parseStat = %+v", s)
	}
	for _, bad := range []string{
		"",
		"42 no parens S 1",
		"42 (x) S 1 2",
		"42 (x) S p 42 9 0 42 0 0 0 0 0 0 0 0 0 20 0 1 0 1",
		"42 (x) S 7 42 9 0 42 0 0 0 0 0 0 0 0 0 20 0 1 0 -1",
	} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded, want an error", bad)
		}
	}
}

func TestSplitNULDropsPaddingButKeepsEmptyArguments(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\x00\x00", nil},
		{"claude\x00\x00\x00\x00", []string{"claude"}},
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
	} {
		if got := splitNUL([]byte(tc.in)); !slices.Equal(got, tc.want) {
			t.Errorf("splitNUL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
