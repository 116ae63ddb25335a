package mask_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/hush-dev/hush/internal/mask"
	"github.com/hush-dev/hush/internal/secret"
)

// benchSecrets returns n token-like secrets of 20 to 60 characters.
func benchSecrets(n int) []secret.Secret {
	r := rand.New(rand.NewPCG(1, 2))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	out := make([]secret.Secret, n)
	for i := range out {
		v := make([]byte, 20+r.IntN(41))
		for j := range v {
			v[j] = alnum[r.IntN(len(alnum))]
		}
		out[i] = secret.Secret{Name: fmt.Sprintf("org/bench/KEY_%d", i), Value: v}
	}
	return out
}

// benchOutput is 4 MiB of log-like text: timestamps, words, hex ids and
// base64 blobs, with a secret every 1,000 lines or so.
func benchOutput(secrets []secret.Secret) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	words := []string{"GET", "/api/v1/users", "200", "took", "ms", "request", "id", "user", "error:", "connection", "reset", "by", "peer", "retrying", "in", "level=info", "msg=\"done\""}
	var out []byte
	for len(out) < 4<<20 {
		out = fmt.Appendf(out, "2025-01-02T15:04:%02d.%06dZ ", r.IntN(60), r.IntN(1e6))
		for range 4 + r.IntN(8) {
			out = append(out, words[r.IntN(len(words))]...)
			out = append(out, ' ')
		}
		out = fmt.Appendf(out, "trace=%016x blob=%x", r.Uint64(), r.Uint64())
		if r.IntN(1000) == 0 {
			out = append(out, " token="...)
			out = append(out, secrets[r.IntN(len(secrets))].Value...)
		}
		out = append(out, '\n')
	}
	return out
}

// BenchmarkWriter measures masking throughput with 100 secrets, the goal
// being at least 200 MB/s on one core (reported, not asserted).
func BenchmarkWriter(b *testing.B) {
	secrets := benchSecrets(100)
	m := mask.New(secrets)
	data := benchOutput(secrets)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		w := m.Writer(io.Discard)
		for off := 0; off < len(data); off += 32 << 10 {
			if _, err := w.Write(data[off:min(off+32<<10, len(data))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew measures building the automata for 100 secrets, paid once
// per `hush run`.
func BenchmarkNew(b *testing.B) {
	secrets := benchSecrets(100)
	for b.Loop() {
		mask.New(secrets)
	}
}
