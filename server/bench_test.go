package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hush-dev/hush/client"
)

// BenchmarkGet measures a whole Get over the socket: a fresh key pair,
// caller classification, the vault read, sealing and opening. ops/s is the
// daemon's throughput with that many clients asking at once; p50-ms and
// p99-ms are what one call waits.
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
			waits := make([][]time.Duration, clients)
			b.ResetTimer()
			var wg sync.WaitGroup
			for i, c := range conns {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						start := time.Now()
						if _, err := c.Get(context.Background(), "bench/api/KEY"); err != nil {
							b.Error(err)
							return
						}
						waits[i] = append(waits[i], time.Since(start))
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			all := slices.Sorted(slices.Values(slices.Concat(waits...)))
			if len(all) > 0 {
				at := func(q float64) float64 {
					return float64(all[int(q*float64(len(all)-1))]) / float64(time.Millisecond)
				}
				b.ReportMetric(at(0.50), "p50-ms")
				b.ReportMetric(at(0.99), "p99-ms")
			}
		})
	}
}
