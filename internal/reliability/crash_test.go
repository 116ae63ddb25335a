package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/store"
)

// TestAcknowledgedSetsSurviveSIGKILL kills the daemon at random moments
// while several clients stream sets, restarts it, and checks that the
// vault opens and holds every set the daemon acknowledged, each with its
// whole value, and nothing that was never sent. 50 rounds; 1,000 under
// HUSH_SOAK=1.
func TestAcknowledgedSetsSurviveSIGKILL(t *testing.T) {
	rounds, writers := 50, 4
	if soak() {
		rounds = 1000
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	t.Logf("seed %d (the kill moments are random)", seed)

	h := newHome(t)
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
	)
	d := h.startDaemon(t)
	for round := range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		conns := make([]*client.Client, writers)
		for w := range conns {
			conns[w] = h.dial(t) // before the clock for the kill starts
		}
		var wg sync.WaitGroup
		for w, c := range conns {
			wg.Go(func() {
				for seq := 0; ctx.Err() == nil; seq++ {
					name := fmt.Sprintf("crash/r%04d/w%d/K%d", round, w, seq)
					if _, err := c.Set(ctx, name, valueFor(name, 0)); err != nil {
						return // the daemon is gone: the rest is unacknowledged
					}
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				}
			})
		}
		// Mostly mid-stream, sometimes before the first write lands.
		time.Sleep(time.Duration(rng.IntN(120)) * time.Millisecond)
		d.kill()
		cancel()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}

		d = h.startDaemon(t)
		full := round == rounds-1 || round%10 == 0
		if err := verifyAcked(h, t, round, acked, full); err != nil {
			t.Fatalf("after kill %d of %d: %v\n%s", round+1, rounds, err, h.tail())
		}
	}
	d.stop(t)
	if leftovers, _ := filepath.Glob(filepath.Join(h.dir, "data", ".*.tmp-*")); len(leftovers) > 0 {
		t.Errorf("temporary vault files left behind: %v", leftovers)
	}
	h.checkLog(t)
	t.Logf("%d sets acknowledged across %d kills", len(acked), rounds)
}

// verifyAcked checks the restarted daemon: every acknowledged name is
// listed; this round's values (all of them when full) are whole; nothing
// is there that no writer sent.
func verifyAcked(h *home, t *testing.T, round int, acked map[string]bool, full bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := h.dial(t)
	defer c.Close()
	infos, err := c.List(ctx, "crash")
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	listed := make(map[string]bool, len(infos))
	for _, i := range infos {
		listed[i.GetName()] = true
		if !strings.HasPrefix(i.GetName(), "crash/r") {
			return fmt.Errorf("the vault holds %q, which no writer sent", i.GetName())
		}
	}
	for name := range acked {
		if !listed[name] {
			return fmt.Errorf("acknowledged %s is missing", name)
		}
	}
	prefix := fmt.Sprintf("crash/r%04d", round)
	if full {
		prefix = "crash"
	}
	res, err := c.GetPrefix(ctx, prefix)
	if errors.Is(err, store.ErrNotFound) {
		return nil // nothing landed this round
	}
	if err != nil {
		return fmt.Errorf("get --prefix %s: %w", prefix, err)
	}
	for _, s := range res.Secrets {
		if _, err := checkValue(s.Name, s.Value); err != nil {
			return err
		}
	}
	return nil
}
