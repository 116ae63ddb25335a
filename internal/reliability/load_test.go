package reliability_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hush-dev/hush/client"
)

// TestLoadKeepsMemoryAndDescriptorsFlat runs 64 clients against the daemon
// for 30 s (HUSH_SOAK=1 only): reads of 100 secrets, a write now and then,
// and a new connection every 25 calls, as short-lived `hush get` processes
// make. The daemon's RSS and open descriptors are sampled every second;
// they must not keep growing, and once the clients are gone the
// descriptors must come back to where they started.
func TestLoadKeepsMemoryAndDescriptorsFlat(t *testing.T) {
	if !soak() {
		t.Skip("a 30 s load: run with HUSH_SOAK=1 (make soak)")
	}
	const (
		clients  = 64
		duration = 30 * time.Second
		warmup   = 5 * time.Second
		secrets  = 100
	)
	h := newHome(t)
	d := h.startDaemon(t)
	ctx := context.Background()
	seed := h.dial(t)
	for k := range secrets {
		name := fmt.Sprintf("load/api/K%03d", k)
		if _, err := seed.Set(ctx, name, valueFor(name, 0)); err != nil {
			t.Fatal(err)
		}
	}
	seed.Close()
	// The daemon closes its end of seed's connection on its own time.
	idleFDs, err := openFDs(d.pid())
	for range 20 {
		time.Sleep(50 * time.Millisecond)
		n, nerr := openFDs(d.pid())
		if nerr != nil || n == idleFDs {
			break
		}
		idleFDs, err = n, nerr
	}
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var ops, failures atomic.Int64
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			var c *client.Client
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if n%25 == 0 {
					if c != nil {
						c.Close()
					}
					var err error
					if c, err = client.Dial(ctx, client.WithSocket(h.socket)); err != nil {
						failures.Add(1)
						t.Errorf("client %d: dial: %v", i, err)
						return
					}
				}
				name := fmt.Sprintf("load/api/K%03d", (i*31+n)%secrets)
				if n%50 == 49 {
					own := fmt.Sprintf("load/own/C%02d", i)
					if _, err := c.Set(ctx, own, valueFor(own, n)); err != nil {
						failures.Add(1)
						t.Errorf("client %d: set: %v", i, err)
						return
					}
				}
				res, err := c.Get(ctx, name)
				if err == nil {
					_, err = checkValue(name, res.Secrets[0].Value)
				}
				if err != nil {
					failures.Add(1)
					t.Errorf("client %d: get %s: %v", i, name, err)
					return
				}
				ops.Add(1)
			}
		})
	}

	type sample struct{ rssKB, fds int }
	var samples []sample
	tick := time.NewTicker(time.Second)
	begin := time.Now()
	for time.Since(begin) < duration && failures.Load() == 0 {
		<-tick.C
		rss, err := procStatus(d.pid(), "VmRSS")
		if err != nil {
			t.Fatal(err)
		}
		fds, err := openFDs(d.pid())
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, sample{rss, fds})
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	elapsed := time.Since(begin)
	if t.Failed() {
		t.FailNow()
	}

	skip := int(warmup / time.Second)
	if len(samples) < skip+10 {
		t.Fatalf("only %d samples", len(samples))
	}
	early, late := samples[skip:skip+5], samples[len(samples)-5:]
	avg := func(s []sample, f func(sample) int) float64 {
		sum := 0
		for _, x := range s {
			sum += f(x)
		}
		return float64(sum) / float64(len(s))
	}
	rssOf := func(s sample) int { return s.rssKB }
	fdsOf := func(s sample) int { return s.fds }
	earlyRSS, lateRSS := avg(early, rssOf), avg(late, rssOf)
	earlyFDs, lateFDs := avg(early, fdsOf), avg(late, fdsOf)
	t.Logf("%d clients, %s: %d Gets (%.0f/s); daemon RSS %.1f MB after warm-up, %.1f MB at the end; fds %.0f → %.0f (idle %d)",
		clients, elapsed.Round(time.Second), ops.Load(), float64(ops.Load())/elapsed.Seconds(),
		earlyRSS/1024, lateRSS/1024, earlyFDs, lateFDs, idleFDs)

	// Garbage collection makes RSS wander; a leak makes it climb. A fifth
	// over the warmed-up level (and at least 8 MB) is wandering.
	if lateRSS > earlyRSS*1.2 && lateRSS-earlyRSS > 8*1024 {
		t.Errorf("daemon RSS grew from %.1f MB to %.1f MB under a steady load", earlyRSS/1024, lateRSS/1024)
	}
	// Each client holds at most one connection, and reconnects now and then.
	if lateFDs > earlyFDs+clients/4 {
		t.Errorf("daemon descriptors grew from %.0f to %.0f under a steady load", earlyFDs, lateFDs)
	}
	var after int
	deadline := time.Now().Add(10 * time.Second)
	for {
		if after, err = openFDs(d.pid()); err != nil {
			t.Fatal(err)
		}
		if after <= idleFDs || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after > idleFDs {
		t.Errorf("the daemon holds %d descriptors after the clients left, %d before they came", after, idleFDs)
	}
	h.checkLog(t)
}
