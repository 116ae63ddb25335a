// Package dotenv reads .env files for `hush import`, on joho/godotenv.
//
// The dialect is godotenv's (v1.5.1), the common dotenv dialect of
// the Ruby, Node and Go loaders:
//
//   - One NAME=value per line; "export NAME=value" and "NAME: value" also
//     work. Blank lines and lines starting with # are skipped. Names hold
//     ASCII letters, digits, "_" and "." (so "api.access.token" imports, as
//     a name hush stores but cannot export as a variable); anything else,
//     such as "go-version", is an error with its line number.
//   - Unquoted values run to the end of the line, with surrounding spaces
//     trimmed; " #" starts a comment. MY_ENV=foo bar gives "foo bar".
//   - 'Single quotes' keep everything literally, and may span lines.
//   - "Double quotes" may span lines; inside them \n is a newline, \r a
//     carriage return, \" a quote, \\ a backslash, and a backslash before
//     any other character is dropped. FOOBAR="12345" gives 12345.
//   - $NAME and ${NAME} in unquoted and double-quoted values expand to a
//     name defined on an earlier line of the same file, never to the
//     process environment. A "$" that would expand to anything else is an
//     error rather than a silently changed value: single-quote such values,
//     or write \$. A lower-case $name or $(cmd) is kept as written.
//   - A quoted value cannot end in an escaped quote of its own kind
//     ("say \"hi\""): godotenv loses it, so hush refuses it; use the other
//     quotes.
//   - CRLF and LF files import the same; a UTF-8 byte order mark is
//     ignored; the file must be UTF-8. A name given twice keeps the last
//     value.
//   - Values may not contain NUL or exceed secret.MaxValueSize.
//
// Every problem is reported with its line number, all at once, and nothing
// is returned: an import either takes the whole file or none of it. Errors
// never quote a value.
package dotenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/joho/godotenv"

	"github.com/hush-dev/hush/internal/secret"
)

// MaxFileSize bounds what Parse reads; a .env file is a few kilobytes.
const MaxFileSize = 16 << 20

// LineError is one problem in a .env file.
type LineError struct {
	Line int
	Msg  string
	Err  error // a secret.Err* sentinel when the secret rules refused it
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }
func (e *LineError) Unwrap() error { return e.Err }

// Entry is one secret read from a .env file and the line its value comes
// from (the last line that sets the name).
type Entry struct {
	secret.Secret
	Line int
}

// Parse reads a .env file. Entries come back in the order their names
// first appear. A malformed line is an error naming its line number. An
// empty value (NAME=) is returned as it is; whether to store it is the
// caller's call.
func Parse(r io.Reader) ([]Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("the file is over %d bytes; this is not a .env file", MaxFileSize)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	p := parser{lines: splitLines(data), firstLine: map[string]int{}, lastLine: map[string]int{}}
	p.scan()
	if len(p.errs) > 0 {
		return nil, p.err()
	}
	// The whole file again in one go, so ${NAME} sees earlier lines exactly
	// as godotenv's own loader would. The scan above accepted every
	// statement, so this cannot fail differently; if it does, say so
	// without quoting godotenv's message, which holds file contents.
	all, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		return nil, errors.New("the file could not be read as a whole although every line parsed")
	}
	out := make([]Entry, 0, len(p.order))
	for _, name := range p.order {
		value, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("line %d: %q was not found when reading the whole file", p.firstLine[name], name)
		}
		// A name given twice keeps its last value: that is the line to name.
		line := p.lastLine[name]
		if err := secret.ValidateValue(name, []byte(value)); err != nil {
			p.errs = append(p.errs, &LineError{Line: line, Msg: err.Error(), Err: err})
			continue
		}
		out = append(out, Entry{Secret: secret.Secret{Name: name, Value: []byte(value)}, Line: line})
	}
	if len(p.errs) > 0 {
		return nil, p.err()
	}
	return out, nil
}

// maxReported bounds the error: a binary file fed to import would
// otherwise produce one line per line.
const maxReported = 20

func (p *parser) err() error {
	if len(p.errs) <= maxReported {
		return errors.Join(p.errs...)
	}
	more := fmt.Errorf("and %d more problems", len(p.errs)-maxReported)
	return errors.Join(append(p.errs[:maxReported:maxReported], more)...)
}

// splitLines keeps each line's terminator so that joining lines gives the
// file back byte for byte.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	return lines
}

type parser struct {
	lines     [][]byte
	order     []string       // names in order of first appearance
	firstLine map[string]int // name -> line it first appears on
	lastLine  map[string]int // name -> line it last appears on, whose value it keeps
	errs      []error
}

func (p *parser) fail(line int, format string, args ...any) {
	p.errs = append(p.errs, &LineError{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// scan finds where each statement starts by handing godotenv the smallest
// run of lines it accepts: one line, or more for a quoted value that spans
// lines. godotenv does all the parsing; the scan only learns line numbers
// and order, which its map result loses.
func (p *parser) scan() {
	for i := 0; i < len(p.lines); {
		line := i + 1
		if !utf8.Valid(p.lines[i]) {
			// godotenv would turn the bad bytes into U+FFFD without a word.
			p.fail(line, "not valid UTF-8; save the file as UTF-8")
			i++
			continue
		}
		end := i
		var chunk []byte
		var vars map[string]string
		var err error
		for tries := 0; ; tries++ {
			chunk = bytes.Join(p.lines[i:end+1], nil)
			vars, err = godotenv.UnmarshalBytes(chunk)
			q, open := openQuote(err)
			if !open {
				break
			}
			// The closing quote can only be on a later line holding an
			// unescaped quote of the same kind. A real value needs one
			// such step; a chain of them is a file built to make this
			// scan quadratic, and gets the unclosed-quote error.
			next := slices.IndexFunc(p.lines[end+1:], func(l []byte) bool { return hasUnescaped(l, q) })
			if next < 0 || tries == maxQuoteSteps {
				break
			}
			end += 1 + next
		}
		if err != nil {
			p.fail(line, "%s", describe(err, p.lines[i]))
			if _, open := openQuote(err); open {
				return // every later line is inside the unclosed quote
			}
			// Lines a quote spanned belong to this broken statement; reading
			// them as statements of their own would only add noise.
			i = end + 1
			continue
		}
		for _, name := range sortedKeys(vars) {
			p.add(line, name, chunk, vars[name])
		}
		i = end + 1
	}
}

const (
	unterminated  = "unterminated quoted value "
	maxQuoteSteps = 8
)

// openQuote reports whether godotenv stopped at a quote that is not closed
// yet, and which quote character it was.
func openQuote(err error) (byte, bool) {
	if err == nil {
		return 0, false
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, unterminated) || len(msg) == len(unterminated) {
		return 0, false
	}
	return msg[len(unterminated)], true
}

// hasUnescaped mirrors godotenv's test for a closing quote: the character
// not preceded by a backslash.
func hasUnescaped(line []byte, q byte) bool {
	for i, c := range line {
		if c == q && (i == 0 || line[i-1] != '\\') {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (p *parser) add(line int, name string, chunk []byte, value string) {
	if name == "" {
		p.fail(line, "expected NAME=value")
		return
	}
	if err := secret.ValidateName(name); err != nil {
		p.errs = append(p.errs, &LineError{Line: line, Msg: err.Error(), Err: err})
		return
	}
	if msg := p.checkExpansion(name, chunk, value); msg != "" {
		p.fail(line, "%q: %s", name, msg)
		return
	}
	// godotenv trims quote characters off the end of a quoted value, so
	// "say \"hi\"" would import as say "hi\ .
	if strings.HasSuffix(value, `\`) && (bytes.Contains(chunk, []byte(`\""`)) || bytes.Contains(chunk, []byte(`\''`))) {
		p.fail(line, "%q: dotenv drops an escaped quote that ends a quoted value; put the value in the other kind of quotes", name)
		return
	}
	if _, seen := p.firstLine[name]; !seen {
		p.firstLine[name] = line
		p.order = append(p.order, name)
	}
	p.lastLine[name] = line
}

// expandRef is godotenv's own expansion pattern (parser.go), so the check
// below sees exactly the references godotenv would rewrite.
var expandRef = regexp.MustCompile(`(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?`)

// checkExpansion refuses a value that godotenv would silently change by
// expanding a "$": a password like pa$SWORD would otherwise import as "pa".
// Expanding a name from an earlier line is the dialect and stays allowed.
func (p *parser) checkExpansion(name string, chunk []byte, value string) string {
	if !bytes.ContainsRune(chunk, '$') || bytes.IndexByte(chunk, 0) >= 0 {
		return ""
	}
	// Parse again with every "$" hidden; if the value comes out the same,
	// godotenv expanded nothing (single quotes, a "$" in a comment, ...).
	hidden, err := godotenv.UnmarshalBytes(bytes.ReplaceAll(chunk, []byte("$"), []byte{0}))
	if v, ok := hidden[name]; err == nil && ok && strings.ReplaceAll(v, "\x00", "$") == value {
		return ""
	}
	text := string(chunk)
	if eq := strings.IndexAny(text, "=:"); eq >= 0 {
		text = text[eq+1:]
	}
	for _, m := range expandRef.FindAllStringSubmatch(text, -1) {
		switch {
		case m[1] == `\`:
			// \$ is the documented way to write a literal "$".
		case m[4] != "":
			if _, ok := p.firstLine[m[4]]; !ok {
				// The name after "$" may be part of the secret, so it is
				// not repeated here.
				return `the value has a "$" reference to a name no earlier line defines, which would import as empty; single-quote the value or write \$`
			}
		}
	}
	return ""
}

var (
	unexpectedChar = regexp.MustCompile(`^unexpected character ("(?:[^"\\]|\\.)*") in variable name`)
	dotenvName     = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_. \t]*$`) // godotenv also lets spaces through
)

// describe turns a godotenv error into a message that never quotes the
// file: godotenv's own messages include the rest of the line, value and all.
func describe(err error, line []byte) string {
	name := nameOf(line)
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, unterminated):
		if name != "" {
			return fmt.Sprintf("the value of %q opens a quote that is never closed", name)
		}
		return "a quote opens here and is never closed"
	case unexpectedChar.MatchString(msg):
		if name != "" && !dotenvName.MatchString(name) {
			return fmt.Sprintf(`%q is not a name dotenv accepts (names hold ASCII letters, digits, "_" and ".")`, name)
		}
		q := unexpectedChar.FindStringSubmatch(msg)[1]
		if q != `"\n"` {
			return fmt.Sprintf("unexpected %s; expected NAME=value", q)
		}
	}
	return "expected NAME=value"
}

// nameOf returns what the line's author meant as the name: the text before
// the first "=" or ":", when it looks like a name rather than data.
func nameOf(line []byte) string {
	s := strings.TrimLeftFunc(string(line), unicode.IsSpace)
	s = strings.TrimPrefix(s, "export ")
	i := strings.IndexAny(s, "=:")
	if i <= 0 {
		return ""
	}
	name := strings.TrimSpace(s[:i])
	if name == "" || len(name) > 64 || strings.ContainsAny(name, `"'`) || secret.ValidateName(name) != nil {
		return ""
	}
	return name
}
