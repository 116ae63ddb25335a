//go:build !darwin || !cgo

package keychain

import (
	"context"

	"github.com/hush-dev/hush/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is the keychain backend; in this build it cannot be opened.
type Store struct{}

// Open returns ErrUnavailable: this build has no keychain.
func Open(ctx context.Context, opts ...Option) (*Store, error) {
	_ = buildOptions(opts)
	return nil, ErrUnavailable
}

func (*Store) Get(context.Context, string) ([]byte, error)    { return nil, ErrUnavailable }
func (*Store) Put(context.Context, string, []byte) error      { return ErrUnavailable }
func (*Store) Delete(context.Context, string) error           { return ErrUnavailable }
func (*Store) List(context.Context, string) ([]string, error) { return nil, ErrUnavailable }
func (*Store) Backend() string                                { return "keychain" }
