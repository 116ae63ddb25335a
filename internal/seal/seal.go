// Package seal encrypts responses to the requesting client with HPKE
// (RFC 9180): ML-KEM-768+X25519, HKDF-SHA256, ChaCha20-Poly1305; one
// encapsulation per response, one ciphertext per secret, the secret's name
// as associated data.
package seal

import (
	"github.com/hush-dev/hush/internal/secret"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// Opener is a client's ephemeral key pair.
type Opener struct{}

// NewOpener generates a fresh key pair.
func NewOpener() (*Opener, error) { panic("TODO") }

// Recipient is the public half to put in a request.
func (o *Opener) Recipient() *hushv1.Recipient { panic("TODO") }

// Open decrypts every secret of s, in order.
func (o *Opener) Open(s *hushv1.Sealed) ([]secret.Secret, error) { panic("TODO") }

// Seal encrypts secrets to r under one encapsulation.
func Seal(r *hushv1.Recipient, secrets []secret.Secret) (*hushv1.Sealed, error) { panic("TODO") }
