package secretservice

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"math/big"
)

// The dh-ietf1024-sha256-aes128-cbc-pkcs7 session of the Secret Service
// spec: Diffie-Hellman over the Second Oakley Group (RFC 2409 §6.2), the
// shared value hashed with HKDF-SHA256 into an AES-128 key. It only keeps
// values out of bus logs; the bus itself is the trust boundary.
//
// The exchange lives here rather than in go-keychain/secretservice because
// that library hashes the shared value without its leading zero bytes,
// while gnome-keyring (egg_dh_gen_secret), KeePassXC and python's
// secretstorage hash it padded to the prime's 128 bytes: one session in
// 256 would get a different key.
var (
	oakley2P, _ = new(big.Int).SetString("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)
	oakley2G    = big.NewInt(2)
)

const primeBytes = 128

func newKeypair() (private, public *big.Int, err error) {
	pMinus2 := new(big.Int).Sub(oakley2P, big.NewInt(2))
	private, err = rand.Int(rand.Reader, pMinus2)
	if err != nil {
		return nil, nil, err
	}
	private.Add(private, big.NewInt(1)) // in [1, p-2]
	return private, new(big.Int).Exp(oakley2G, private, oakley2P), nil
}

// padded is n big-endian in exactly primeBytes bytes.
func padded(n *big.Int) []byte {
	return n.FillBytes(make([]byte, primeBytes))
}

var errBadPeerKey = errors.New("the keyring sent an invalid session key")

// sessionKey derives the AES-128 key from the service's public value.
func sessionKey(peerPublic []byte, private *big.Int) ([]byte, error) {
	peer := new(big.Int).SetBytes(peerPublic)
	pMinus1 := new(big.Int).Sub(oakley2P, big.NewInt(1))
	if peer.Cmp(big.NewInt(1)) <= 0 || peer.Cmp(pMinus1) >= 0 {
		return nil, errBadPeerKey
	}
	shared := new(big.Int).Exp(peer, private, oakley2P)
	return hkdf.Key(sha256.New, padded(shared), nil, "", aes.BlockSize)
}

// errDecrypt never says more: the message must not depend on the value.
var errDecrypt = errors.New("the keyring's answer did not decrypt")

// decrypt opens a value sent over the session. The library's GetSecret
// turns a failure here into an empty value; hush must never mistake one for
// the other.
func decrypt(key, iv, ciphertext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errDecrypt
	}
	if len(iv) != aes.BlockSize || len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, errDecrypt
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	n := int(plain[len(plain)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, errDecrypt
	}
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(n)
	}
	if subtle.ConstantTimeCompare(plain[len(plain)-n:], want) != 1 {
		return nil, errDecrypt
	}
	return plain[:len(plain)-n], nil
}
