// Package store defines where secrets live. Backends live in sub-packages.
package store

import (
	"context"
	"errors"
)

// Errors every backend returns for the same conditions, so the server can
// translate them once.
var (
	// ErrNotFound: no secret has that name.
	ErrNotFound = errors.New("secret not found")
	// ErrLocked: the backend holds secrets but cannot read them until unlocked.
	ErrLocked = errors.New("store is locked")
	// ErrBadPassphrase: Unlock was given the wrong passphrase.
	ErrBadPassphrase = errors.New("wrong passphrase")
)

// Store keeps secret values by name. Values are bytes and come back
// byte-exact. Implementations are safe for concurrent use, and neither keep
// the slice passed to Put nor hand out one they keep. The storetest package
// checks all of this for every backend.
type Store interface {
	// Get returns the value of name, or ErrNotFound / ErrLocked.
	Get(ctx context.Context, name string) ([]byte, error)
	// Put stores value under name, replacing any previous value. It returns
	// only once the value is durable. Names and values the secret package
	// refuses are refused here too (secret.ErrInvalidName,
	// secret.ErrInvalidValue), so no backend can hold what hush cannot
	// deliver.
	Put(ctx context.Context, name string, value []byte) error
	// Delete removes name, or returns ErrNotFound.
	Delete(ctx context.Context, name string) error
	// List returns the sorted names at or below prefix ("" lists all), as
	// secret.Under decides. An empty result is not an error.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Locker is implemented by stores that can be locked and unlocked.
type Locker interface {
	Locked() bool
	Lock(ctx context.Context) error
	// Unlock returns ErrBadPassphrase when the passphrase is wrong.
	Unlock(ctx context.Context, passphrase []byte) error
}

// Bookkeeper is implemented by stores that keep the version of the user's
// secrets before their last change (the file vault's vault.age.prev).
// PutBookkeeping is Put for the daemon's own entries (the audit key and
// head): the same contract, but the write is no change to the user's
// secrets, so the kept version stays as it is. A store without this keeps
// nothing to protect, and Put does.
type Bookkeeper interface {
	PutBookkeeping(ctx context.Context, name string, value []byte) error
}

// Closer is implemented by stores that hold resources (a file lock, a bus
// connection).
type Closer interface {
	Close() error
}

// Named is implemented by stores that can say which backend they are
// ("file", "secretservice", "keychain").
type Named interface {
	Backend() string
}
