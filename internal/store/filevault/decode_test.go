package filevault

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

// fuzzIdentity is a throwaway key made for these tests; the seed corpus in
// testdata/fuzz/FuzzDecodeFile is encrypted to it.
const fuzzIdentity = "AGE-SECRET-KEY-1WG067RHQJAKK4YDTY9LA5ZNATA00D44N426ERMDJ34HTFKDXGR3QEQJF26"

func testIdentity(t testing.TB) *age.X25519Identity {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func encryptFor(t testing.TB, id *age.X25519Identity, plain []byte) []byte {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeDocument(t *testing.T) {
	tests := []struct {
		name  string
		plain string
		ok    bool
	}{
		{"an empty vault decodes", `{"version":1,"secrets":{}}`, true},
		{"a vault without a secrets field decodes as empty", `{"version":1}`, true},
		{"values are base64", `{"version":1,"secrets":{"org/KEY":"c2tfdGVzdF9GQUtF"}}`, true},
		{"an empty value decodes", `{"version":1,"secrets":{"org/KEY":""}}`, true},
		{"a newer format version is refused", `{"version":2,"secrets":{}}`, false},
		{"a missing version is refused", `{"secrets":{}}`, false},
		{"a null value is refused", `{"version":1,"secrets":{"org/KEY":null}}`, false},
		{"a value that is not base64 is refused", `{"version":1,"secrets":{"org/KEY":"!!"}}`, false},
		{"a value holding NUL is refused", `{"version":1,"secrets":{"org/KEY":"YQBi"}}`, false},
		{"an invalid name is refused", `{"version":1,"secrets":{"org//KEY":"YQ=="}}`, false},
		{"a name stored before format characters were refused decodes", `{"version":1,"secrets":{"s/\u202eYEK":"YQ=="}}`, true},
		{"a name with a control character is refused", `{"version":1,"secrets":{"s/\u001bKEY":"YQ=="}}`, false},
		{"trailing data is refused", `{"version":1,"secrets":{}} {}`, false},
		{"a truncated document is refused", `{"version":1,"secrets":{"org/KEY":"YQ==`, false},
		{"an empty document is refused", ``, false},
		{"JSON null is refused", `null`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeDocument([]byte(tt.plain))
			if (err == nil) != tt.ok {
				t.Fatalf("decodeDocument = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	in := map[string][]byte{"org/A": {}, "org/B": []byte("x\n\n"), "$(id)": {0xff, 0x01}}
	plain, err := encodeDocument(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeDocument(plain)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(in, out, bytes.Equal) {
		t.Fatalf("round trip changed the secrets")
	}
}

// FuzzDecodeDocument: no plaintext, however odd, makes the decoder panic,
// and whatever it accepts survives a re-encode unchanged.
func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(`{"version":1,"secrets":{"org/KEY":"c2tfdGVzdF9GQUtF"}}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		secrets, err := decodeDocument(plain)
		if err != nil {
			return
		}
		again, err := encodeDocument(secrets)
		if err != nil {
			t.Fatalf("accepted document does not re-encode: %v", err)
		}
		back, err := decodeDocument(again)
		if err != nil || !maps.EqualFunc(secrets, back, bytes.Equal) {
			t.Fatalf("accepted document does not round-trip: %v", err)
		}
	})
}

// FuzzDecodeFile feeds whole vault files, valid ones and mutations of them,
// through decryption and decoding: a damaged file is an error, never a
// panic.
func FuzzDecodeFile(f *testing.F) {
	id := testIdentity(f)
	f.Add(encryptFor(f, id, []byte(`{"version":1,"secrets":{"org/KEY":"c2tfdGVzdF9GQUtF"}}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		secrets, err := decodeFile(bytes.NewReader(data), id)
		if err == nil && secrets == nil {
			t.Fatal("decodeFile accepted a file and returned no map")
		}
	})
}

// vaultWith writes a vault of n secrets straight to disk: going through Put
// would rewrite the file n times.
func vaultWith(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "vault.age")
	if err := Init(path, InitOptions{NoPassphrase: true}); err != nil {
		b.Fatal(err)
	}
	v, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	secrets := make(map[string][]byte, n)
	for i := range n {
		secrets[fmt.Sprintf("org/proj%d/KEY_%d", i%100, i)] = []byte(fmt.Sprintf("sk_test_FAKE_%032d", i))
	}
	if err := writeVault(path, v.recipient, secrets, true); err != nil {
		b.Fatal(err)
	}
	return path
}

var benchSizes = []int{100, 10_000, 100_000}

// BenchmarkLoad measures Open of a vault without a passphrase: read,
// decrypt, decode.
func BenchmarkLoad(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			path := vaultWith(b, n)
			b.ResetTimer()
			for b.Loop() {
				v, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				v.Close()
			}
		})
	}
}

// BenchmarkWrite measures one durable Put into a vault of the given size:
// encode, encrypt, fsync, keep the previous version, rename.
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			v, err := Open(vaultWith(b, n))
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			value := []byte("sk_test_FAKE_0123456789abcdef")
			i := 0
			for b.Loop() {
				if err := v.Put(ctx, fmt.Sprintf("bench/KEY_%d", i%10), value); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
