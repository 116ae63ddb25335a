// Command vaultfill replaces the secrets of a hush file vault made by
// `hush init --no-passphrase` with n generated ones, in one write. The
// benchmarks use it to measure a daemon holding many secrets: filling a
// vault through `hush set` rewrites the whole file on every set.
//
//	HUSH_HOME=… hush init --no-passphrase
//	HUSH_HOME=… vaultfill -n 10000 -prefix bench/fill
//
// It writes the vault's plaintext format (version 1) itself; if that format
// changes, the daemon refuses the file and says why.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/hush-dev/hush/internal/config"
	"github.com/hush-dev/hush/internal/secret"
)

func main() {
	n := flag.Int("n", 10000, "how many secrets")
	prefix := flag.String("prefix", "bench/fill", "the secrets' names are PREFIX/KEY_00000 …")
	flag.Parse()
	if err := fill(*n, *prefix); err != nil {
		fmt.Fprintln(os.Stderr, "vaultfill:", err)
		os.Exit(1)
	}
}

func fill(n int, prefix string) error {
	if n < 0 {
		return errors.New("-n must not be negative")
	}
	if err := secret.ValidatePrefix(prefix); err != nil {
		return err
	}
	paths, err := config.DefaultPaths()
	if err != nil {
		return err
	}
	key, err := os.ReadFile(filepath.Join(filepath.Dir(paths.Vault), "identity.txt"))
	if err != nil {
		return fmt.Errorf("%w (run `hush init --no-passphrase` first)", err)
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(key)))
	if err != nil {
		return err
	}
	id, ok := ids[0].(*age.X25519Identity)
	if !ok || len(ids) != 1 {
		return errors.New("identity.txt does not hold one X25519 identity")
	}
	secrets := make(map[string][]byte, n)
	for i := range n {
		name := fmt.Sprintf("%s/KEY_%05d", prefix, i)
		secrets[name] = fmt.Appendf(nil, "sk_test_FAKE_fill_%05d_0123456789abcdefghijklmnop", i)
	}
	plain, err := json.Marshal(struct {
		Version int               `json:"version"`
		Secrets map[string][]byte `json:"secrets"`
	}{1, secrets})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(paths.Vault), ".vaultfill-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w, err := age.Encrypt(tmp, id.Recipient())
	if err == nil {
		_, err = w.Write(plain)
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), paths.Vault)
}
