package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/store"
)

const (
	concClients = 100
	concRounds  = 4
	concShared  = 8
)

// ownName is the key client i writes in round r and no other client
// touches; sharedName is one of a few keys every client writes.
func ownName(i, r int) string { return fmt.Sprintf("conc/own/c%03d/K%d", i, r) }
func sharedName(s int) string { return fmt.Sprintf("conc/shared/S%d", s) }

// sharedWrite is the key and value variant client i writes in round r.
func sharedWrite(i, r int) (string, int) { return sharedName((i + r) % concShared), i*concRounds + r }

// TestAHundredClientsAtOnceLoseNoUpdate runs 100 clients, each on its own
// connection, setting, reading and deleting at the same time through a
// real daemon: its own keys (each read back at once, every other one
// deleted again) and a few keys all of them overwrite. A lost update shows
// as a missing or resurrected key, a torn read as a value that fails its
// checksum; the race detector watches both processes under -race.
func TestAHundredClientsAtOnceLoseNoUpdate(t *testing.T) {
	h := newHome(t)
	d := h.startDaemon(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conns := make([]*client.Client, concClients)
	for i := range conns {
		conns[i] = h.dial(t)
	}
	start := make(chan struct{})
	errs := make(chan error, concClients)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			<-start
			errs <- clientWork(ctx, c, i)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	want := map[string]bool{}
	for i := range concClients {
		for r := range concRounds {
			// Odd rounds delete the previous round's key.
			if r%2 == 1 || r == concRounds-1 {
				want[ownName(i, r)] = true
			}
		}
	}
	if err := checkFinal(ctx, h.dial(t), want); err != nil {
		t.Fatal(err)
	}
	// What was acknowledged is on disk, not only in the daemon's memory.
	d.stop(t)
	h.startDaemon(t)
	if err := checkFinal(ctx, h.dial(t), want); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	h.checkLog(t)
}

func clientWork(ctx context.Context, c *client.Client, i int) error {
	for r := range concRounds {
		own := ownName(i, r)
		if _, err := c.Set(ctx, own, valueFor(own, 0)); err != nil {
			return fmt.Errorf("client %d: set %s: %w", i, own, err)
		}
		if err := readOwn(ctx, c, own); err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		shared, variant := sharedWrite(i, r)
		if _, err := c.Set(ctx, shared, valueFor(shared, variant)); err != nil {
			return fmt.Errorf("client %d: set %s: %w", i, shared, err)
		}
		other := sharedName((i + r + 1) % concShared)
		res, err := c.Get(ctx, other)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Nobody has written it yet.
		case err != nil:
			return fmt.Errorf("client %d: get %s: %w", i, other, err)
		default:
			if err := checkShared(other, res.Secrets[0].Value); err != nil {
				return fmt.Errorf("client %d: %w", i, err)
			}
		}
		if r%2 == 1 {
			prev := ownName(i, r-1)
			if err := c.Delete(ctx, prev); err != nil {
				return fmt.Errorf("client %d: delete %s: %w", i, prev, err)
			}
			if _, err := c.Get(ctx, prev); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("client %d: get %s after its delete: %v, want not found", i, prev, err)
			}
		}
	}
	return nil
}

// readOwn reads a key only this client writes: it must hold exactly what
// was just set.
func readOwn(ctx context.Context, c *client.Client, name string) error {
	res, err := c.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("get %s right after setting it: %w", name, err)
	}
	if _, err := checkValue(name, res.Secrets[0].Value); err != nil {
		return err
	}
	return nil
}

// checkShared accepts a shared key's value if it is whole and one that was
// written to that key.
func checkShared(name string, v []byte) error {
	variant, err := checkValue(name, v)
	if err != nil {
		return err
	}
	i, r := variant/concRounds, variant%concRounds
	if key, _ := sharedWrite(i, r); key != name || i >= concClients {
		return fmt.Errorf("%s holds variant %d, which was written to %s", name, variant, key)
	}
	return nil
}

// checkFinal compares the daemon's view with what the clients left.
func checkFinal(ctx context.Context, c *client.Client, want map[string]bool) error {
	infos, err := c.List(ctx, "conc/own")
	if err != nil {
		return err
	}
	got := map[string]bool{}
	for _, i := range infos {
		got[i.GetName()] = true
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if !got[name] {
			return fmt.Errorf("%s was set and never deleted, but is gone (a lost update)", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if !want[name] {
			return fmt.Errorf("%s was deleted, but is back", name)
		}
	}
	own, err := c.GetPrefix(ctx, "conc/own")
	if err != nil {
		return err
	}
	for _, s := range own.Secrets {
		if _, err := checkValue(s.Name, s.Value); err != nil {
			return err
		}
	}
	shared, err := c.GetPrefix(ctx, "conc/shared")
	if err != nil {
		return err
	}
	if len(shared.Secrets) != concShared {
		return fmt.Errorf("%d shared keys, want %d", len(shared.Secrets), concShared)
	}
	for _, s := range shared.Secrets {
		if err := checkShared(s.Name, s.Value); err != nil {
			return err
		}
	}
	return nil
}
