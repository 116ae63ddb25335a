package server_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/hush-dev/hush/internal/handoff"
)

// BenchmarkGetPrefixToScript measures loading 1,000 secrets as an agent
// does: GetPrefix over the socket (classification, 1,000 vault reads, one
// sealed reply), opening it, and writing the handoff script. The script
// goes to a tmpfs where there is one, as the runtime dir is on a real
// machine.
func BenchmarkGetPrefixToScript(b *testing.B) {
	const secrets = 1000
	d := startDaemon(b, daemonConfig{})
	kv := make([]string, 0, 2*secrets)
	for i := range secrets {
		kv = append(kv, fmt.Sprintf("bench/proj/KEY_%04d", i), fmt.Sprintf("sk_test_FAKE_prefix_%04d_0123456789abcdef", i))
	}
	d.put(b, kv...)
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err = os.MkdirTemp("/dev/shm", "hush-bench"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	c := d.dial(b)
	ctx := context.Background()
	for b.Loop() {
		res, err := c.GetPrefix(ctx, "bench/proj")
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Secrets) != secrets {
			b.Fatalf("%d secrets, want %d", len(res.Secrets), secrets)
		}
		if _, _, err := handoff.Deliver(dir, handoff.POSIX, res.Secrets, handoff.DeliverOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := handoff.Purge(dir); err != nil {
			b.Fatal(err)
		}
	}
}
