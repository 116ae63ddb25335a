//go:build linux

package proctree_test

import (
	"os"
	"testing"

	"github.com/hush-dev/hush/internal/proctree"
)

// BenchmarkRead is the cost of reading one process: what the chain walk
// pays per ancestor.
func BenchmarkRead(b *testing.B) {
	pid := os.Getpid()
	for b.Loop() {
		if _, err := proctree.Read(pid); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChain walks from this process up to PID 1, as the daemon does
// for every new connection.
func BenchmarkChain(b *testing.B) {
	pid := os.Getpid()
	for b.Loop() {
		chain, err := proctree.Chain(pid, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(chain)), "depth")
	}
}

// BenchmarkSession scans /proc for the members of this process's session,
// which the detector does for a caller at a terminal. Its cost grows with
// the number of processes on the machine, reported as procs.
func BenchmarkSession(b *testing.B) {
	self, err := proctree.Read(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	if self.SID <= 0 {
		b.Skip("this process has no session")
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	procs := 0
	for _, e := range entries {
		if c := e.Name()[0]; c >= '0' && c <= '9' {
			procs++
		}
	}
	for b.Loop() {
		if _, err := proctree.Session(self.SID, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(procs), "procs")
}
