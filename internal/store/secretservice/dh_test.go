package secretservice

import (
	"bytes"
	"context"
	"crypto/rand"
	"math/big"
	"testing"

	ss "github.com/keybase/go-keychain/secretservice"

	"github.com/hush-dev/hush/internal/store/secretservice/sstest"
)

// TestShortSharedSecret runs key exchanges against each real keyring until
// one yields a shared value with a leading zero byte (about one in 256),
// and checks a value still goes through that session byte-exact. A key
// derived from the value without its leading zeros (as go-keychain does)
// would fail here.
func TestShortSharedSecret(t *testing.T) {
	for _, p := range sstest.Providers {
		t.Run(p.Name, func(t *testing.T) {
			p.Start(t)
			ctx := context.Background()
			s, err := Open(ctx, WithPrompt(false))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for try := 0; ; try++ {
				if try == 5000 {
					t.Fatal("no short shared value in 5000 exchanges")
				}
				sess, peer, err := s.exchange(ctx)
				if err != nil {
					t.Fatal(err)
				}
				shared := new(big.Int).Exp(new(big.Int).SetBytes(peer), sess.Private, oakley2P)
				if len(shared.Bytes()) == primeBytes {
					_ = s.obj(sess.Path).CallWithContext(ctx, "org.freedesktop.Secret.Session.Close", 0).Err
					continue
				}
				s.closeSession()
				s.session = sess
				break
			}
			value := []byte("through a short shared value")
			if err := s.Put(ctx, "org/SHORT", value); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, err := s.Get(ctx, "org/SHORT")
			if err != nil || !bytes.Equal(got, value) {
				t.Fatalf("Get = %q, %v", got, err)
			}
		})
	}
}

func TestDecryptRefusesWhatDoesNotDecrypt(t *testing.T) {
	key := make([]byte, 16)
	iv := make([]byte, 16)
	rand.Read(key)
	rand.Read(iv)
	good := encryptForTest(t, key, iv, []byte("value"))
	// In CBC a flipped IV byte flips the same plaintext byte: the last
	// padding byte 0x0b becomes 0xf4, which no padding can be.
	tampered := append([]byte(nil), iv...)
	tampered[15] ^= 0xff
	cases := []struct {
		name           string
		key, iv, input []byte
	}{
		{"an empty ciphertext", key, iv, nil},
		{"a ciphertext that is not whole blocks", key, iv, good[:len(good)-1]},
		{"a short IV", key, iv[:8], good},
		{"a key of the wrong size", key[:5], iv, good},
		{"a tampered IV that breaks the padding", key, tampered, good},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if v, err := decrypt(c.key, c.iv, c.input); err != errDecrypt || v != nil {
				t.Fatalf("decrypt = %q, %v", v, err)
			}
		})
	}
	t.Run("a good ciphertext opens", func(t *testing.T) {
		v, err := decrypt(key, iv, good)
		if err != nil || string(v) != "value" {
			t.Fatalf("decrypt = %q, %v", v, err)
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	f.Add(make([]byte, 16), make([]byte, 16), make([]byte, 32))
	f.Fuzz(func(t *testing.T, key, iv, ct []byte) {
		decrypt(key, iv, ct) // must not panic
	})
}

func TestSessionKeyRefusesDegeneratePeerValues(t *testing.T) {
	priv, _, err := newKeypair()
	if err != nil {
		t.Fatal(err)
	}
	pMinus1 := new(big.Int).Sub(oakley2P, big.NewInt(1))
	for name, peer := range map[string][]byte{
		"zero":            {0},
		"one":             {1},
		"p minus one":     pMinus1.Bytes(),
		"the prime":       oakley2P.Bytes(),
		"an empty answer": nil,
	} {
		t.Run("a peer value of "+name+" is refused", func(t *testing.T) {
			if _, err := sessionKey(peer, priv); err != errBadPeerKey {
				t.Fatalf("sessionKey = %v", err)
			}
		})
	}
}

func encryptForTest(t *testing.T, key, iv, plain []byte) []byte {
	t.Helper()
	sess := &ss.Session{Mode: ss.AuthenticationDHAES, AESKey: key}
	sec, err := sess.NewSecret(plain)
	if err != nil {
		t.Fatal(err)
	}
	// NewSecret picks its own IV; re-encrypting is not possible through
	// its API, so the test adopts that IV.
	copy(iv, sec.Parameters)
	return sec.Value
}
