package filevault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/store/filevault"
	"github.com/hush-dev/hush/internal/store/filevault/vaulttest"
	"github.com/hush-dev/hush/internal/store/storetest"
)

// testWorkFactor keeps scrypt cheap in tests; production uses age's default.
const testWorkFactor = 2

var (
	ctx        = context.Background()
	passphrase = []byte("correct horse battery staple")
)

func newVault(t *testing.T, withPassphrase bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "vault.age")
	opts := filevault.InitOptions{NoPassphrase: true}
	if withPassphrase {
		opts = filevault.InitOptions{Passphrase: passphrase, ScryptWorkFactor: testWorkFactor}
	}
	if err := filevault.Init(path, opts); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return path
}

func open(t *testing.T, path string) *filevault.Vault {
	t.Helper()
	v, err := filevault.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// openUnlocked opens path and, for a passphrase vault, unlocks it.
func openUnlocked(t *testing.T, path string, withPass bool) *filevault.Vault {
	t.Helper()
	v := open(t, path)
	if withPass {
		if err := v.Unlock(ctx, passphrase); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
	}
	return v
}

func TestConformance(t *testing.T) {
	t.Run("without a passphrase", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t, newVault(t, false)) })
	})
	t.Run("with a passphrase, unlocked", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return openUnlocked(t, newVault(t, true), true) })
	})
}

func TestValuesSurviveReopening(t *testing.T) {
	for _, withPass := range []bool{false, true} {
		name := "a vault without a passphrase keeps every value byte-exact"
		if withPass {
			name = "a passphrase vault keeps every value byte-exact"
		}
		t.Run(name, func(t *testing.T) {
			path := newVault(t, withPass)
			v := openUnlocked(t, path, withPass)
			values := storetest.Values()
			for k, val := range values {
				if err := v.Put(ctx, "org/"+k, val); err != nil {
					t.Fatalf("Put %s: %v", k, err)
				}
			}
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
			v = openUnlocked(t, path, withPass)
			for k, want := range values {
				got, err := v.Get(ctx, "org/"+k)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s after reopening: err=%v, %d bytes, want %d", k, err, len(got), len(want))
				}
			}
		})
	}
}

func TestFilesArePrivate(t *testing.T) {
	for _, withPass := range []bool{false, true} {
		path := newVault(t, withPass)
		v := openUnlocked(t, path, withPass)
		for _, k := range []string{"A", "B"} {
			if err := v.Put(ctx, "org/"+k, []byte("sk_test_FAKE_PRIVATE")); err != nil {
				t.Fatal(err)
			}
		}
		dir := filepath.Dir(path)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s has mode %04o, want 0600", e.Name(), perm)
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte("sk_test_FAKE_PRIVATE")) {
				t.Errorf("%s holds a value in plain text", e.Name())
			}
		}
		key := "identity.txt"
		if withPass {
			key = "identity.age"
		}
		want := strings.Join([]string{key, "vault.age", "vault.age.prev", "vault.lock"}, " ")
		if got := strings.Join(names, " "); got != want {
			t.Errorf("vault directory holds %q, want %q (no temp files left)", got, want)
		}
		info, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o700 {
			t.Errorf("vault directory has mode %04o, want 0700", perm)
		}
	}
}

func TestInitRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		opts    filevault.InitOptions
		wantErr error
	}{
		{
			name:    "an existing vault is never overwritten",
			prepare: func(t *testing.T, path string) { initAt(t, path) },
			opts:    filevault.InitOptions{NoPassphrase: true},
			wantErr: filevault.ErrExists,
		},
		{
			name: "a kept previous version blocks a new vault",
			prepare: func(t *testing.T, path string) {
				writeFile(t, path+".prev", "old vault")
			},
			opts:    filevault.InitOptions{NoPassphrase: true},
			wantErr: filevault.ErrExists,
		},
		{
			name: "a leftover identity is not replaced",
			prepare: func(t *testing.T, path string) {
				writeFile(t, filepath.Join(filepath.Dir(path), "identity.age"), "old key")
			},
			opts:    filevault.InitOptions{NoPassphrase: true},
			wantErr: filevault.ErrExists,
		},
		{
			name:    "both a passphrase and no passphrase is refused",
			opts:    filevault.InitOptions{Passphrase: passphrase, NoPassphrase: true},
			wantErr: nil,
		},
		{
			name:    "neither a passphrase nor no passphrase is refused",
			opts:    filevault.InitOptions{},
			wantErr: nil,
		},
		{
			name:    "a work factor age cannot decrypt is refused",
			opts:    filevault.InitOptions{Passphrase: passphrase, ScryptWorkFactor: 23},
			wantErr: nil,
		},
		{
			name: "a vault someone else holds open is refused",
			prepare: func(t *testing.T, path string) {
				initAt(t, path)
				os.Remove(path + ".prev")
				open(t, path)
			},
			opts:    filevault.InitOptions{NoPassphrase: true},
			wantErr: filevault.ErrBusy,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vault.age")
			if tt.prepare != nil {
				tt.prepare(t, path)
			}
			before := snapshot(t, filepath.Dir(path))
			err := filevault.Init(path, tt.opts)
			if err == nil {
				t.Fatal("Init succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Init = %v, want %v", err, tt.wantErr)
			}
			if after := snapshot(t, filepath.Dir(path)); after != before {
				t.Fatalf("Init changed the directory:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func initAt(t *testing.T, path string) {
	t.Helper()
	if err := filevault.Init(path, filevault.InitOptions{NoPassphrase: true}); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// snapshot describes every file in dir by name, mode and content, to prove
// that a refused operation touched nothing. The lock file is skipped: taking
// the lock to decide is allowed.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "vault.lock" {
			continue
		}
		info, _ := e.Info()
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b.WriteString(e.Name() + ":" + info.Mode().String() + ":" + string(bytes.Clone(data)) + "|")
	}
	return b.String()
}

func TestOneOwnerAtATime(t *testing.T) {
	path := newVault(t, false)
	v := open(t, path)
	if _, err := filevault.Open(path); !errors.Is(err, filevault.ErrBusy) {
		t.Fatalf("second Open = %v, want ErrBusy", err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := v.Get(ctx, "org/KEY"); !errors.Is(err, filevault.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	if err := v.Put(ctx, "org/KEY", []byte("v")); !errors.Is(err, filevault.ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}
	open(t, path) // the lock was released
}

func TestOpenMissingVault(t *testing.T) {
	_, err := filevault.Open(filepath.Join(t.TempDir(), "vault.age"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "hush init") {
		t.Fatalf("Open of a missing vault = %v; want ErrNotExist with a hint", err)
	}
}

func TestPassphraseVault(t *testing.T) {
	path := newVault(t, true)
	v := open(t, path)
	if !v.Locked() {
		t.Fatal("a passphrase vault opened unlocked")
	}
	checkLocked := func(when string) {
		t.Helper()
		if _, err := v.Get(ctx, "org/KEY"); !errors.Is(err, store.ErrLocked) {
			t.Errorf("%s: Get = %v, want ErrLocked", when, err)
		}
		if err := v.Put(ctx, "org/KEY", []byte("v")); !errors.Is(err, store.ErrLocked) {
			t.Errorf("%s: Put = %v, want ErrLocked", when, err)
		}
		if err := v.Delete(ctx, "org/KEY"); !errors.Is(err, store.ErrLocked) {
			t.Errorf("%s: Delete = %v, want ErrLocked", when, err)
		}
		if _, err := v.List(ctx, ""); !errors.Is(err, store.ErrLocked) {
			t.Errorf("%s: List = %v, want ErrLocked", when, err)
		}
	}
	checkLocked("before Unlock")
	for _, wrong := range [][]byte{[]byte("wrong"), nil, append([]byte(nil), passphrase[:len(passphrase)-1]...)} {
		if err := v.Unlock(ctx, wrong); !errors.Is(err, store.ErrBadPassphrase) {
			t.Fatalf("Unlock with a wrong passphrase = %v, want ErrBadPassphrase", err)
		}
	}
	checkLocked("after wrong passphrases")
	if err := v.Unlock(ctx, passphrase); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := v.Put(ctx, "org/KEY", []byte("sk_test_FAKE")); err != nil {
		t.Fatal(err)
	}
	if err := v.Unlock(ctx, []byte("wrong")); !errors.Is(err, store.ErrBadPassphrase) {
		t.Fatalf("Unlock of an unlocked vault with a wrong passphrase = %v, want ErrBadPassphrase", err)
	}
	if err := v.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if !v.Locked() {
		t.Fatal("Lock left the vault unlocked")
	}
	checkLocked("after Lock")
	if err := v.Unlock(ctx, passphrase); err != nil {
		t.Fatal(err)
	}
	if got, err := v.Get(ctx, "org/KEY"); err != nil || string(got) != "sk_test_FAKE" {
		t.Fatalf("after Lock and Unlock: err=%v, %d bytes", err, len(got))
	}
}

func TestVaultWithoutPassphrase(t *testing.T) {
	v := open(t, newVault(t, false))
	if v.Locked() {
		t.Fatal("a vault without a passphrase opened locked")
	}
	if err := v.Lock(ctx); !errors.Is(err, filevault.ErrNoPassphrase) {
		t.Fatalf("Lock = %v, want ErrNoPassphrase", err)
	}
	if err := v.Unlock(ctx, []byte("anything")); err != nil {
		t.Fatalf("Unlock = %v, want nil", err)
	}
	if v.Backend() != "file" {
		t.Fatalf("Backend = %q", v.Backend())
	}
}

func TestIdentityReadableByOthersIsRefused(t *testing.T) {
	path := newVault(t, false)
	id := filepath.Join(filepath.Dir(path), "identity.txt")
	if err := os.Chmod(id, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := filevault.Open(path)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Open with a world-readable identity = %v, want a chmod hint", err)
	}
	if err := os.Chmod(id, 0o600); err != nil {
		t.Fatal(err)
	}
	open(t, path) // the failed Open released the lock
}

func TestPreviousVersionIsKept(t *testing.T) {
	path := newVault(t, false)
	v := open(t, path)
	if err := v.Put(ctx, "org/FIRST", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := v.Put(ctx, "org/SECOND", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".prev", path); err != nil {
		t.Fatal(err)
	}
	v = open(t, path)
	names, err := v.List(ctx, "")
	if err != nil || strings.Join(names, ",") != "org/FIRST" {
		t.Fatalf("the previous version holds %q (%v), want just org/FIRST", names, err)
	}
}

// The daemon keeps the audit log's head in the vault within seconds of
// every audited call. Were each of those writes to rotate vault.age.prev,
// the previous version would be the current one again a few seconds after
// any `hush get`, and an overwritten value would be gone.
func TestTheDaemonsBookkeepingLeavesThePreviousVersionAlone(t *testing.T) {
	path := newVault(t, false)
	v := open(t, path)
	if err := v.Put(ctx, "t/K", []byte("sk_test_FAKE_OLD")); err != nil {
		t.Fatal(err)
	}
	if err := v.Put(ctx, "t/K", []byte("sk_test_FAKE_NEW")); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := v.PutBookkeeping(ctx, ".hush/audit-head", []byte(fmt.Sprintf("head %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("the vault holds the new value and the last bookkeeping", func(t *testing.T) {
		v := open(t, path)
		if got, err := v.Get(ctx, "t/K"); err != nil || string(got) != "sk_test_FAKE_NEW" {
			t.Errorf("t/K in the vault: %v, want the new value", err)
		}
		if got, err := v.Get(ctx, ".hush/audit-head"); err != nil || string(got) != "head 4" {
			t.Errorf(".hush/audit-head = %q, %v; want the last one written", got, err)
		}
		v.Close()
	})
	t.Run("the previous version holds the value before the last change", func(t *testing.T) {
		if err := os.Rename(path+".prev", path); err != nil {
			t.Fatal(err)
		}
		v := open(t, path)
		if got, err := v.Get(ctx, "t/K"); err != nil || string(got) != "sk_test_FAKE_OLD" {
			t.Errorf("t/K in vault.age.prev: %v, matches old %v, new %v; want the old value",
				err, string(got) == "sk_test_FAKE_OLD", string(got) == "sk_test_FAKE_NEW")
		}
	})
}

// A bookkeeping write replaces the vault as every write does: nothing is
// left behind but the vault (and the previous version, when there is one).
func TestBookkeepingIsWrittenLikeAnyWrite(t *testing.T) {
	path := newVault(t, false)
	v := open(t, path)
	if err := v.PutBookkeeping(ctx, ".hush/audit-key", []byte("k")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path + ".prev"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a bookkeeping write made a previous version (%v)", err)
	}
	if err := v.PutBookkeeping(ctx, "org//KEY", []byte("k")); !errors.Is(err, secret.ErrInvalidName) {
		t.Errorf("PutBookkeeping of an invalid name = %v, want ErrInvalidName", err)
	}
	if err := v.Put(ctx, "org/KEY", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := v.PutBookkeeping(ctx, ".hush/audit-key", []byte("k2")); err != nil {
		t.Fatal(err)
	}
	v.Close()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "identity.txt vault.age vault.age.prev vault.lock"; got != want {
		t.Errorf("the vault's directory holds %s, want %s", got, want)
	}
	v = open(t, path)
	if got, err := v.Get(ctx, ".hush/audit-key"); err != nil || string(got) != "k2" {
		t.Errorf("after reopening .hush/audit-key = %q, %v; want k2", got, err)
	}
}

// A name stored before format characters were refused (a bidi override
// could make a listing lie) keeps working: the vault opens, and the secret
// is listed, read and deleted by its name; it cannot be stored anew.
func TestANameStoredBeforeTheRulesForNewNamesStillWorks(t *testing.T) {
	path := newVault(t, false)
	const old = "s/\u202eYEK_EPIRTS"
	vaulttest.WriteDocument(t, path, `{"version":1,"secrets":{"s/\u202eYEK_EPIRTS":"c2tfdGVzdF9GQUtF","org/KEY":"YQ=="}}`)
	v := open(t, path)
	names, err := v.List(ctx, "")
	if err != nil || strings.Join(names, ",") != "org/KEY,"+old {
		t.Fatalf("List = %q, %v", names, err)
	}
	if _, err := v.Get(ctx, old); err != nil {
		t.Errorf("Get: %v", err)
	}
	if err := v.Put(ctx, old, []byte("x")); !errors.Is(err, secret.ErrInvalidName) || !strings.Contains(err.Error(), "U+202E") {
		t.Errorf("Put = %v, want ErrInvalidName naming U+202E", err)
	}
	if err := v.Delete(ctx, old); err != nil {
		t.Errorf("Delete: %v", err)
	}
}

func TestDamagedVault(t *testing.T) {
	damage := []struct {
		name  string
		apply func(t *testing.T, path string)
	}{
		{"a vault cut in half", func(t *testing.T, path string) {
			data := readFile(t, path)
			writeFile(t, path, string(data[:len(data)/2]))
		}},
		{"a vault missing its last byte", func(t *testing.T, path string) {
			data := readFile(t, path)
			writeFile(t, path, string(data[:len(data)-1]))
		}},
		{"a vault with one flipped bit in the ciphertext", func(t *testing.T, path string) {
			data := readFile(t, path)
			data[len(data)-20] ^= 0x01
			writeFile(t, path, string(data))
		}},
		{"an empty vault file", func(t *testing.T, path string) { writeFile(t, path, "") }},
		{"a vault that is not an age file", func(t *testing.T, path string) { writeFile(t, path, "STRIPE_KEY=sk_test_FAKE\n") }},
	}
	for _, withPass := range []bool{false, true} {
		for _, d := range damage {
			name := d.name + " is refused and nothing is overwritten"
			if withPass {
				name = "with a passphrase, " + name
			}
			t.Run(name, func(t *testing.T) {
				path := newVault(t, withPass)
				v := openUnlocked(t, path, withPass)
				for _, k := range []string{"A", "B", "C"} {
					if err := v.Put(ctx, "org/"+k, []byte("sk_test_FAKE_"+k)); err != nil {
						t.Fatal(err)
					}
				}
				v.Close()
				d.apply(t, path)
				before := snapshot(t, filepath.Dir(path))

				err := openAndUnlock(path, withPass)
				if !errors.Is(err, filevault.ErrCorrupt) {
					t.Fatalf("opening = %v, want ErrCorrupt", err)
				}
				msg := err.Error()
				if !strings.Contains(msg, path) || !strings.Contains(msg, path+".prev") {
					t.Fatalf("error %q does not name the vault and its previous version", msg)
				}
				if strings.Contains(msg, "\n") || strings.Contains(msg, "sk_test_FAKE") {
					t.Fatalf("error %q is not one clean line", msg)
				}
				if after := snapshot(t, filepath.Dir(path)); after != before {
					t.Fatal("a failed open changed files in the vault directory")
				}
				// The kept version is the way back.
				if err := os.Rename(path+".prev", path); err != nil {
					t.Fatal(err)
				}
				v = openUnlocked(t, path, withPass)
				if names, err := v.List(ctx, ""); err != nil || len(names) != 2 {
					t.Fatalf("previous version holds %q (%v), want 2 secrets", names, err)
				}
			})
		}
	}
}

func TestDamagedVaultWithoutPreviousVersion(t *testing.T) {
	path := newVault(t, false)
	writeFile(t, path, "garbage")
	_, err := filevault.Open(path)
	if !errors.Is(err, filevault.ErrCorrupt) || !strings.Contains(err.Error(), "no previous version") {
		t.Fatalf("Open = %v, want ErrCorrupt saying there is no previous version", err)
	}
}

func TestAnotherIdentityCannotOpenTheVault(t *testing.T) {
	path := newVault(t, false)
	other := newVault(t, false)
	idPath := filepath.Join(filepath.Dir(path), "identity.txt")
	writeFile(t, idPath, string(readFile(t, filepath.Join(filepath.Dir(other), "identity.txt"))))
	if _, err := filevault.Open(path); !errors.Is(err, filevault.ErrCorrupt) {
		t.Fatalf("Open with a foreign identity = %v, want ErrCorrupt", err)
	}
}

func openAndUnlock(path string, withPass bool) error {
	v, err := filevault.Open(path)
	if err != nil {
		return err
	}
	defer v.Close()
	if withPass {
		if err := v.Unlock(ctx, passphrase); err != nil {
			if !v.Locked() {
				return errors.New("a failed Unlock left the vault unlocked")
			}
			return err
		}
	}
	return nil
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestStaleTempFilesAreRemoved(t *testing.T) {
	path := newVault(t, false)
	dir := filepath.Dir(path)
	stale := filepath.Join(dir, ".vault.age.tmp-123456")
	writeFile(t, stale, "half-written")
	open(t, path)
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stale temp file survived Open: %v", err)
	}
}

// Setting a value a secret already has changes nothing, so it writes
// nothing: vault.age.prev keeps the version before the last real change.
func TestSettingTheSameValueAgainKeepsThePreviousVersion(t *testing.T) {
	path := newVault(t, false)
	v := open(t, path)
	for _, val := range []string{"sk_test_FAKE_V1", "sk_test_FAKE_V2", "sk_test_FAKE_V2"} {
		if err := v.Put(ctx, "org/K", []byte(val)); err != nil {
			t.Fatal(err)
		}
	}
	vault := readFile(t, path)
	if err := v.PutMany(ctx, []secret.Secret{{Name: "org/K", Value: []byte("sk_test_FAKE_V2")}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), vault) {
		t.Error("a PutMany that changes nothing rewrote the vault")
	}
	// Nor does one whose entries cancel out: K=X, then K back to V2.
	if err := v.PutMany(ctx, []secret.Secret{{Name: "org/K", Value: []byte("sk_test_FAKE_X")}, {Name: "org/K", Value: []byte("sk_test_FAKE_V2")}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), vault) {
		t.Error("a PutMany whose net result changes nothing rewrote the vault")
	}
	v.Close()
	if err := os.Rename(path+".prev", path); err != nil {
		t.Fatal(err)
	}
	v = open(t, path)
	if got, err := v.Get(ctx, "org/K"); err != nil || string(got) != "sk_test_FAKE_V1" {
		t.Errorf("org/K in vault.age.prev: %v, is V2 %v; want V1", err, string(got) == "sk_test_FAKE_V2")
	}
}

// An import is one change: every secret in one write, and vault.age.prev
// the vault from before all of them, not from before the last one.
func TestPutManyIsOneChange(t *testing.T) {
	path := newVault(t, false)
	v := open(t, path)
	if err := v.Put(ctx, "org/A", []byte("sk_test_FAKE_A0")); err != nil {
		t.Fatal(err)
	}
	batch := []secret.Secret{
		{Name: "org/A", Value: []byte("sk_test_FAKE_A1")},
		{Name: "org/B", Value: []byte("sk_test_FAKE_B1")},
		{Name: "org/C", Value: []byte("sk_test_FAKE_C1")},
	}
	t.Run("an invalid entry stores none of them", func(t *testing.T) {
		bad := append(slices.Clone(batch), secret.Secret{Name: "org/D", Value: []byte("nul\x00")})
		if err := v.PutMany(ctx, bad); !errors.Is(err, secret.ErrInvalidValue) {
			t.Fatalf("PutMany with a NUL value = %v, want ErrInvalidValue", err)
		}
		if names, _ := v.List(ctx, ""); strings.Join(names, ",") != "org/A" {
			t.Errorf("after a refused PutMany the vault holds %q", names)
		}
	})
	if err := v.PutMany(ctx, batch); err != nil {
		t.Fatal(err)
	}
	v.Close()
	if err := os.Rename(path+".prev", path); err != nil {
		t.Fatal(err)
	}
	v = open(t, path)
	names, err := v.List(ctx, "")
	if err != nil || strings.Join(names, ",") != "org/A" {
		t.Fatalf("vault.age.prev holds %q (%v), want just org/A", names, err)
	}
	if got, err := v.Get(ctx, "org/A"); err != nil || string(got) != "sk_test_FAKE_A0" {
		t.Errorf("org/A in vault.age.prev is not the value before the import (%v)", err)
	}
}

// The key file names the vault's path in a comment. A path with a newline
// or another control character (HUSH_HOME can hold any) must not break the
// file: Init succeeding and the vault never opening again is the worst of
// both.
func TestAPathWithControlCharactersKeepsTheKeyFileReadable(t *testing.T) {
	for _, dir := range []string{"new\nline", "cr\rand\ttab", "vt\vff\f", "ls\u2028ps\u2029"} {
		t.Run(fmt.Sprintf("%q", dir), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), dir, "vault.age")
			if err := filevault.Init(path, filevault.InitOptions{NoPassphrase: true}); err != nil {
				t.Fatalf("Init: %v", err)
			}
			v := open(t, path)
			if err := v.Put(ctx, "org/K", []byte("sk_test_FAKE_ctl")); err != nil {
				t.Fatal(err)
			}
			v.Close()
			v = open(t, path)
			if _, err := v.Get(ctx, "org/K"); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(readFile(t, filepath.Join(filepath.Dir(path), "identity.txt"))), "\n"), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "# ") || !strings.HasPrefix(lines[1], "# public key: ") || !strings.HasPrefix(lines[2], "AGE-SECRET-KEY-") {
				t.Errorf("identity.txt is not two comment lines and the key: %d lines", len(lines))
			}
		})
	}
}
