// Package store defines where secrets live. Backends live in sub-packages.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/hush-dev/hush/internal/secret"
)

// Errors every backend returns for the same conditions, so the server can
// translate them once.
var (
	// ErrNotFound: no secret has that name.
	ErrNotFound = errors.New("secret not found")
	// ErrWritten: a write failed after (some of) the change was made, so
	// the caller must not say that nothing changed.
	ErrWritten = errors.New("written")
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

// Batcher is implemented by stores that can store several secrets as one
// change (the file vault: one replacement of the vault, one rotation of
// vault.age.prev). PutMany stores every secret or, on error, none of them;
// a name given twice keeps its last value. It refuses what Put refuses,
// before storing anything.
type Batcher interface {
	PutMany(ctx context.Context, secrets []secret.Secret) error
}

// PutMany stores secrets in s: as one change when s is a Batcher, else
// with one Put each, in order. Either way what Put refuses is refused before
// anything is stored; without a Batcher a failure of the store part-way
// leaves the secrets before it stored, and the error says how many.
func PutMany(ctx context.Context, s Store, secrets []secret.Secret) error {
	if b, ok := s.(Batcher); ok {
		return b.PutMany(ctx, secrets)
	}
	// What Put would refuse is refused before the first one runs.
	for _, sec := range secrets {
		if err := secret.ValidateName(sec.Name); err != nil {
			return err
		}
		if err := secret.ValidateValue(sec.Name, sec.Value); err != nil {
			return err
		}
	}
	for i, sec := range secrets {
		if err := s.Put(ctx, sec.Name, sec.Value); err != nil {
			if i == 0 {
				return err
			}
			return fmt.Errorf("%w (%w: the %d secrets before %s were stored, the rest were not)", err, ErrWritten, i, secret.Quote(sec.Name))
		}
	}
	return nil
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
