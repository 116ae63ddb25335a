package mask_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/mask"
	"github.com/hush-dev/hush/internal/secret"
)

// All keys are fake.
const (
	stripe = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
	pem    = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END KEY-----"
)

func sec(name, value string) secret.Secret {
	return secret.Secret{Name: name, Value: []byte(value)}
}

func wrap(s string, width int) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + "\n")
		s = s[width:]
	}
	b.WriteString(s)
	return b.String()
}

type maskCase struct {
	name    string
	secrets []secret.Secret
	in      string
	want    string
}

func maskCases() []maskCase {
	key := sec("org/p/STRIPE_KEY", stripe)
	mk := "<hush:org/p/STRIPE_KEY>"
	pemSec := sec("org/p/TLS_KEY", pem)
	pm := "<hush:org/p/TLS_KEY>"
	pemLines := strings.Split(pem, "\n")
	b64 := base64.StdEncoding.EncodeToString([]byte(stripe))
	return []maskCase{
		{"a value inside a line is replaced by its name", []secret.Secret{key}, "key=" + stripe + " ok\n", "key=" + mk + " ok\n"},
		{"the whole output being the value is masked", []secret.Secret{key}, stripe, mk},
		{"every occurrence is masked", []secret.Secret{key}, stripe + "\n" + stripe + "\n", mk + "\n" + mk + "\n"},
		{"a value printed twice without a gap gives one marker", []secret.Secret{key}, stripe + stripe, mk},
		{"text without secrets passes unchanged", []secret.Secret{key}, "nothing to see: sk_test_ here\n", "nothing to see: sk_test_ here\n"},
		{"no secrets at all passes everything", nil, "hello " + stripe, "hello " + stripe},
		{"a value shorter than the minimum is not masked (R3)", []secret.Secret{sec("org/p/USER", "docker")}, "docker ps; docker run\n", "docker ps; docker run\n"},
		{"a three-line PEM printed whole is one marker (R2)", []secret.Secret{pemSec}, "cat:\n" + pem + "\ndone\n", "cat:\n" + pm + "\ndone\n"},
		{"a PEM through a pty (CRLF) is masked whole", []secret.Secret{pemSec}, strings.ReplaceAll(pem, "\n", "\r\n") + "\r\n", pm + "\r\n"},
		{"each long line of a multi-line value is masked on its own (R2)", []secret.Secret{pemSec}, "line: " + pemLines[1] + "\nline: " + pemLines[2] + "\n", "line: " + pm + "\nline: " + pm + "\n"},
		{"a value surrounded by white space in the vault is masked when trimmed", []secret.Secret{sec("k/TOKEN", "  tok_abcdefgh12345\n")}, "t=tok_abcdefgh12345;", "t=<hush:k/TOKEN>;"},
		{"standard base64 with padding is masked whole", []secret.Secret{key}, "b64: " + b64 + "\n", "b64: " + mk + "\n"},
		{"base64 without padding is masked", []secret.Secret{key}, "b64: " + strings.TrimRight(b64, "=") + ".\n", "b64: " + mk + ".\n"},
		{"URL-safe base64 is masked", []secret.Secret{sec("k/BIN", "\xfb\xff\xfe\xfa\xfb\xff\xfe\xfa\xfb")}, "u=" + base64.RawURLEncoding.EncodeToString([]byte("\xfb\xff\xfe\xfa\xfb\xff\xfe\xfa\xfb")) + " s=" + base64.StdEncoding.EncodeToString([]byte("\xfb\xff\xfe\xfa\xfb\xff\xfe\xfa\xfb")), "u=<hush:k/BIN> s=<hush:k/BIN>"},
		{"base64 wrapped at 76 columns is masked", []secret.Secret{pemSec}, wrap(base64.StdEncoding.EncodeToString([]byte(pem)), 76) + "\n", pm + "\n"},
		{"lower-case hex is masked", []secret.Secret{key}, "hex " + hex.EncodeToString([]byte(stripe)) + "\n", "hex " + mk + "\n"},
		{"upper-case hex is masked", []secret.Secret{key}, "HEX " + strings.ToUpper(hex.EncodeToString([]byte(stripe))) + "\n", "HEX " + mk + "\n"},
		{"xxd -p style hex wrapped at 60 columns is masked", []secret.Secret{pemSec}, wrap(hex.EncodeToString([]byte(pem)), 60) + "\n", pm + "\n"},
		{"od style spaced hex is masked", []secret.Secret{key}, " " + spaced(hex.EncodeToString([]byte(stripe))) + "\n", " " + mk + "\n"},
		{"query-escaped value is masked", []secret.Secret{sec("k/PASS", "p@ss w/rd+x=1&y")}, "?pw=" + url.QueryEscape("p@ss w/rd+x=1&y") + "&z", "?pw=<hush:k/PASS>&z"},
		{"path-escaped value is masked", []secret.Secret{sec("k/PASS", "p@ss w/rd+x=1&y")}, "/u/" + url.PathEscape("p@ss w/rd+x=1&y") + "/", "/u/<hush:k/PASS>/"},
		{"percent-encoding with lower-case hex is masked", []secret.Secret{sec("k/PASS", "a/b/c/d/e/f")}, "x=a%2fb%2fc%2fd%2fe%2ff", "x=<hush:k/PASS>"},
		{"a multi-line value in a JSON log is masked", []secret.Secret{pemSec}, `{"key":` + jsonString(pem) + "}", `{"key":"` + pm + `"}`},
		{"a secret inside another secret gives the outer name", []secret.Secret{sec("k/OUTER", "prefix-"+stripe+"-suffix"), key}, "v=prefix-" + stripe + "-suffix", "v=<hush:k/OUTER>"},
		{"the inner secret alone gives the inner name", []secret.Secret{sec("k/OUTER", "prefix-"+stripe+"-suffix"), key}, "v=" + stripe, "v=" + mk},
		{"two overlapping secrets give both names in order", []secret.Secret{sec("k/A", "aaaa-bbbb-cccc"), sec("k/B", "cccc-dddd-eeee")}, "[aaaa-bbbb-cccc-dddd-eeee]", "[<hush:k/A><hush:k/B>]"},
		{"two secrets with the same value give both names", []secret.Secret{sec("k/A", stripe), sec("k/B", stripe)}, stripe, "<hush:k/A><hush:k/B>"},
		{"adjacent different secrets give both names", []secret.Secret{key, sec("k/OTHER", "0123456789abcdef")}, stripe + "0123456789abcdef", mk + "<hush:k/OTHER>"},
	}
}

func spaced(h string) string {
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, " ")
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestBytes(t *testing.T) {
	for _, tc := range maskCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := string(mask.New(tc.secrets).Bytes([]byte(tc.in)))
			if got != tc.want {
				t.Errorf("Bytes(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// Whatever the write boundaries, the output is the same as in one piece.
func TestWriterSplitAtEveryOffset(t *testing.T) {
	for _, tc := range maskCases() {
		t.Run(tc.name, func(t *testing.T) {
			m := mask.New(tc.secrets, mask.WithFlushDelay(0))
			for i := 0; i <= len(tc.in); i++ {
				var out bytes.Buffer
				w := m.Writer(&out)
				write(t, w, tc.in[:i])
				write(t, w, tc.in[i:])
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if out.String() != tc.want {
					t.Fatalf("split at %d\n got %q\nwant %q", i, out.String(), tc.want)
				}
			}
			var out bytes.Buffer
			w := m.Writer(&out)
			for i := range len(tc.in) {
				write(t, w, tc.in[i:i+1])
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Fatalf("one byte at a time\n got %q\nwant %q", out.String(), tc.want)
			}
		})
	}
}

func write(t *testing.T, w interface{ Write([]byte) (int, error) }, s string) {
	t.Helper()
	n, err := w.Write([]byte(s))
	if err != nil || n != len(s) {
		t.Fatalf("Write(%q) = %d, %v", s, n, err)
	}
}

// A value inside a longer base64 stream encodes differently at each offset
// mod 3; the characters made only of the value's bits are masked, leaving at
// most the two edge characters that mix in the neighbours.
func TestBase64InsideALongerStream(t *testing.T) {
	m := mask.New([]secret.Secret{sec("org/p/STRIPE_KEY", stripe)})
	n := len(stripe)
	encodings := map[string]*base64.Encoding{
		"standard": base64.StdEncoding, "standard unpadded": base64.RawStdEncoding,
		"URL": base64.URLEncoding, "URL unpadded": base64.RawURLEncoding,
	}
	for name, enc := range encodings {
		for pre := 1; pre <= 5; pre++ {
			for post := 1; post <= 3; post++ {
				t.Run(fmt.Sprintf("%s, value at byte %d with %d after", name, pre, post), func(t *testing.T) {
					data := strings.Repeat("\x01", pre) + stripe + strings.Repeat("\x02", post)
					full := enc.EncodeToString([]byte(data))
					head := full[:(8*pre+5)/6] + "<hush:org/p/STRIPE_KEY>"
					// The edge character after the value may be masked too
					// when the next bits happen to be zero.
					want := []string{head + full[8*(pre+n)/6:], head + full[(8*(pre+n)+5)/6:]}
					if got := string(m.Bytes([]byte(full))); got != want[0] && got != want[1] {
						t.Errorf("got %q\nwant %q", got, want[0])
					}
				})
			}
		}
	}
}

func TestUnmaskedNamesShortSecrets(t *testing.T) {
	m := mask.New([]secret.Secret{sec("a/SHORT", "docker"), sec("a/LONG", stripe), sec("a/SPACES", "ab\r\n cd")})
	got := m.Unmasked()
	if strings.Join(got, ",") != "a/SHORT,a/SPACES" {
		t.Errorf("Unmasked() = %q, want a/SHORT and a/SPACES", got)
	}
}

func TestMasksMeasuresAValueAsTheMatcherDoes(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		length int
	}{
		{"colons and spaces do not count", "p: w: d: 1: 2", 5},
		{"line breaks and tabs do not count", "ab\r\n cd\tef", 6},
		{"eight plain bytes count in full", "abcdefgh", 8},
		{"eight significant bytes among separators", "ab:cd ef\tgh\n", 8},
		{"only separators count for nothing", " \t\r\n::", 0},
		{"a real key", stripe, len(stripe)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mask.SignificantLen([]byte(tt.value)); got != tt.length {
				t.Fatalf("SignificantLen(%q) = %d, want %d", tt.value, got, tt.length)
			}
			want := tt.length >= secret.MinMaskLength
			if got := mask.Masks([]byte(tt.value)); got != want {
				t.Fatalf("Masks(%q) = %v, want %v", tt.value, got, want)
			}
			// Masks is the masker's own test: New leaves alone exactly
			// what Masks rejects, and masks the rest.
			m := mask.New([]secret.Secret{sec("t/K", tt.value)})
			if unmasked := len(m.Unmasked()) == 1; unmasked == want {
				t.Errorf("New: unmasked %v, but Masks says %v", unmasked, want)
			}
			if masked := strings.Contains(string(m.Bytes([]byte("x "+tt.value+" y"))), "<hush:t/K>"); masked != want {
				t.Errorf("New masked the value: %v, want %v", masked, want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe to read while the writer's timer
// writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.String() != want {
		if time.Now().After(deadline) {
			t.Fatalf("output %q, want %q before the deadline", b.String(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriterLatency(t *testing.T) {
	m := mask.New([]secret.Secret{sec("org/p/STRIPE_KEY", stripe)})
	t.Run("text that cannot start a secret is written before Write returns", func(t *testing.T) {
		var out syncBuffer
		w := m.Writer(&out)
		defer w.Close()
		write(t, w, "!!! ")
		if out.String() != "!!! " {
			t.Errorf("right after Write: %q, want %q", out.String(), "!!! ")
		}
	})
	for _, tc := range []struct{ name, text string }{
		{"a prompt without a newline appears without more output", "Password: "},
		{"a tail that is the first characters of a secret appears after the delay", "token=sk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out syncBuffer
			w := m.Writer(&out)
			defer w.Close()
			write(t, w, tc.text)
			waitFor(t, &out, tc.text)
		})
	}
	t.Run("a longer start of a secret is held until the rest decides it", func(t *testing.T) {
		var out syncBuffer
		w := m.Writer(&out)
		write(t, w, "token="+stripe[:12])
		time.Sleep(50 * time.Millisecond)
		if strings.Contains(out.String(), stripe[:12]) {
			t.Fatalf("held-back start of the secret was written: %q", out.String())
		}
		write(t, w, stripe[12:]+"\n")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if want := "token=<hush:org/p/STRIPE_KEY>\n"; out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
	t.Run("Close writes a held-back tail that turned out not to be a secret", func(t *testing.T) {
		var out syncBuffer
		w := m.Writer(&out)
		write(t, w, "x "+stripe[:20])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if want := "x " + stripe[:20]; out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
}

func TestWriterHoldsBackBoundedly(t *testing.T) {
	m := mask.New([]secret.Secret{sec("org/p/STRIPE_KEY", stripe)}, mask.WithFlushDelay(0))
	var out bytes.Buffer
	w := m.Writer(&out)
	// The start of the secret, then only bytes the masker ignores.
	write(t, w, stripe[:10])
	blank := strings.Repeat("\n", 64<<10)
	for range 20 {
		write(t, w, blank)
	}
	if out.Len() == 0 {
		t.Fatal("more than a megabyte of output was held back")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 10+20*len(blank) {
		t.Errorf("wrote %d bytes, want all %d", out.Len(), 10+20*len(blank))
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterErrors(t *testing.T) {
	m := mask.New([]secret.Secret{sec("org/p/STRIPE_KEY", stripe)})
	t.Run("an error from the destination is returned", func(t *testing.T) {
		boom := errors.New("disk full")
		w := m.Writer(failingWriter{boom})
		if _, err := w.Write([]byte("!!!\n")); !errors.Is(err, boom) {
			t.Errorf("Write error = %v, want %v", err, boom)
		}
		if _, err := w.Write([]byte("more")); !errors.Is(err, boom) {
			t.Errorf("second Write error = %v, want %v", err, boom)
		}
	})
	t.Run("writing after Close fails", func(t *testing.T) {
		w := m.Writer(&bytes.Buffer{})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, mask.ErrClosed) {
			t.Errorf("Write after Close = %v, want ErrClosed", err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
	})
}

// A large value (the vault allows 64 KiB) builds quickly and is masked.
func TestLargeValue(t *testing.T) {
	v := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz+/\n"), (secret.MaxValueSize)/39)
	v = v[:len(v)-1]
	m := mask.New([]secret.Secret{{Name: "k/BIG", Value: v}})
	in := append(append([]byte("<<"), v...), ">>"...)
	if got := string(m.Bytes(in)); got != "<<<hush:k/BIG>>>" {
		t.Errorf("got %d bytes starting %q", len(got), got[:min(40, len(got))])
	}
	enc := base64.StdEncoding.EncodeToString(v)
	if got := string(m.Bytes([]byte(wrap(enc, 76)))); got != "<hush:k/BIG>" {
		t.Errorf("wrapped base64: got %d bytes", len(got))
	}
}

func TestShortWarning(t *testing.T) {
	tests := []struct {
		name  string
		value string
		warn  bool
	}{
		{"a short common word is warned about (R3)", "docker", true},
		{"one byte under the mask length is warned about", strings.Repeat("x", secret.MinMaskLength-1), true},
		{"a value at the mask length is not warned about", strings.Repeat("x", secret.MinMaskLength), false},
		{"a long value is not warned about", "sk_test_FAKE0123456789", false},
		{"an empty value has nothing to mask", "", false},
		{"line breaks, spaces, tabs and colons do not count", "p: w: d: 1: 2", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mask.ShortWarning("org/DOCKER_USER", []byte(tt.value))
			if (w != "") != tt.warn {
				t.Fatalf("ShortWarning = %q, want warning=%v", w, tt.warn)
			}
			if w == "" {
				return
			}
			if strings.Contains(w, "\n") || !strings.Contains(w, `"org/DOCKER_USER"`) {
				t.Fatalf("warning %q is not one line naming the secret", w)
			}
			if strings.Contains(w, tt.value) {
				t.Fatalf("warning %q repeats the value", w)
			}
		})
	}
}
