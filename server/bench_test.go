package server_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hush-dev/hush/client"
)

// BenchmarkGet measures a whole Get over the socket: a fresh key pair,
// caller classification, the vault read, sealing and opening. ops/s is the
// daemon's throughput with that many clients asking at once.
func BenchmarkGet(b *testing.B) {
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			d := startDaemon(b, daemonConfig{})
			d.put(b, "bench/api/KEY", "sk_test_FAKE_benchmark_value")
			conns := make([]*client.Client, clients)
			for i := range conns {
				conns[i] = d.dial(b)
				if _, err := conns[i].Get(context.Background(), "bench/api/KEY"); err != nil {
					b.Fatal(err) // connect before the clock starts
				}
			}
			var left atomic.Int64
			left.Store(int64(b.N))
			b.ResetTimer()
			var wg sync.WaitGroup
			for _, c := range conns {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						if _, err := c.Get(context.Background(), "bench/api/KEY"); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}
