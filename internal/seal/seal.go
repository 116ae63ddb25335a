// Package seal encrypts responses to the requesting client with HPKE
// (RFC 9180): ML-KEM-768+X25519, HKDF-SHA256, ChaCha20-Poly1305; one
// encapsulation per response, one ciphertext per secret, the secret's name
// as associated data.
package seal

import (
	"crypto/hpke"
	"errors"
	"fmt"

	"github.com/hush-dev/hush/internal/secret"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// info binds every key schedule to this protocol and its purpose, so a
// ciphertext made for anything else never opens here.
const info = "hush.v1 sealed response"

var (
	// ErrUnsupported: a recipient or sealed message names a suite (or
	// carries a key) this version does not use.
	ErrUnsupported = errors.New("unsupported HPKE suite or key")
	// ErrOpen: a sealed message did not decrypt: it was made for another
	// key, or altered on the way.
	ErrOpen = errors.New("sealed reply does not open")
)

// The one suite hush speaks. The hybrid KEM keeps a recorded copy of the
// socket traffic closed even against a future quantum adversary.
var (
	kem  = hpke.MLKEM768X25519()
	kdf  = hpke.HKDFSHA256()
	aead = hpke.ChaCha20Poly1305()
)

// Opener is a client's ephemeral key pair.
type Opener struct {
	priv hpke.PrivateKey
}

// NewOpener generates a fresh key pair.
func NewOpener() (*Opener, error) {
	priv, err := kem.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate HPKE key: %w", err)
	}
	return &Opener{priv: priv}, nil
}

// Recipient is the public half to put in a request.
func (o *Opener) Recipient() *hushv1.Recipient {
	return &hushv1.Recipient{
		KemId:     uint32(kem.ID()),
		PublicKey: o.priv.PublicKey().Bytes(),
	}
}

// Open decrypts every secret of s, in order.
func (o *Opener) Open(s *hushv1.Sealed) ([]secret.Secret, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: the reply carries no sealed payload", ErrOpen)
	}
	if s.GetKemId() != uint32(kem.ID()) || s.GetKdfId() != uint32(kdf.ID()) || s.GetAeadId() != uint32(aead.ID()) {
		return nil, fmt.Errorf("%w: suite kem=%#x kdf=%#x aead=%#x", ErrUnsupported, s.GetKemId(), s.GetKdfId(), s.GetAeadId())
	}
	r, err := hpke.NewRecipient(s.GetEnc(), o.priv, kdf, aead, []byte(info))
	if err != nil {
		return nil, fmt.Errorf("%w: bad encapsulation", ErrOpen)
	}
	out := make([]secret.Secret, 0, len(s.GetSecrets()))
	for _, ss := range s.GetSecrets() {
		v, err := r.Open([]byte(ss.GetName()), ss.GetCiphertext())
		if err != nil {
			return nil, fmt.Errorf("%w: secret %q", ErrOpen, ss.GetName())
		}
		out = append(out, secret.Secret{Name: ss.GetName(), Value: v})
	}
	return out, nil
}

// Seal encrypts secrets to r under one encapsulation.
func Seal(r *hushv1.Recipient, secrets []secret.Secret) (*hushv1.Sealed, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: no recipient key in the request", ErrUnsupported)
	}
	if r.GetKemId() != uint32(kem.ID()) {
		return nil, fmt.Errorf("%w: KEM %#x (want %#x, ML-KEM-768+X25519)", ErrUnsupported, r.GetKemId(), kem.ID())
	}
	pk, err := kem.NewPublicKey(r.GetPublicKey())
	if err != nil {
		return nil, fmt.Errorf("%w: malformed recipient public key", ErrUnsupported)
	}
	enc, sender, err := hpke.NewSender(pk, kdf, aead, []byte(info))
	if err != nil {
		return nil, fmt.Errorf("hpke sender: %w", err)
	}
	out := &hushv1.Sealed{
		KemId:   uint32(kem.ID()),
		KdfId:   uint32(kdf.ID()),
		AeadId:  uint32(aead.ID()),
		Enc:     enc,
		Secrets: make([]*hushv1.SealedSecret, 0, len(secrets)),
	}
	for _, s := range secrets {
		ct, err := sender.Seal([]byte(s.Name), s.Value)
		if err != nil {
			return nil, fmt.Errorf("seal %q: %w", s.Name, err)
		}
		out.Secrets = append(out.Secrets, &hushv1.SealedSecret{Name: s.Name, Ciphertext: ct})
	}
	return out, nil
}

// OpenName opens the reply to a request for exactly one secret, name: a
// reply holding anything else is refused.
func (o *Opener) OpenName(s *hushv1.Sealed, name string) (secret.Secret, error) {
	got, err := o.Open(s)
	if err != nil {
		return secret.Secret{}, err
	}
	if len(got) != 1 || got[0].Name != name {
		return secret.Secret{}, fmt.Errorf("%w: the reply does not hold exactly %q", ErrOpen, name)
	}
	return got[0], nil
}

// OpenPrefix opens the reply to a request for every secret below prefix:
// names must be strictly ascending (no repeats) and each at or below
// prefix, or the reply is refused.
func (o *Opener) OpenPrefix(s *hushv1.Sealed, prefix string) ([]secret.Secret, error) {
	got, err := o.Open(s)
	if err != nil {
		return nil, err
	}
	for i, g := range got {
		if !secret.Under(prefix, g.Name) {
			return nil, fmt.Errorf("%w: the reply holds %q, outside %q", ErrOpen, g.Name, prefix)
		}
		if i > 0 && got[i-1].Name >= g.Name {
			return nil, fmt.Errorf("%w: the reply repeats or reorders %q", ErrOpen, g.Name)
		}
	}
	return got, nil
}
