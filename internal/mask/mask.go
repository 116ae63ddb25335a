// Package mask replaces secret values in a stream of output with
// <hush:NAME>, where NAME is the secret's full name (org/proj/STRIPE_KEY):
// it is unique where variable names may not be, and it is what the agent
// asks hush for.
//
// What is masked, for each secret at least secret.MinMaskLength bytes long
// as SignificantLen counts them (shorter ones are left alone and reported by
// Unmasked, field case R3):
//   - the value, the value with surrounding white space trimmed, and every
//     line of a multi-line value that is itself long enough (R2), so a PEM
//     printed whole or grepped line by line is caught;
//   - its percent-encodings as common libraries write them (Go's QueryEscape
//     and PathEscape, Python's quote and quote_plus, JavaScript's
//     encodeURIComponent and encodeURI), hex digits upper or lower case;
//   - its JSON and Go-quoted string forms (a multi-line value in a JSON log);
//   - base64, standard and URL alphabets, padded or not, and hex, lower and
//     upper case.
//
// Base64 inside a longer base64 stream: the characters a value turns into
// depend on its offset modulo 3 in the encoded data, so for each of the three
// alignments the masker registers the characters whose six bits all come from
// the value (the stable inner part). The one or two edge characters that mix
// in neighbouring bytes stay visible; they carry at most 4 bits of the value
// at each end. The value's own encoding, as `base64` prints it, is masked
// whole, padding included.
//
// Line breaks (\n, \r), spaces, tabs and colons are ignored when matching,
// in the patterns and in the text. So base64 wrapped at 64 or 76 columns,
// `xxd -p`, `od -An -tx1`, colon-separated hex, a PEM printed through a pty
// (which turns \n into \r\n) or re-wrapped, and a CRLF file are all caught.
// The price is that text equal to a value except for such bytes is masked
// too, which is harmless. One automaton holds every pattern, so each byte of
// output costs one table step (see automaton.go).
//
// Not caught: a value split by anything else (ANSI colour codes inside it,
// the offset and ASCII columns of a plain `xxd` or `hexdump -C` dump once the
// value is longer than one line of the dump), mixed-case hex, other encodings
// (base32, uuencode, compression, encryption, double base64), a part of a
// value shorter than the whole (other than its lines), and values shorter
// than the minimum. hush makes accidental exposure unlikely; it cannot stop a
// program that means to print a secret.
package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hush-dev/hush/internal/secret"
)

// DefaultFlushDelay is how long a Writer waits for more output before it
// writes out a held-back tail that cannot yet be ruled out as the start of
// a secret. It is short enough to be invisible to a person at a terminal.
const DefaultFlushDelay = 5 * time.Millisecond

// Bytes ignored when matching.
var skipBytes = []byte{'\r', '\n', ' ', '\t', ':'}

// SignificantLen is the length of value as the masker measures it: the
// bytes it ignores when matching (\r, \n, space, tab and ':') do not count.
func SignificantLen(value []byte) int {
	n := len(value)
	for _, b := range value {
		if bytes.IndexByte(skipBytes, b) >= 0 {
			n--
		}
	}
	return n
}

// Masks reports whether a Masker masks value: whether SignificantLen(value)
// is at least secret.MinMaskLength. New leaves other values alone and names
// them in Unmasked; `hush set` warns about them with this same test.
func Masks(value []byte) bool {
	return SignificantLen(value) >= secret.MinMaskLength
}

// ShortWarning returns a one-line warning when value is too short to be
// masked in command output, or "". An empty value has nothing to leak, so
// it gets no warning. The daemon sends it with every Set, so `hush set`
// and `hush import` warn by the masker's own measure.
func ShortWarning(name string, value []byte) string {
	if len(value) == 0 || Masks(value) {
		return ""
	}
	return fmt.Sprintf("secret %q is only %d bytes long not counting line breaks, spaces, tabs and colons: values shorter than %d bytes are not masked in command output",
		name, SignificantLen(value), secret.MinMaskLength)
}

// UnmaskedWarning is the one-line warning for a secret a Masker leaves
// alone (see Unmasked), as `hush run` and `hush redact` print it.
func UnmaskedWarning(name string) string {
	return fmt.Sprintf("secret %q is shorter than %d bytes not counting line breaks, spaces, tabs and colons, so it is not masked in output", name, secret.MinMaskLength)
}

// Masker holds the patterns for a set of secrets. It is immutable and safe
// for concurrent use; each Writer it makes has its own state.
type Masker struct {
	names    []string
	labels   [][]int32  // pattern index -> indices into names
	auto     *automaton // nil when nothing is masked
	unmasked []string
	delay    time.Duration
}

// Option configures a Masker.
type Option func(*Masker)

// WithFlushDelay sets how long a Writer waits before writing out a held-back
// tail (DefaultFlushDelay if not set). Zero or less turns the timer off:
// held-back bytes then wait for more output or Close.
func WithFlushDelay(d time.Duration) Option {
	return func(m *Masker) { m.delay = d }
}

// New returns a masker for secrets. Values shorter than
// secret.MinMaskLength are not masked (see Unmasked).
func New(secrets []secret.Secret, opts ...Option) *Masker {
	m := &Masker{delay: DefaultFlushDelay}
	for _, o := range opts {
		o(m)
	}
	ps := newPatternSet(skipBytes)
	for _, s := range secrets {
		if !Masks(s.Value) {
			m.unmasked = append(m.unmasked, s.Name)
			continue
		}
		id := int32(len(m.names))
		m.names = append(m.names, s.Name)
		addText(ps, id, s.Value)
		addEncoded(ps, id, s.Value)
		if t := bytes.TrimSpace(s.Value); len(t) != len(s.Value) && len(t) >= secret.MinMaskLength {
			addText(ps, id, t)
			addEncoded(ps, id, t)
		}
	}
	if len(ps.patterns) > 0 {
		m.labels = ps.owners
		m.auto = newAutomaton(ps.patterns, ps.skip)
	}
	return m
}

// Unmasked names the secrets too short to be masked, in input order.
func (m *Masker) Unmasked() []string { return slices.Clone(m.unmasked) }

// Bytes returns p with every secret masked, as a Writer would write it.
func (m *Masker) Bytes(p []byte) []byte {
	var out bytes.Buffer
	w := m.newWriter(&out, 0)
	_, _ = w.Write(p)
	_ = w.Close()
	return out.Bytes()
}

// patternSet collects distinct patterns for one automaton and which secrets
// each belongs to (two secrets may share a value).
type patternSet struct {
	skip     []byte
	isSkip   [256]bool
	index    map[string]int
	patterns [][]byte
	owners   [][]int32
}

func newPatternSet(skip []byte) *patternSet {
	ps := &patternSet{skip: skip, index: map[string]int{}}
	for _, b := range skip {
		ps.isSkip[b] = true
	}
	return ps
}

func (ps *patternSet) canonical(p []byte) []byte {
	return slices.DeleteFunc(bytes.Clone(p), func(b byte) bool { return ps.isSkip[b] })
}

func (ps *patternSet) add(id int32, p []byte) {
	p = ps.canonical(p)
	if len(p) < secret.MinMaskLength {
		return // a short pattern would mask ordinary text everywhere
	}
	k := string(p)
	i, ok := ps.index[k]
	if !ok {
		i = len(ps.patterns)
		ps.index[k] = i
		ps.patterns = append(ps.patterns, p)
		ps.owners = append(ps.owners, nil)
	}
	if !slices.Contains(ps.owners[i], id) {
		ps.owners[i] = append(ps.owners[i], id)
	}
}

// Values longer than this get no percent, JSON or quoted patterns: nobody
// puts a key file in a URL, and each variant of a 64 KiB value costs
// megabytes of automaton.
const maxVariantLen = 4 << 10

func addText(ps *patternSet, id int32, v []byte) {
	ps.add(id, v)
	for line := range bytes.SplitSeq(v, []byte{'\n'}) {
		ps.add(id, bytes.TrimSpace(line))
	}
	if len(v) > maxVariantLen {
		return
	}
	for _, set := range urlKeepSets {
		for _, upper := range []bool{true, false} {
			ps.add(id, percentEncode(v, set, false, upper))
			ps.add(id, percentEncode(v, set, true, upper))
		}
	}
	for _, escapeHTML := range []bool{true, false} {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(escapeHTML)
		if e.Encode(string(v)) == nil {
			q := bytes.TrimSpace(b.Bytes())
			ps.add(id, q[1:len(q)-1])
		}
	}
	q := strconv.Quote(string(v))
	ps.add(id, []byte(q[1:len(q)-1]))
}

func addEncoded(ps *patternSet, id int32, v []byte) {
	ps.add(id, []byte(hex.EncodeToString(v)))
	ps.add(id, bytes.ToUpper([]byte(hex.EncodeToString(v))))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		raw := enc.WithPadding(base64.NoPadding)
		ps.add(id, []byte(enc.EncodeToString(v)))
		ps.add(id, []byte(raw.EncodeToString(v)))
		// The value at offset k (mod 3) of the encoded data: keep the
		// characters whose bits [6i, 6i+6) lie within [8k, 8(k+n)).
		for k := range 3 {
			shifted := append(make([]byte, k), v...)
			s := raw.EncodeToString(shifted)
			from, to := (8*k+5)/6, 8*(k+len(v))/6
			ps.add(id, []byte(s[from:to]))
		}
	}
}

// Sets of bytes left as they are by common percent-encoders (besides the
// RFC 3986 unreserved characters, which all of them keep).
var urlKeepSets = [][256]bool{
	keepSet(""),                 // Go url.QueryEscape, Python quote_plus
	keepSet("/"),                // Python urllib.parse.quote
	keepSet("!'()*"),            // JavaScript encodeURIComponent
	keepSet("$&+:=@"),           // Go url.PathEscape
	keepSet("!#$&'()*+,/:;=?@"), // JavaScript encodeURI
}

func keepSet(extra string) [256]bool {
	var k [256]bool
	for b := range 256 {
		c := byte(b)
		k[b] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~'
	}
	for i := range len(extra) {
		k[extra[i]] = true
	}
	return k
}

func percentEncode(v []byte, keep [256]bool, spaceAsPlus, upper bool) []byte {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	out := make([]byte, 0, len(v)*3)
	for _, c := range v {
		switch {
		case spaceAsPlus && c == ' ':
			out = append(out, '+')
		case keep[c]:
			out = append(out, c)
		default:
			out = append(out, '%', digits[c>>4], digits[c&15])
		}
	}
	return out
}
