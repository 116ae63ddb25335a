package server_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/audit"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/policy"
	"github.com/hush-dev/hush/internal/store/filevault"
	"github.com/hush-dev/hush/server"
)

// home is a vault and an audit log that outlive the daemons run over them.
type home struct {
	dir, vault, log string
}

func newHome(t *testing.T, passphrase []byte) *home {
	t.Helper()
	h := &home{dir: shortDir(t)}
	h.vault = filepath.Join(h.dir, "vault.age")
	h.log = filepath.Join(h.dir, "state", "audit.jsonl")
	init := filevault.InitOptions{NoPassphrase: true}
	if passphrase != nil {
		init = filevault.InitOptions{Passphrase: passphrase, ScryptWorkFactor: 10}
	}
	if err := filevault.Init(h.vault, init); err != nil {
		t.Fatal(err)
	}
	return h
}

// run starts a daemon over h, as `hush daemon` would after a restart, and
// returns a client and a function that stops it (Serve returned, vault
// and log closed). The test process is the top of every tree it reads.
func (h *home) run(t *testing.T, opts ...server.Option) (*client.Client, *syncBuffer, func()) {
	t.Helper()
	v, err := filevault.Open(h.vault)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(h.log)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(h.dir, "hush.sock")
	lis, err := server.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	logBuf := &syncBuffer{}
	srv := server.New(v, append([]server.Option{
		server.WithLogger(slog.New(slog.NewJSONHandler(logBuf, nil))),
		server.WithDetector(detect.New(detect.WithRoot(os.Getpid()))),
		server.WithAuditLog(l),
	}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	c, err := client.Dial(context.Background(), client.WithSocket(sock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		c.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return")
		}
		l.Close()
		v.Close()
	}
	t.Cleanup(stop)
	return c, logBuf, stop
}

func (h *home) records(t *testing.T) []audit.Record {
	t.Helper()
	return (&auditedDaemon{path: h.log}).records(t)
}

func lastOf(recs []audit.Record, op string) (audit.Record, bool) {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Operation == op {
			return recs[i], true
		}
	}
	return audit.Record{}, false
}

func TestALogCutBetweenRestartsIsCaught(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(t *testing.T, path string)
		line int64 // where verify reports the break
	}{
		{"the last records removed", func(t *testing.T, path string) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ls := strings.SplitAfter(string(data), "\n")
			if err := os.WriteFile(path, []byte(strings.Join(ls[:4], "")), 0o600); err != nil {
				t.Fatal(err)
			}
		}, 5},
		{"the log emptied", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, 1},
		{"the log deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHome(t, nil)
			ctx := context.Background()
			c, _, stop := h.run(t)
			for _, name := range []string{"org/a/ONE", "org/a/TWO", "org/a/THREE", "org/a/FOUR"} {
				if _, err := c.Set(ctx, name, []byte("sk_test_FAKE_cut")); err != nil {
					t.Fatal(err)
				}
			}
			stop()

			tc.cut(t, h.log)
			c, dlog, stop := h.run(t)
			rep, err := c.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.GetOk() || rep.GetBrokenFile() != h.log || rep.GetBrokenLine() != tc.line || !strings.Contains(rep.GetReason(), "removed from the log's end") {
				t.Fatalf("VerifyAudit after the restart = %v, want %s line %d broken", rep, h.log, tc.line)
			}
			check, ok := lastOf(h.records(t), "HeadCheck")
			if !ok || !strings.HasPrefix(check.Result, "broken: ") || check.MAC == "" {
				t.Errorf("no sealed record says the log was found cut: %+v", check)
			}
			if !strings.Contains(dlog.String(), "the audit log was cut at its end") {
				t.Errorf("the daemon's log does not say the audit log was cut:\n%s", dlog.String())
			}
			stop()

			// The cut stays on record: the records are gone for good.
			c, _, _ = h.run(t)
			if rep, err := c.VerifyAudit(ctx); err != nil || rep.GetOk() || rep.GetBrokenLine() != tc.line {
				t.Errorf("VerifyAudit one restart later = %v, %v; want the same cut", rep, err)
			}
		})
	}
}

func TestALogKeptWholeAcrossRestartsVerifies(t *testing.T) {
	t.Parallel()
	h := newHome(t, nil)
	ctx := context.Background()
	for i := range 3 {
		c, _, stop := h.run(t)
		if _, err := c.Set(ctx, "org/a/KEY", []byte("sk_test_FAKE_whole")); err != nil {
			t.Fatal(err)
		}
		rep, err := c.VerifyAudit(ctx)
		if err != nil || !rep.GetOk() {
			t.Fatalf("VerifyAudit at start %d = %v, %v", i+1, rep, err)
		}
		stop()
	}
	recs := h.records(t)
	want := []string{"Start", "HeadCheck", "Set", "Shutdown"}
	for i, r := range recs {
		if r.Operation != want[i%len(want)] || r.MAC == "" {
			t.Fatalf("record %d is %s (mac %q), want %s, sealed", i, r.Operation, r.MAC, want[i%len(want)])
		}
		if r.Operation == "HeadCheck" && i > 1 && r.Result != "ok" {
			t.Errorf("the check at a later start says %q", r.Result)
		}
	}
}

func TestALockedVaultChecksTheLogAtUnlock(t *testing.T) {
	t.Parallel()
	pass := "correct horse FAKE head"
	h := newHome(t, []byte(pass))
	ctx := context.Background()
	c, _, stop := h.run(t)
	if res := runHelper(t, atTerminal, "", "unlock", filepath.Join(h.dir, "hush.sock"), pass, nil); res.Code != "OK" {
		t.Fatalf("unlock: %s %s", res.Code, res.Message)
	}
	for range 3 {
		if _, err := c.Set(ctx, "org/a/KEY", []byte("sk_test_FAKE_locked")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Lock(ctx); err != nil { // keeps the head, then locks
		t.Fatal(err)
	}
	stop()
	if err := os.Truncate(h.log, 0); err != nil {
		t.Fatal(err)
	}

	c, _, _ = h.run(t)
	if _, ok := lastOf(h.records(t), "HeadCheck"); ok {
		t.Fatal("the log was checked before the vault could be read")
	}
	if res := runHelper(t, atTerminal, "", "unlock", filepath.Join(h.dir, "hush.sock"), pass, nil); res.Code != "OK" {
		t.Fatalf("unlock: %s %s", res.Code, res.Message)
	}
	check, ok := lastOf(h.records(t), "HeadCheck")
	if !ok || !strings.HasPrefix(check.Result, "broken: ") {
		t.Errorf("at unlock the log was not found cut: %+v", check)
	}
	if rep, err := c.VerifyAudit(ctx); err != nil || rep.GetOk() {
		t.Errorf("VerifyAudit = %v, %v; want the cut", rep, err)
	}
}

func TestTheStartRecordShowsAChangedConfig(t *testing.T) {
	t.Parallel()
	strict, err := policy.New(policy.UnknownAsAgent, policy.Rule{Prefix: "org/prod", Agent: policy.Deny})
	if err != nil {
		t.Fatal(err)
	}
	h := newHome(t, nil)
	for _, opts := range [][]server.Option{nil, nil, {server.WithPolicy(strict)}} {
		_, _, stop := h.run(t, opts...)
		stop()
	}
	var digests []string
	for _, r := range h.records(t) {
		if r.Operation == "Start" {
			if r.Backend != "file" || r.PID != os.Getpid() {
				t.Errorf("start record %+v", r)
			}
			digests = append(digests, r.Config)
		}
	}
	if len(digests) != 3 || digests[0] == "" || digests[0] != digests[1] || digests[1] == digests[2] {
		t.Errorf("config digests %q: want the same twice, then another for the changed policy", digests)
	}
}

func TestTheKeptHeadIsReservedAndInvisible(t *testing.T) {
	t.Parallel()
	h := newHome(t, nil)
	c, _, stop := h.run(t)
	ctx := context.Background()
	if _, err := c.Get(ctx, ".hush/audit-head"); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("Get of the kept head = %v, want a reserved-name refusal", err)
	}
	if infos, err := c.List(ctx, ""); err != nil || len(infos) != 0 {
		t.Errorf("List() = %v, %v; want nothing", infos, err)
	}
	stop()
	v, err := filevault.Open(h.vault)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	kept, err := v.Get(ctx, ".hush/audit-head")
	if err != nil {
		t.Fatalf("no head in the vault after a stop: %v", err)
	}
	head, err := audit.ParseHead(kept)
	recs := h.records(t)
	if err != nil || head.Line != len(recs) || head.MAC != recs[len(recs)-1].MAC {
		t.Errorf("the kept head %+v (%v) is not the last of %d records", head, err, len(recs))
	}
}

func TestTheHeadIsKeptWhileTheDaemonRuns(t *testing.T) {
	t.Parallel()
	d := startAudited(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()
	// More records than the daemon lets pass before it keeps the head.
	for range 70 {
		if _, err := c.List(ctx, "org"); err != nil {
			t.Fatal(err)
		}
	}
	var head audit.Head
	deadline := time.Now().Add(20 * time.Second)
	for head.Line < 64 {
		if time.Now().After(deadline) {
			t.Fatalf("after 72 records the kept head is still %+v", head)
		}
		time.Sleep(20 * time.Millisecond)
		if v, err := d.vault.Get(ctx, ".hush/audit-head"); err == nil {
			head, _ = audit.ParseHead(v)
		}
	}
	recs := d.records(t)
	if head.MAC != recs[head.Line-1].MAC {
		t.Errorf("the kept head %+v does not name record %d", head, head.Line)
	}
}
