package seal_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hush-dev/hush/internal/seal"
	"github.com/hush-dev/hush/internal/secret"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

func newOpener(t testing.TB) *seal.Opener {
	t.Helper()
	o, err := seal.NewOpener()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustSeal(t testing.TB, r *hushv1.Recipient, secrets []secret.Secret) *hushv1.Sealed {
	t.Helper()
	s, err := seal.Seal(r, secrets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var sample = []secret.Secret{
	{Name: "org/api/A_KEY", Value: []byte("sk_test_FAKE_a$b`c'd\"e\\f")},
	{Name: "org/api/B_KEY", Value: []byte("-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n\n")},
	{Name: "org/api/EMPTY", Value: []byte{}},
	{Name: "org/api/MAX", Value: bytes.Repeat([]byte{0xff}, secret.MaxValueSize)},
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		secrets []secret.Secret
	}{
		{"one secret comes back byte-exact", sample[:1]},
		{"several secrets come back byte-exact and in order", sample},
		{"an empty list seals and opens to nothing", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOpener(t)
			s := mustSeal(t, o.Recipient(), tc.secrets)
			got, err := o.Open(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.secrets) {
				t.Fatalf("opened %d secrets, sealed %d", len(got), len(tc.secrets))
			}
			for i := range got {
				if got[i].Name != tc.secrets[i].Name || !bytes.Equal(got[i].Value, tc.secrets[i].Value) {
					t.Errorf("secret %d: got name %q and a different value than sealed", i, got[i].Name)
				}
			}
		})
	}
}

func TestSealedCarriesNoPlaintext(t *testing.T) {
	o := newOpener(t)
	s := mustSeal(t, o.Recipient(), sample[:2])
	raw, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range sample[:2] {
		if bytes.Contains(raw, sec.Value) {
			t.Errorf("the marshalled reply contains the value of %s", sec.Name)
		}
	}
}

func TestOneEncapsulationPerResponse(t *testing.T) {
	o := newOpener(t)
	a := mustSeal(t, o.Recipient(), sample[:1])
	b := mustSeal(t, o.Recipient(), sample[:1])
	if len(a.GetEnc()) == 0 || bytes.Equal(a.GetEnc(), b.GetEnc()) {
		t.Fatal("two responses share an encapsulation")
	}
	if bytes.Equal(a.GetSecrets()[0].GetCiphertext(), b.GetSecrets()[0].GetCiphertext()) {
		t.Fatal("the same value sealed twice gave the same ciphertext")
	}
}

func TestTamperedRepliesDoNotOpen(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(s *hushv1.Sealed)
		want   error
	}{
		{"a flipped ciphertext bit is refused", func(s *hushv1.Sealed) { s.Secrets[0].Ciphertext[3] ^= 1 }, seal.ErrOpen},
		{"a truncated ciphertext is refused", func(s *hushv1.Sealed) { s.Secrets[1].Ciphertext = s.Secrets[1].Ciphertext[:5] }, seal.ErrOpen},
		{"a flipped encapsulation bit is refused", func(s *hushv1.Sealed) { s.Enc[10] ^= 1 }, seal.ErrOpen},
		{"a short encapsulation is refused", func(s *hushv1.Sealed) { s.Enc = s.Enc[:31] }, seal.ErrOpen},
		{"a renamed secret is refused", func(s *hushv1.Sealed) { s.Secrets[0].Name = "org/api/OTHER" }, seal.ErrOpen},
		{"swapped names are refused", func(s *hushv1.Sealed) {
			s.Secrets[0].Name, s.Secrets[1].Name = s.Secrets[1].Name, s.Secrets[0].Name
		}, seal.ErrOpen},
		{"reordered secrets are refused", func(s *hushv1.Sealed) { s.Secrets[0], s.Secrets[1] = s.Secrets[1], s.Secrets[0] }, seal.ErrOpen},
		{"a dropped first secret is refused", func(s *hushv1.Sealed) { s.Secrets = s.Secrets[1:] }, seal.ErrOpen},
		{"an unknown KEM id is refused", func(s *hushv1.Sealed) { s.KemId = 0x0020 }, seal.ErrUnsupported},
		{"an unknown KDF id is refused", func(s *hushv1.Sealed) { s.KdfId = 0x0002 }, seal.ErrUnsupported},
		{"an unknown AEAD id is refused", func(s *hushv1.Sealed) { s.AeadId = 0x0001 }, seal.ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOpener(t)
			s := mustSeal(t, o.Recipient(), sample[:2])
			tc.tamper(s)
			got, err := o.Open(s)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %d secrets, %v; want %v", len(got), err, tc.want)
			}
			if got != nil {
				t.Fatal("a refused reply still returned secrets")
			}
		})
	}
	t.Run("a missing payload is refused", func(t *testing.T) {
		if _, err := newOpener(t).Open(nil); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("Open(nil) = %v", err)
		}
	})
}

func TestACopyOfTheTrafficIsUselessToAnotherKey(t *testing.T) {
	owner, eavesdropper := newOpener(t), newOpener(t)
	raw, err := proto.Marshal(mustSeal(t, owner.Recipient(), sample[:2]))
	if err != nil {
		t.Fatal(err)
	}
	var copied hushv1.Sealed
	if err := proto.Unmarshal(raw, &copied); err != nil {
		t.Fatal(err)
	}
	if _, err := eavesdropper.Open(&copied); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("another key opened the copy: %v", err)
	}
	if _, err := owner.Open(&copied); err != nil {
		t.Fatalf("the owner cannot open the same bytes: %v", err)
	}
}

func TestSealRefusesBadRecipients(t *testing.T) {
	good := newOpener(t).Recipient()
	tests := []struct {
		name string
		r    *hushv1.Recipient
	}{
		{"no recipient is refused", nil},
		{"an X25519-only recipient is refused", &hushv1.Recipient{KemId: 0x0020, PublicKey: good.GetPublicKey()[:32]}},
		{"an unknown KEM id is refused", &hushv1.Recipient{KemId: 0xffff, PublicKey: good.GetPublicKey()}},
		{"a truncated public key is refused", &hushv1.Recipient{KemId: good.GetKemId(), PublicKey: good.GetPublicKey()[:100]}},
		{"an empty public key is refused", &hushv1.Recipient{KemId: good.GetKemId()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := seal.Seal(tc.r, sample[:1]); !errors.Is(err, seal.ErrUnsupported) {
				t.Fatalf("Seal = %v, want ErrUnsupported", err)
			}
		})
	}
}

func TestOpenNameAndPrefixRefuseMismatchedReplies(t *testing.T) {
	o := newOpener(t)
	one := []secret.Secret{{Name: "org/api/A_KEY", Value: []byte("v")}}
	tests := []struct {
		name string
		open func() error
		ok   bool
	}{
		{"the asked-for name opens", func() error { _, err := o.OpenName(mustSeal(t, o.Recipient(), one), "org/api/A_KEY"); return err }, true},
		{"another name than asked is refused", func() error { _, err := o.OpenName(mustSeal(t, o.Recipient(), one), "org/api/B_KEY"); return err }, false},
		{"two secrets for one name are refused", func() error {
			_, err := o.OpenName(mustSeal(t, o.Recipient(), sample[:2]), "org/api/A_KEY")
			return err
		}, false},
		{"no secret for one name is refused", func() error { _, err := o.OpenName(mustSeal(t, o.Recipient(), nil), "org/api/A_KEY"); return err }, false},
		{"sorted secrets below the prefix open", func() error { _, err := o.OpenPrefix(mustSeal(t, o.Recipient(), sample), "org/api"); return err }, true},
		{"a secret outside the prefix is refused", func() error { _, err := o.OpenPrefix(mustSeal(t, o.Recipient(), sample), "org/apix"); return err }, false},
		{"a repeated secret is refused", func() error {
			_, err := o.OpenPrefix(mustSeal(t, o.Recipient(), []secret.Secret{sample[0], sample[0]}), "org")
			return err
		}, false},
		{"unsorted secrets are refused", func() error {
			_, err := o.OpenPrefix(mustSeal(t, o.Recipient(), []secret.Secret{sample[1], sample[0]}), "org")
			return err
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open()
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, seal.ErrOpen) {
				t.Fatalf("got %v, want ErrOpen", err)
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			r := newOpener(b).Recipient()
			secrets := benchSecrets(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := seal.Seal(r, secrets); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			o := newOpener(b)
			s := mustSeal(b, o.Recipient(), benchSecrets(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := o.Open(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRequest is what one Get costs in crypto: a fresh key pair on the
// client, a seal on the daemon, an open on the client.
func BenchmarkRequest(b *testing.B) {
	secrets := benchSecrets(1)
	b.ReportAllocs()
	for b.Loop() {
		o, err := seal.NewOpener()
		if err != nil {
			b.Fatal(err)
		}
		s, err := seal.Seal(o.Recipient(), secrets)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.Open(s); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSecrets(n int) []secret.Secret {
	out := make([]secret.Secret, n)
	for i := range out {
		out[i] = secret.Secret{Name: fmt.Sprintf("org/bench/KEY_%02d", i), Value: bytes.Repeat([]byte("x"), 64)}
	}
	return out
}

func Example() {
	// The client makes a key pair per request and sends the public half.
	o, err := seal.NewOpener()
	if err != nil {
		log.Fatal(err)
	}
	// The daemon seals the values to it.
	sealed, err := seal.Seal(o.Recipient(), []secret.Secret{{Name: "org/api/STRIPE_KEY", Value: []byte("sk_test_FAKE")}})
	if err != nil {
		log.Fatal(err)
	}
	// Only the client can open the reply.
	s, err := o.OpenName(sealed, "org/api/STRIPE_KEY")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Name, len(s.Value))
	// Output: org/api/STRIPE_KEY 12
}
