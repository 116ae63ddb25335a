package handoff_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/secret"
)

// readWord reads one shell word of the only forms Render writes:
// single-quoted runs with no backslash inside, \' and \\. POSIX shells and
// fish agree on exactly these forms, so the bytes it returns are the bytes
// either shell assigns. It returns the word's value and the rest of s.
func readWord(s string) ([]byte, string, error) {
	var v []byte
	start := len(s)
	for len(s) > 0 {
		switch {
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", errors.New("unterminated quote")
			}
			run := s[1 : 1+end]
			if strings.ContainsRune(run, '\\') {
				return nil, "", errors.New("a backslash inside quotes reads differently in fish")
			}
			v = append(v, run...)
			s = s[1+end+1:]
			if strings.HasPrefix(s, "'") {
				return nil, "", errors.New("adjacent quotes ('') read as a quote under zsh's RC_QUOTES")
			}
		case strings.HasPrefix(s, `\'`), strings.HasPrefix(s, `\\`):
			v = append(v, s[1])
			s = s[2:]
		default:
			if len(s) == start {
				return nil, "", fmt.Errorf("no word at %.20q", s)
			}
			return v, s, nil
		}
	}
	if start == 0 {
		return nil, "", errors.New("no word at the end")
	}
	return v, s, nil
}

// parseScript checks a rendered script's whole structure and returns the
// one variable it exports: a header comment, the removal of path, the
// export and nothing else.
func parseScript(sh handoff.Shell, script, path string) (name string, value []byte, err error) {
	header, rest, ok := strings.Cut(script, "\n")
	if !ok || !strings.HasPrefix(header, "# hush handoff: removes itself, then exports ") {
		return "", nil, fmt.Errorf("bad header %q", header)
	}
	rest, ok = strings.CutPrefix(rest, "command rm -f -- ")
	if !ok {
		return "", nil, errors.New("the script does not start by removing itself")
	}
	p, rest, err := readWord(rest)
	if err != nil || string(p) != path {
		return "", nil, fmt.Errorf("removes %q, not its own path (%v)", p, err)
	}
	sep, assign := " &&\nexport ", "="
	if sh == handoff.Fish {
		sep, assign = "\nand set -gx -- ", " "
	}
	rest, ok = strings.CutPrefix(rest, sep)
	if !ok {
		return "", nil, fmt.Errorf("no chained export after the removal: %.40q", rest)
	}
	name, rest, ok = strings.Cut(rest, assign)
	if !ok || !handoff.ValidVarName(name) {
		return "", nil, fmt.Errorf("bad variable name %q", name)
	}
	value, rest, err = readWord(rest)
	if err != nil {
		return "", nil, err
	}
	if rest != "\n" {
		return "", nil, fmt.Errorf("trailing text after the value: %.40q", rest)
	}
	return name, value, nil
}

const fuzzPath = "/run/user/1000/hush/h-FUZZ.sh"

// FuzzRender checks, for any name and value, that Render either writes a
// script whose only word after the removal is exactly the value, or (for
// what Check refuses) a script that removes itself and then fails, holding
// no byte of the name or value.
func FuzzRender(f *testing.F) {
	f.Add("STRIPE_KEY", []byte("it's a key :("), false)
	f.Add("K", []byte("a\"b\\c!*~\n"), true)
	f.Fuzz(func(t *testing.T, name string, value []byte, fish bool) {
		sh := handoff.POSIX
		if fish {
			sh = handoff.Fish
		}
		vars := []secret.Secret{{Name: name, Value: value}}
		script := string(handoff.Render(sh, fuzzPath, vars))
		if handoff.Check(vars) != nil {
			listed := "nothing"
			if handoff.ValidVarName(name) {
				listed = name
			}
			want := "# hush handoff: removes itself, then exports " + listed + ".\n" +
				"command rm -f -- '" + fuzzPath + "' &&\nfalse # hush refused a variable: a bad name, a NUL in the value, or a name given twice\n"
			if fish {
				want = strings.Replace(want, " &&\n", "\nand ", 1)
			}
			if script != want {
				t.Fatalf("a refused variable rendered as %q", script)
			}
			return
		}
		gotName, got, err := parseScript(sh, script, fuzzPath)
		if err != nil {
			t.Fatalf("%v in %q", err, script)
		}
		if gotName != name || !bytes.Equal(got, value) {
			t.Fatalf("the script exports %s=%q, want %s=%q", gotName, got, name, value)
		}
		if q := handoff.Quote(sh, value); !strings.Contains(script, q) {
			t.Fatalf("Quote and Render disagree on %q", value)
		}
	})
}
