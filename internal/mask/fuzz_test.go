package mask_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/hush-dev/hush/internal/mask"
	"github.com/hush-dev/hush/internal/secret"
)

// FuzzMask checks, for any two secrets and any output: no panic; the same
// result whatever the write boundary; and no unmasked stretch of the output
// contains a maskable value, its hex or its base64.
func FuzzMask(f *testing.F) {
	f.Add([]byte(stripe), []byte("docker"), []byte("key="+stripe+"\n"), uint(7))
	f.Add([]byte(pem), []byte("MIIBOgIBAAJBAKj3"), []byte("x"+pem+"y"), uint(30))
	f.Add([]byte("aaaaaaaa"), []byte("aaaaaaaaa"), []byte("aaaaaaaaaaaaaaaaaaaaaaa"), uint(3))
	f.Add([]byte("a:b c\td\r\ne"), []byte("abcdefgh"), []byte("a b c d e f g h abcde"), uint(2))
	f.Add([]byte("\x00\xff\xfe\x01\x02\x03\x04\x05"), []byte("p@ss w/rd+x"), []byte("AP/+AQIDBAU= p%40ss+w%2Frd%2Bx"), uint(9))
	f.Fuzz(func(t *testing.T, a, b, text []byte, split uint) {
		secrets := []secret.Secret{{Name: "f/A", Value: a}, {Name: "f/B", Value: b}}
		m := mask.New(secrets, mask.WithFlushDelay(0))
		whole := m.Bytes(text)

		var out bytes.Buffer
		w := m.Writer(&out)
		k := 0
		if len(text) > 0 {
			k = int(split % uint(len(text)+1))
		}
		if _, err := w.Write(text[:k]); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(text[k:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), whole) {
			t.Fatalf("split at %d gives %q, in one piece %q", k, out.Bytes(), whole)
		}

		runs := [][]byte{whole}
		for _, marker := range [][]byte{[]byte("<hush:f/A>"), []byte("<hush:f/B>")} {
			var next [][]byte
			for _, r := range runs {
				next = append(next, bytes.Split(r, marker)...)
			}
			runs = next
		}
		for _, s := range secrets {
			if canonicalLen(s.Value) < secret.MinMaskLength {
				continue
			}
			forms := [][]byte{
				s.Value,
				[]byte(hex.EncodeToString(s.Value)),
				[]byte(base64.StdEncoding.EncodeToString(s.Value)),
				[]byte(base64.RawURLEncoding.EncodeToString(s.Value)),
			}
			for _, r := range runs {
				for _, form := range forms {
					if bytes.Contains(r, form) {
						t.Fatalf("%s: unmasked output %q contains %q", s.Name, r, form)
					}
				}
			}
		}
	})
}

// canonicalLen counts the bytes the masker does not ignore.
func canonicalLen(v []byte) int {
	n := 0
	for _, c := range v {
		if !bytes.ContainsRune([]byte("\r\n \t:"), rune(c)) {
			n++
		}
	}
	return n
}
