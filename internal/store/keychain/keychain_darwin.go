//go:build darwin && cgo

package keychain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	kc "github.com/keybase/go-keychain"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
)

var (
	_ store.Store  = (*Store)(nil)
	_ store.Closer = (*Store)(nil)
	_ store.Named  = (*Store)(nil)
)

// Store is the login keychain, seen through one service name.
type Store struct {
	service string
	timeout time.Duration
	// mu serializes writes so a read-back sees the write it follows.
	mu sync.Mutex
}

// Open checks that the keychain answers and returns the store.
func Open(ctx context.Context, opts ...Option) (*Store, error) {
	o := buildOptions(opts)
	if o.service == "" || o.timeout <= 0 {
		return nil, errors.New("keychain: a service name and a positive timeout are needed")
	}
	s := &Store{service: o.service, timeout: o.timeout}
	if _, err := s.List(ctx, ""); err != nil {
		return nil, err
	}
	return s, nil
}

// Backend names this store for `hush status`.
func (s *Store) Backend() string { return "keychain" }

// Close holds nothing to release; it exists so callers can close every
// store alike.
func (s *Store) Close() error { return nil }

func (s *Store) query(name string) kc.Item {
	q := kc.NewItem()
	q.SetSecClass(kc.SecClassGenericPassword)
	q.SetService(s.service)
	q.SetAccount(name)
	return q
}

// bounded runs a Security framework call, which can block on a permission
// dialog, within the store's timeout. A call still waiting then is left to
// finish on its own; its result is dropped.
func (s *Store) bounded(ctx context.Context, what string, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return mapErr(what, err)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("keychain: %s: no answer within %s (is a permission dialog waiting?): %w", what, s.timeout, store.ErrLocked)
		}
		return fmt.Errorf("keychain: %s: %w", what, ctx.Err())
	}
}

func mapErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kc.ErrorInteractionNotAllowed), errors.Is(err, kc.ErrorAuthFailed),
		errors.Is(err, kc.ErrorUserCanceled), errors.Is(err, kc.ErrorNoSuchKeychain):
		return fmt.Errorf("keychain: %s: the keychain is locked or access was refused (%v); unlock it in Keychain Access: %w", what, err, store.ErrLocked)
	}
	return fmt.Errorf("keychain: %s: %v", what, err)
}

// Get returns the value of name.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	if err := secret.ValidateStored(name); err != nil {
		return nil, err
	}
	var value []byte
	found := false
	err := s.bounded(ctx, "read "+name, func() error {
		q := s.query(name)
		q.SetMatchLimit(kc.MatchLimitOne)
		q.SetReturnData(true)
		res, err := kc.QueryItem(q)
		if err != nil || len(res) == 0 {
			return err
		}
		found = true
		value = append([]byte{}, res[0].Data...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("keychain: %s: %w", name, store.ErrNotFound)
	}
	return value, nil
}

// Put stores value under name and reads it back before returning.
func (s *Store) Put(ctx context.Context, name string, value []byte) error {
	if err := secret.ValidateName(name); err != nil {
		return err
	}
	if err := secret.ValidateValue(name, value); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data := append([]byte{}, value...)
	err := s.bounded(ctx, "store "+name, func() error {
		update := kc.NewItem()
		update.SetData(data)
		update.SetLabel("hush: " + name)
		err := kc.UpdateItem(s.query(name), update)
		if !errors.Is(err, kc.ErrorItemNotFound) {
			return err
		}
		item := s.query(name)
		item.SetLabel("hush: " + name)
		item.SetData(data)
		// Agent credentials stay on this Mac, never in iCloud Keychain.
		item.SetSynchronizable(kc.SynchronizableNo)
		return kc.AddItem(item)
	})
	if err != nil {
		return err
	}
	got, err := s.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("keychain: %s was written but could not be read back: %w", name, err)
	}
	if !bytes.Equal(got, value) {
		return fmt.Errorf("keychain: %s did not read back as written", name)
	}
	return nil
}

// Delete removes name.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := secret.ValidateStored(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	missing := false
	err := s.bounded(ctx, "delete "+name, func() error {
		err := kc.DeleteItem(s.query(name))
		if errors.Is(err, kc.ErrorItemNotFound) {
			missing = true
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if missing {
		return fmt.Errorf("keychain: %s: %w", name, store.ErrNotFound)
	}
	return nil
}

// List returns the sorted names at or below prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := secret.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	var accounts []string
	err := s.bounded(ctx, "list secrets", func() error {
		var err error
		accounts, err = kc.GetGenericPasswordAccounts(s.service)
		return err
	})
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, a := range accounts {
		if secret.Under(prefix, a) {
			names = append(names, a)
		}
	}
	sort.Strings(names)
	return names, nil
}
