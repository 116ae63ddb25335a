package server_test

import (
	"context"
	"os"
	"strings"
	"testing"

	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// renameSelf changes this process's name as /proc shows it, and restores
// it when the test ends.
func renameSelf(t *testing.T, name string) {
	t.Helper()
	old, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skipf("cannot read this process's name: %v", err)
	}
	if err := os.WriteFile("/proc/self/comm", []byte(name), 0); err != nil {
		t.Fatalf("rename this process: %v", err)
	}
	t.Cleanup(func() { _ = os.WriteFile("/proc/self/comm", []byte(strings.TrimSpace(string(old))), 0) })
}

// Not parallel: it renames the test process, which other tests' in-process
// clients are.
func TestAConnectionKeepsTheVerdictOfItsFirstCall(t *testing.T) {
	d := startDaemon(t, daemonConfig{})
	d.put(t, "org/api/KEY", "sk_test_FAKE_cached_verdict")
	ctx := context.Background()
	conn := d.dial(t)
	first, err := conn.Get(ctx, "org/api/KEY")
	if err != nil {
		t.Fatal(err)
	}

	// The caller now runs under an agent's name: a new classification
	// would say so.
	renameSelf(t, "claude")
	fresh, err := d.dial(t).Get(ctx, "org/api/KEY")
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Caller.GetVerdict() != hushv1.Verdict_VERDICT_AGENT || !strings.Contains(fresh.Caller.GetSignal(), "comm:claude") {
		t.Fatalf("a new connection got %s by %q, want an agent by comm:claude", fresh.Caller.GetVerdict(), fresh.Caller.GetSignal())
	}

	again, err := conn.Get(ctx, "org/api/KEY")
	if err != nil {
		t.Fatal(err)
	}
	if again.Caller.GetSignal() != first.Caller.GetSignal() || again.Caller.GetVerdict() != first.Caller.GetVerdict() {
		t.Errorf("the first connection was classified again: %s by %q, then %s by %q",
			first.Caller.GetVerdict(), first.Caller.GetSignal(), again.Caller.GetVerdict(), again.Caller.GetSignal())
	}
	d.assertLogClean(t, "sk_test_FAKE_cached_verdict")
}
