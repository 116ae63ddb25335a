// Package filevault is the default store: one age-encrypted file.
package filevault

import (
	"context"

	"github.com/hush-dev/hush/internal/store"
)

var (
	_ store.Store  = (*Vault)(nil)
	_ store.Locker = (*Vault)(nil)
	_ store.Closer = (*Vault)(nil)
	_ store.Named  = (*Vault)(nil)
)

// InitOptions choose how the vault key is protected.
type InitOptions struct {
	// Passphrase wraps the vault identity with age's scrypt recipient.
	Passphrase []byte
	// NoPassphrase keeps the identity in a 0600 key file next to the vault.
	NoPassphrase bool
}

// Init creates a new, empty vault at path. It refuses to overwrite one.
func Init(path string, opts InitOptions) error { panic("TODO") }

// Vault is an open file vault. It holds an exclusive lock on the vault for
// as long as it is open.
type Vault struct{}

// Open opens the vault at path. A passphrase vault starts locked.
func Open(path string) (*Vault, error) { panic("TODO") }

func (v *Vault) Get(ctx context.Context, name string) ([]byte, error)      { panic("TODO") }
func (v *Vault) Put(ctx context.Context, name string, value []byte) error  { panic("TODO") }
func (v *Vault) Delete(ctx context.Context, name string) error             { panic("TODO") }
func (v *Vault) List(ctx context.Context, prefix string) ([]string, error) { panic("TODO") }
func (v *Vault) Locked() bool                                              { panic("TODO") }
func (v *Vault) Lock(ctx context.Context) error                            { panic("TODO") }
func (v *Vault) Unlock(ctx context.Context, passphrase []byte) error       { panic("TODO") }
func (v *Vault) Close() error                                              { panic("TODO") }
func (v *Vault) Backend() string                                           { return "file" }
