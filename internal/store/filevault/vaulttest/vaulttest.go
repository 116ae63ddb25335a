// Package vaulttest helps tests put a file vault into a given state.
package vaulttest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

// WriteDocument replaces the vault at path with the plaintext document
// plain, encrypted to the vault's own key file (identity.txt beside it, as
// `hush init --no-passphrase` makes): a vault as another version of hush,
// or a damaged one, left it.
func WriteDocument(t testing.TB, path, plain string) {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(filepath.Dir(path), "identity.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(key))
	if err != nil || len(ids) != 1 {
		t.Fatalf("identity.txt: %v", err)
	}
	x, ok := ids[0].(*age.X25519Identity)
	if !ok {
		t.Fatalf("identity.txt holds a %T, not an X25519 identity", ids[0])
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, x.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(plain)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
