// Package migrate moves secrets from one store to another for
// `hush migrate --to BACKEND`.
//
// It never has a secret in neither place: every secret is copied and read
// back from the destination first; only when all of them are there, and
// only if asked, is each one checked once more in both stores and removed
// from the source. Killed at any moment, a rerun picks up where it
// stopped: secrets already in the destination with the same value are
// skipped.
package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/hush-dev/hush/internal/store"
)

// ErrConflict: the destination already holds the name with another value.
var ErrConflict = errors.New("destination holds a different value")

// Step is what happened to one secret.
type Step string

const (
	Copied  Step = "copied"  // written to the destination and read back
	Present Step = "present" // already in the destination, same value
	Removed Step = "removed" // removed from the source after a last check
)

// Event reports one step for one secret; it never carries a value.
type Event struct {
	Step Step
	Name string
}

// Options tune Run.
type Options struct {
	// Prefix limits the move to the secrets at or below it ("" is all).
	Prefix string
	// RemoveSource removes the secrets from the source once every one of
	// them is verified in the destination.
	RemoveSource bool
	// Overwrite replaces a different value already in the destination;
	// without it that is ErrConflict and nothing is removed anywhere.
	Overwrite bool
	// Progress, if set, hears about every step as it completes.
	Progress func(Event)
}

// Report lists the names per step.
type Report struct {
	Copied, Present, Removed []string
}

func backend(s store.Store) string {
	if n, ok := s.(store.Named); ok {
		return n.Backend()
	}
	return "store"
}

// Run copies the secrets at or below opts.Prefix from src to dst.
func Run(ctx context.Context, src, dst store.Store, opts Options) (Report, error) {
	var rep Report
	from, to := backend(src), backend(dst)
	names, err := src.List(ctx, opts.Prefix)
	if err != nil {
		return rep, fmt.Errorf("migrate: list the %s store: %w", from, err)
	}
	tell := func(step Step, name string) {
		if opts.Progress != nil {
			opts.Progress(Event{Step: step, Name: name})
		}
	}

	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("migrate: stopped before %s; nothing was removed: %w", name, err)
		}
		value, err := src.Get(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed from the source since the listing
		}
		if err != nil {
			return rep, fmt.Errorf("migrate: read %s from the %s store; nothing was removed: %w", name, from, err)
		}
		had, err := dst.Get(ctx, name)
		switch {
		case err == nil && bytes.Equal(had, value):
			rep.Present = append(rep.Present, name)
			tell(Present, name)
			continue
		case err == nil && !opts.Overwrite:
			return rep, fmt.Errorf("migrate: %s: the %s store %w; nothing was removed (remove it there, or overwrite)", name, to, ErrConflict)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return rep, fmt.Errorf("migrate: look up %s in the %s store; nothing was removed: %w", name, to, err)
		}
		if err := dst.Put(ctx, name, value); err != nil {
			return rep, fmt.Errorf("migrate: write %s to the %s store; nothing was removed: %w", name, to, err)
		}
		if err := same(ctx, dst, name, value); err != nil {
			return rep, fmt.Errorf("migrate: %s in the %s store: %w; nothing was removed", name, to, err)
		}
		rep.Copied = append(rep.Copied, name)
		tell(Copied, name)
	}

	if !opts.RemoveSource {
		return rep, nil
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("migrate: stopped before removing %s from the %s store: %w", name, from, err)
		}
		value, err := src.Get(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("migrate: read %s from the %s store again: %w", name, from, err)
		}
		// The last look: a value changed in the source since it was
		// copied must not be removed with the old one standing in for it.
		if err := same(ctx, dst, name, value); err != nil {
			return rep, fmt.Errorf("migrate: %s differs between the stores now (%w); it stays in the %s store, rerun to copy it again", name, err, from)
		}
		if err := src.Delete(ctx, name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return rep, fmt.Errorf("migrate: remove %s from the %s store: %w", name, from, err)
		}
		rep.Removed = append(rep.Removed, name)
		tell(Removed, name)
	}
	return rep, nil
}

// same reads name back from s and compares it with want.
func same(ctx context.Context, s store.Store, name string, want []byte) error {
	got, err := s.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("it does not read back: %w", err)
	}
	if !bytes.Equal(got, want) {
		return errors.New("it reads back a different value")
	}
	return nil
}
