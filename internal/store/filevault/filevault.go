// Package filevault is the default store: one age-encrypted file.
//
// The vault (vault.age) is encrypted to an X25519 identity. That identity
// lives next to the vault, either in identity.txt (mode 0600, no
// passphrase) or in identity.age, wrapped with age's scrypt recipient. Only
// Unlock pays for scrypt; every write re-encrypts to the X25519 recipient,
// which is fast.
//
// Inside is a versioned JSON document; values are base64 so they come back
// byte-exact. Every write goes to a temp file in the same directory, is
// fsynced, and a rename puts it in place (then the directory is fsynced).
// A write that changes the user's secrets first keeps the file it replaces
// as vault.age.prev; the daemon's own bookkeeping (PutBookkeeping: the
// audit log's head, kept every few seconds) does not, or the previous
// version would soon be the current one again. A damaged vault is never
// written over: Open and Unlock fail naming the file and the kept previous
// version. An exclusive flock on vault.lock, held while the vault is open,
// makes one daemon its only owner.
package filevault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"filippo.io/age"
	"github.com/gofrs/flock"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
)

var (
	_ store.Store      = (*Vault)(nil)
	_ store.Locker     = (*Vault)(nil)
	_ store.Closer     = (*Vault)(nil)
	_ store.Named      = (*Vault)(nil)
	_ store.Bookkeeper = (*Vault)(nil)
	_ store.Batcher    = (*Vault)(nil)
)

var (
	// ErrBusy: another process (or another Open in this one) holds the vault.
	ErrBusy = errors.New("vault is in use by another process")
	// ErrCorrupt: the vault file cannot be decrypted or decoded.
	ErrCorrupt = errors.New("vault is damaged")
	// ErrExists: Init found a vault (or its key) and left it alone.
	ErrExists = errors.New("vault already exists")
	// ErrClosed: the Vault was used after Close.
	ErrClosed = errors.New("vault is closed")
	// ErrNoPassphrase: Lock on a vault whose key needs no passphrase.
	ErrNoPassphrase = errors.New("vault has no passphrase, so it cannot be locked")
)

// DefaultScryptWorkFactor is age's own default (2^18, about a second).
const DefaultScryptWorkFactor = 18

// maxScryptWorkFactor is the most age accepts when decrypting.
const maxScryptWorkFactor = 22

// InitOptions choose how the vault key is protected.
type InitOptions struct {
	// Passphrase wraps the vault identity with age's scrypt recipient.
	Passphrase []byte
	// NoPassphrase keeps the identity in a 0600 key file next to the vault.
	NoPassphrase bool
	// ScryptWorkFactor is log2 of scrypt's cost for Passphrase; 0 means
	// DefaultScryptWorkFactor. Lower values exist for tests, which would
	// otherwise spend a second per Unlock.
	ScryptWorkFactor int
}

// CheckFree returns ErrExists if a vault, its previous version or its key
// is at path already. Init checks again under the vault's lock; callers
// check first to refuse before asking for a passphrase.
func CheckFree(path string) error {
	for _, p := range []string{path, prevPath(path), identityPath(path), wrappedIdentityPath(path)} {
		found, err := exists(p)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		if found {
			return fmt.Errorf("%w: found %s; move it away to create a new vault", ErrExists, p)
		}
	}
	return nil
}

// Init creates a new, empty vault at path. It refuses to overwrite one, and
// also refuses when a previous version or an identity file is still there,
// since a new vault would orphan or replace them.
func Init(path string, opts InitOptions) (err error) {
	usePass := len(opts.Passphrase) > 0
	if usePass == opts.NoPassphrase {
		return errors.New("init: choose exactly one of a passphrase or no passphrase")
	}
	wf := opts.ScryptWorkFactor
	if wf == 0 {
		wf = DefaultScryptWorkFactor
	}
	if usePass && (wf < 1 || wf > maxScryptWorkFactor) {
		return fmt.Errorf("init: scrypt work factor %d is outside 1..%d", wf, maxScryptWorkFactor)
	}
	if err := os.MkdirAll(filepath.Dir(path), privateDirMode); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	lk, err := acquire(path)
	if err != nil {
		return err
	}
	defer lk.Unlock()

	if err := CheckFree(path); err != nil {
		return err
	}

	id, err := age.GenerateX25519Identity()
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	keyFile := identityPath(path)
	var keyData []byte
	if usePass {
		keyFile = wrappedIdentityPath(path)
		if keyData, err = wrapIdentity(id, opts.Passphrase, wf); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	} else {
		// The path is quoted: a newline in it (HUSH_HOME can hold one)
		// would otherwise end the comment and make the rest of the path a
		// line age cannot parse, and the vault would never open again.
		keyData = []byte(fmt.Sprintf("# hush vault identity for %s\n# public key: %s\n%s\n", strconv.Quote(path), id.Recipient(), id))
	}
	if err := writeNewFile(keyFile, keyData); err != nil {
		return fmt.Errorf("init: writing %s: %w", keyFile, err)
	}
	clear(keyData)
	defer func() {
		if err != nil {
			os.Remove(keyFile)
		}
	}()
	if err := writeVault(path, id.Recipient(), map[string][]byte{}, false); err != nil {
		return fmt.Errorf("init: writing %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func wrapIdentity(id *age.X25519Identity, passphrase []byte, workFactor int) ([]byte, error) {
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(workFactor)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, id.String()); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// acquire takes the vault's exclusive lock without waiting: a second owner
// is a configuration error to report, not something to queue behind.
func acquire(path string) (*flock.Flock, error) {
	lk := flock.New(lockPath(path), flock.SetPermissions(privateFileMode))
	ok, err := lk.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking vault %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s is held (lock file %s); is another hush daemon running?", ErrBusy, path, lockPath(path))
	}
	return lk, nil
}

// Vault is an open file vault. It holds an exclusive lock on the vault for
// as long as it is open.
type Vault struct {
	path     string
	wrapped  bool // the identity needs a passphrase (identity.age)
	lockFile *flock.Flock

	// writeMu serialises writers, so the slow part of a write (encrypt,
	// fsync) happens outside mu and readers are not held up by the disk.
	writeMu sync.Mutex

	// unsure: the last write's file is in place but was not made durable
	// (or its previous version not kept), so the next update writes even
	// when it changes nothing: a retry must not be a silent no-op.
	// Guarded by writeMu.
	unsure bool

	mu        sync.RWMutex
	closed    bool
	identity  *age.X25519Identity // nil while locked
	recipient *age.X25519Recipient
	secrets   map[string][]byte // replaced wholesale, never changed in place
}

// Open opens the vault at path. A passphrase vault starts locked.
func Open(path string) (_ *Vault, err error) {
	if found, err := exists(path); err != nil {
		return nil, err
	} else if !found {
		return nil, fmt.Errorf("no vault at %s (run `hush init` to create one): %w", path, fs.ErrNotExist)
	}
	lk, err := acquire(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lk.Unlock()
		}
	}()
	removeStaleTemps(path)

	plainKey, err := exists(identityPath(path))
	if err != nil {
		return nil, err
	}
	wrappedKey, err := exists(wrappedIdentityPath(path))
	if err != nil {
		return nil, err
	}
	v := &Vault{path: path, lockFile: lk, wrapped: wrappedKey}
	switch {
	case plainKey && wrappedKey:
		return nil, fmt.Errorf("both %s and %s exist; keep only the one this vault uses", identityPath(path), wrappedIdentityPath(path))
	case !plainKey && !wrappedKey:
		return nil, fmt.Errorf("vault %s has no key: neither %s nor %s exists", path, identityPath(path), wrappedIdentityPath(path))
	case wrappedKey:
		// The contents wait for Unlock, but a damaged file should be
		// reported now rather than after the user types a passphrase.
		if err := v.checkHeader(); err != nil {
			return nil, err
		}
		return v, nil
	}
	data, err := readPrivateFile(identityPath(path))
	if err != nil {
		return nil, err
	}
	id, err := parseIdentity(data)
	clear(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", identityPath(path), err)
	}
	if err := v.load(id); err != nil {
		return nil, err
	}
	return v, nil
}

func parseIdentity(data []byte) (*age.X25519Identity, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if len(ids) != 1 {
		return nil, fmt.Errorf("want one identity, found %d", len(ids))
	}
	id, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, errors.New("not an X25519 identity")
	}
	return id, nil
}

func (v *Vault) checkHeader() error {
	f, err := os.Open(v.path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(ageHeaderLine))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != ageHeaderLine {
		return v.damaged(errors.New("not an age file"))
	}
	return nil
}

// load decrypts the vault with id and makes it the open state.
func (v *Vault) load(id *age.X25519Identity) error {
	f, err := os.Open(v.path)
	if err != nil {
		return err
	}
	defer f.Close()
	secrets, err := decodeFile(f, id)
	if err != nil {
		return v.damaged(err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.identity, v.recipient, v.secrets = id, id.Recipient(), secrets
	return nil
}

// damaged names the file and what is left to fall back on; the caller
// writes nothing after it.
func (v *Vault) damaged(cause error) error {
	prev := prevPath(v.path)
	if ok, _ := exists(prev); ok {
		return fmt.Errorf("%w: cannot read %s (%v); nothing was changed, and the previous version is kept at %s", ErrCorrupt, v.path, cause, prev)
	}
	return fmt.Errorf("%w: cannot read %s (%v); nothing was changed, and there is no previous version", ErrCorrupt, v.path, cause)
}

// readable returns the current secrets, or why they cannot be read.
func (v *Vault) readable() (map[string][]byte, error) {
	switch {
	case v.closed:
		return nil, ErrClosed
	case v.identity == nil:
		return nil, store.ErrLocked
	}
	return v.secrets, nil
}

func (v *Vault) Get(ctx context.Context, name string) ([]byte, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	secrets, err := v.readable()
	if err != nil {
		return nil, err
	}
	value, ok := secrets[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", store.ErrNotFound, name)
	}
	return bytes.Clone(value), nil
}

func (v *Vault) Put(ctx context.Context, name string, value []byte) error {
	return v.put(ctx, name, value, true)
}

// PutBookkeeping is Put that leaves vault.age.prev as it is: the version
// before the user's last change stays there however often the daemon
// writes its own entries.
func (v *Vault) PutBookkeeping(ctx context.Context, name string, value []byte) error {
	return v.put(ctx, name, value, false)
}

func (v *Vault) put(ctx context.Context, name string, value []byte, keepPrev bool) error {
	return v.putMany(ctx, []secret.Secret{{Name: name, Value: value}}, keepPrev)
}

// PutMany stores every secret in one write of the vault, so vault.age.prev
// keeps the version from before all of them; on error it stores none.
func (v *Vault) PutMany(ctx context.Context, secrets []secret.Secret) error {
	return v.putMany(ctx, secrets, true)
}

func (v *Vault) putMany(ctx context.Context, secrets []secret.Secret, keepPrev bool) error {
	for _, sec := range secrets {
		if err := secret.ValidateName(sec.Name); err != nil {
			return err
		}
		if err := secret.ValidateValue(sec.Name, sec.Value); err != nil {
			return err
		}
	}
	// A name given twice keeps its last value; with one entry per name,
	// a change that leaves every value as it was changes nothing.
	last := make(map[string][]byte, len(secrets))
	for _, sec := range secrets {
		last[sec.Name] = sec.Value
	}
	return v.update(ctx, keepPrev, func(m map[string][]byte) bool {
		changed := false
		for name, value := range last {
			if cur, ok := m[name]; ok && bytes.Equal(cur, value) {
				continue
			}
			stored := make([]byte, len(value))
			copy(stored, value)
			m[name], changed = stored, true
		}
		return changed
	})
}

func (v *Vault) Delete(ctx context.Context, name string) error {
	var missing error
	err := v.update(ctx, true, func(m map[string][]byte) bool {
		if _, ok := m[name]; !ok {
			missing = fmt.Errorf("%w: %q", store.ErrNotFound, name)
			return false
		}
		delete(m, name)
		return true
	})
	if err != nil {
		return err
	}
	return missing
}

// update applies change to a copy of the secrets, makes the copy durable,
// and only then lets readers see it; a failed write leaves memory and disk
// as they were. change reports whether it changed anything: a change that
// changes nothing writes nothing, so setting a value again keeps the
// previous version. keepPrev says whether the change is the user's, whose
// previous version is kept.
func (v *Vault) update(ctx context.Context, keepPrev bool, change func(map[string][]byte) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.writeMu.Lock()
	defer v.writeMu.Unlock()

	// Only writers replace v.secrets and writeMu is ours, so reading the
	// fields without mu cannot race with a change.
	v.mu.RLock()
	old, err := v.readable()
	recipient := v.recipient
	v.mu.RUnlock()
	if err != nil {
		return err
	}
	next := maps.Clone(old)
	if !change(next) && !v.unsure {
		return nil
	}
	werr := writeVault(v.path, recipient, next, keepPrev)
	if werr != nil && !written(werr) {
		return fmt.Errorf("writing vault %s: %w; the vault is unchanged", v.path, werr)
	}
	v.unsure = werr != nil
	v.mu.Lock()
	v.secrets = next
	v.mu.Unlock()
	// Scrub values that are no longer reachable: replaced or deleted ones.
	for name, value := range old {
		if nv, ok := next[name]; !ok || !sameBacking(nv, value) {
			clear(value)
		}
	}
	if werr != nil {
		return fmt.Errorf("vault %s: %w", v.path, werr)
	}
	return nil
}

func sameBacking(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// writeVault encrypts secrets to r and puts them at path atomically.
func writeVault(path string, r age.Recipient, secrets map[string][]byte, keepPrev bool) error {
	plain, err := encodeDocument(secrets)
	if err != nil {
		return err
	}
	defer clear(plain)
	return writeAtomic(path, keepPrev, func(out io.Writer) error {
		w, err := age.Encrypt(out, r)
		if err != nil {
			return err
		}
		if _, err := w.Write(plain); err != nil {
			return err
		}
		return w.Close()
	})
}

func (v *Vault) List(ctx context.Context, prefix string) ([]string, error) {
	if err := secret.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	secrets, err := v.readable()
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range secrets {
		if secret.Under(prefix, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

func (v *Vault) Locked() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.identity == nil
}

// Lock forgets the key and the decrypted secrets until Unlock.
func (v *Vault) Lock(ctx context.Context) error {
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case v.closed:
		return ErrClosed
	case !v.wrapped:
		return ErrNoPassphrase
	}
	v.forget()
	return nil
}

func (v *Vault) forget() {
	for _, value := range v.secrets {
		clear(value)
	}
	v.identity, v.recipient, v.secrets = nil, nil, nil
}

// Unlock opens a passphrase vault. On a vault that is already unlocked it
// still checks the passphrase, so a wrong one is always reported.
func (v *Vault) Unlock(ctx context.Context, passphrase []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	v.mu.RLock()
	closed, wrapped, unlocked := v.closed, v.wrapped, v.identity != nil
	v.mu.RUnlock()
	switch {
	case closed:
		return ErrClosed
	case !wrapped:
		return nil
	}
	id, err := v.unwrapIdentity(passphrase)
	if err != nil {
		return err
	}
	if unlocked {
		return nil
	}
	return v.load(id)
}

func (v *Vault) unwrapIdentity(passphrase []byte) (*age.X25519Identity, error) {
	if len(passphrase) == 0 {
		return nil, store.ErrBadPassphrase
	}
	keyFile := wrappedIdentityPath(v.path)
	data, err := readPrivateFile(keyFile)
	if err != nil {
		return nil, err
	}
	sid, err := age.NewScryptIdentity(string(passphrase))
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(bytes.NewReader(data), sid)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, store.ErrBadPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", keyFile, err)
	}
	plain, err := io.ReadAll(r)
	defer clear(plain)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", keyFile, err)
	}
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(plain)))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", keyFile, err)
	}
	return id, nil
}

// Close forgets the secrets and releases the lock. Closing twice is fine.
func (v *Vault) Close() error {
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	v.forget()
	return v.lockFile.Unlock()
}

func (v *Vault) Backend() string { return "file" }
