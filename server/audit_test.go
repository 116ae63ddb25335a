package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/audit"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
	"github.com/hush-dev/hush/server"
)

// auditedDaemon is a daemon writing an audit log.
type auditedDaemon struct {
	*daemon
	audit *audit.Log
	path  string
}

func startAudited(t *testing.T, cfg daemonConfig) *auditedDaemon {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "audit.jsonl")
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() }) // after the daemon stops: cleanups run last first
	cfg.opts = append(cfg.opts, server.WithAuditLog(l))
	return &auditedDaemon{daemon: startDaemon(t, cfg), audit: l, path: path}
}

// records reads the audit file as written.
func (d *auditedDaemon) records(t *testing.T) []audit.Record {
	t.Helper()
	f, err := os.Open(d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func (d *auditedDaemon) assertFileClean(t *testing.T, values ...string) {
	t.Helper()
	data, err := os.ReadFile(d.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if bytes.Contains(data, []byte(v)) {
			t.Errorf("the audit log holds a secret value")
		}
	}
}

func ops(recs []audit.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Operation)
	}
	return out
}

func streamAudit(t *testing.T, c *client.Client, opts client.AuditOptions) []*hushv1.AuditRecord {
	t.Helper()
	var out []*hushv1.AuditRecord
	if err := c.Audit(context.Background(), opts, func(r *hushv1.AuditRecord) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("Audit(%+v): %v", opts, err)
	}
	return out
}

func TestEveryAccessAndChangeIsAuditedByNameNeverByValue(t *testing.T) {
	t.Parallel()
	d := startAudited(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()
	key, other := "sk_test_FAKE_audit_key_value", "sk_test_FAKE_audit_other_value"

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Set(ctx, "org/api/KEY", []byte(key))
	must(err)
	_, err = c.Set(ctx, "org/api/OTHER", []byte(other))
	must(err)
	_, err = c.Get(ctx, "org/api/KEY")
	must(err)
	_, err = c.GetPrefix(ctx, "org/api")
	must(err)
	_, err = c.List(ctx, "org")
	must(err)
	_, err = c.Status(ctx)
	must(err)
	must(c.Delete(ctx, "org/api/OTHER"))
	if _, err := c.Get(ctx, "org/api/MISSING"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing secret = %v", err)
	}
	if res := runHelper(t, agentMarked, "", "get", d.socket, "org/api/KEY", nil); res.Code != "OK" {
		t.Fatalf("agent get: %s %s", res.Code, res.Message)
	}
	if err := c.Lock(ctx); err == nil {
		t.Fatal("Lock of a vault without a passphrase succeeded")
	}

	recs := d.records(t)
	// The daemon's own records come first: its start, and the check of
	// the log against the head kept before (none, in a new vault).
	want := []string{"Start", "HeadCheck", "Set", "Set", "Get", "GetPrefix", "List", "Delete", "Get", "Get", "Lock"}
	if got := ops(recs); !slices.Equal(got, want) {
		t.Fatalf("audited operations %v, want %v (Status is not an access)", got, want)
	}
	own := recs[:2]
	recs = recs[2:]
	t.Run("the daemon's start names its backend and settings", func(t *testing.T) {
		if own[0].Backend != "file" || !strings.HasPrefix(own[0].Config, "sha256:") || own[0].PID != os.Getpid() || own[0].MAC == "" {
			t.Errorf("start record %+v", own[0])
		}
		if !strings.HasPrefix(own[1].Result, "ok") || own[1].MAC == "" {
			t.Errorf("head check record %+v", own[1])
		}
	})
	t.Run("each record names the secrets, the caller and the result", func(t *testing.T) {
		checks := []struct {
			i      int
			names  []string
			prefix string
			result string
		}{
			{0, []string{"org/api/KEY"}, "", "ok"},
			{3, []string{"org/api/KEY", "org/api/OTHER"}, "org/api", "ok"},
			{4, nil, "org", "ok"},
			{5, []string{"org/api/OTHER"}, "", "ok"},
			{6, []string{"org/api/MISSING"}, "", "not found"},
			{8, nil, "", "no passphrase"},
		}
		for _, ck := range checks {
			r := recs[ck.i]
			if !slices.Equal(r.Names, ck.names) || r.Prefix != ck.prefix || !strings.Contains(r.Result, ck.result) {
				t.Errorf("record %d (%s): names %v prefix %q result %q; want %v %q %q", ck.i, r.Operation, r.Names, r.Prefix, r.Result, ck.names, ck.prefix, ck.result)
			}
		}
		for i, r := range recs {
			if r.Time.IsZero() || r.PID <= 0 || r.Verdict == "" || r.MAC == "" {
				t.Errorf("record %d lacks time, pid, verdict or MAC: %+v", i, r)
			}
		}
		agent := recs[7]
		if agent.Verdict != "agent" || agent.Agent == "" || !strings.Contains(agent.Signal, "AI_AGENT") || agent.Chain == "" || agent.PID == os.Getpid() {
			t.Errorf("the agent's record does not say who it was: %+v", agent)
		}
	})
	t.Run("no record holds a value", func(t *testing.T) {
		d.assertFileClean(t, key, other)
		d.assertLogClean(t, key, other)
	})
	t.Run("VerifyAudit finds the chain intact", func(t *testing.T) {
		rep, err := c.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.GetOk() || rep.GetRecords() != int64(len(want)) || rep.GetUnsealed() != 0 {
			t.Errorf("VerifyAudit = %v", rep)
		}
	})
	t.Run("Audit streams the records, filtered by name and by agent", func(t *testing.T) {
		all := streamAudit(t, c, client.AuditOptions{})
		if len(all) != len(want) || all[5].GetMac() != recs[3].MAC || all[9].GetVerdict() != hushv1.Verdict_VERDICT_AGENT {
			t.Fatalf("Audit streamed %d records: %v", len(all), all)
		}
		if r := all[0].GetResult(); !strings.Contains(r, "backend file") || !strings.Contains(r, own[0].Config) {
			t.Errorf("the streamed start record does not name the backend and settings: %q", r)
		}
		var got []string
		for _, r := range streamAudit(t, c, client.AuditOptions{NamePrefix: "org/api/OTHER"}) {
			got = append(got, r.GetOperation())
		}
		if want := []string{"Set", "GetPrefix", "Delete"}; !slices.Equal(got, want) {
			t.Errorf("records touching org/api/OTHER: %v, want %v", got, want)
		}
		byAgent := streamAudit(t, c, client.AuditOptions{Agent: recs[7].Agent})
		if len(byAgent) != 1 || byAgent[0].GetPid() != int32(recs[7].PID) {
			t.Errorf("records of agent %q: %v", recs[7].Agent, byAgent)
		}
		if last := streamAudit(t, c, client.AuditOptions{Limit: 2}); len(last) != 2 || last[1].GetOperation() != "Lock" {
			t.Errorf("the last two records: %v", last)
		}
	})
}

func TestTheAuditKeyIsReservedAndInvisible(t *testing.T) {
	t.Parallel()
	d := startAudited(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()
	if _, err := c.Set(ctx, "org/api/KEY", []byte("sk_test_FAKE_reserved")); err != nil {
		t.Fatal(err)
	}
	stored, err := d.vault.Get(ctx, ".hush/audit-key")
	if err != nil {
		t.Fatalf("the audit key is not in the vault: %v", err)
	}
	if k, err := hex.DecodeString(string(stored)); err != nil || len(k) != 32 {
		t.Fatalf("the stored audit key is not 32 hex-encoded bytes")
	}

	refused := []struct {
		name string
		call func() error
	}{
		{"Get of the key", func() error { _, err := c.Get(ctx, ".hush/audit-key"); return err }},
		{"GetPrefix of the reserved prefix", func() error { _, err := c.GetPrefix(ctx, ".hush"); return err }},
		{"GetPrefix of the prefix with a slash", func() error { _, err := c.GetPrefix(ctx, ".hush/"); return err }},
		{"Set of the key", func() error { _, err := c.Set(ctx, ".hush/audit-key", []byte("00")); return err }},
		{"Set of another reserved name", func() error { _, err := c.Set(ctx, ".hush/mine", []byte("x")); return err }},
		{"Delete of the key", func() error { return c.Delete(ctx, ".hush/audit-key") }},
		{"List of the reserved prefix", func() error { _, err := c.List(ctx, ".hush"); return err }},
	}
	for _, tc := range refused {
		t.Run(tc.name+" is refused as an invalid name", func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, secret.ErrInvalidName) || !strings.Contains(err.Error(), "reserved") {
				t.Fatalf("err = %v, want a reserved-name refusal", err)
			}
		})
	}
	t.Run("listings and prefix loads leave it out", func(t *testing.T) {
		infos, err := c.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 1 || infos[0].GetName() != "org/api/KEY" {
			t.Errorf("List() = %v", infos)
		}
		r, err := c.GetPrefix(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Secrets) != 1 || r.Secrets[0].Name != "org/api/KEY" {
			t.Errorf("GetPrefix(\"\") delivered %d secrets", len(r.Secrets))
		}
		if st, err := c.Status(ctx); err != nil || st.GetSecretCount() != 1 {
			t.Errorf("Status counts %d secrets (%v), want 1", st.GetSecretCount(), err)
		}
	})
	if after, err := d.vault.Get(ctx, ".hush/audit-key"); err != nil || !bytes.Equal(after, stored) {
		t.Errorf("the audit key changed or went away: %v", err)
	}
	recs := d.records(t)
	if r := recs[3]; r.Operation != "Get" || !slices.Equal(r.Names, []string{".hush/audit-key"}) || !strings.Contains(r.Result, "reserved") {
		t.Errorf("the attempt to read the key is not on record: %+v", r)
	}
	d.assertFileClean(t, string(stored))
	d.assertLogClean(t, string(stored))
}

func TestRecordsBeforeTheFirstUnlockAreSealedByIt(t *testing.T) {
	t.Parallel()
	pass := "correct horse FAKE audit"
	d := startAudited(t, daemonConfig{passphrase: []byte(pass)})
	c := d.dial(t)
	ctx := context.Background()

	if _, err := c.Get(ctx, "org/api/KEY"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("Get = %v, want locked", err)
	}
	if res := runHelper(t, agentMarked, "", "unlock", d.socket, pass, nil); res.Code != "PermissionDenied" {
		t.Fatalf("agent unlock = %s %s", res.Code, res.Message)
	}
	if _, err := c.VerifyAudit(ctx); !errors.Is(err, store.ErrLocked) {
		t.Errorf("VerifyAudit before any unlock = %v, want locked", err)
	}
	recs := d.records(t)
	if len(recs) != 3 || recs[0].MAC != "" || recs[1].MAC != "" || recs[2].MAC != "" {
		t.Fatalf("records before the key is known: %+v", recs)
	}
	if recs[2].Operation != "Unlock" || recs[2].Verdict != "agent" || !strings.Contains(recs[2].Result, "denied") {
		t.Errorf("the refused unlock is not on record: %+v", recs[2])
	}

	if res := runHelper(t, atTerminal, "", "unlock", d.socket, pass, nil); res.Code != "OK" {
		t.Fatalf("person unlock = %s %s", res.Code, res.Message)
	}
	if err := c.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "org/api/KEY"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("Get after Lock = %v, want locked", err)
	}
	recs = d.records(t)
	// The log is checked against the kept head once the vault opens.
	if got, want := ops(recs), []string{"Start", "Get", "Unlock", "Unlock", "HeadCheck", "Lock", "Get"}; !slices.Equal(got, want) {
		t.Fatalf("operations %v, want %v", got, want)
	}
	for i, r := range recs[3:] {
		if r.MAC == "" {
			t.Errorf("record %d (%s) after the unlock is not sealed: the key must stay known while locked", i+3, r.Operation)
		}
	}
	rep, err := c.VerifyAudit(ctx)
	if err != nil || !rep.GetOk() || rep.GetUnsealed() != 0 || rep.GetRecords() != 7 {
		t.Errorf("VerifyAudit = %v, %v", rep, err)
	}
	d.assertFileClean(t, pass)
	d.assertLogClean(t, pass)
}

func TestAFollowerSeesNewRecordsAndEndsWithTheDaemon(t *testing.T) {
	t.Parallel()
	d := startAudited(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()
	if _, err := c.Set(ctx, "org/api/OLD", []byte("sk_test_FAKE_old")); err != nil {
		t.Fatal(err)
	}
	got := make(chan *hushv1.AuditRecord, 16)
	done := make(chan error, 1)
	go func() {
		done <- c.Audit(ctx, client.AuditOptions{Follow: true, NamePrefix: "org/api"}, func(r *hushv1.AuditRecord) error {
			got <- r
			return nil
		})
	}()
	next := func() *hushv1.AuditRecord {
		select {
		case r := <-got:
			return r
		case err := <-done:
			t.Fatalf("the follower ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no record reached the follower")
		}
		return nil
	}
	if r := next(); r.GetOperation() != "Set" || r.GetNames()[0] != "org/api/OLD" {
		t.Fatalf("first record %v, want the earlier Set", r)
	}
	if _, err := c.Set(ctx, "org/other/SKIP", []byte("sk_test_FAKE_skip")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(ctx, "org/api/NEW", []byte("sk_test_FAKE_new")); err != nil {
		t.Fatal(err)
	}
	if r := next(); r.GetNames()[0] != "org/api/NEW" {
		t.Fatalf("followed record %v, want org/api/NEW (org/other is filtered out)", r)
	}

	d.cancel()
	serveErr := <-d.done
	d.done <- serveErr // for the cleanup's stop
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the follower outlived the daemon")
	}
	if strings.Contains(d.log.String(), "grace period") {
		t.Errorf("shutdown waited out the grace period for the follower:\n%s", d.log.String())
	}
}

func TestAnAccessThatCannotBeRecordedDeliversNothing(t *testing.T) {
	t.Parallel()
	d := startAudited(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()
	if _, err := c.Set(ctx, "org/api/KEY", []byte("sk_test_FAKE_unrecorded")); err != nil {
		t.Fatal(err)
	}
	d.audit.Close()

	var ce *client.Error
	if _, err := c.Get(ctx, "org/api/KEY"); !errors.As(err, &ce) || ce.Code != codes.Internal || !strings.Contains(ce.Message, "audit log") {
		t.Errorf("Get without an audit log = %v, want an internal error naming the audit log", err)
	}
	if _, err := c.GetPrefix(ctx, "org"); err == nil {
		t.Error("GetPrefix delivered without an audit record")
	}
	// A change has happened by the time its record fails; the caller is
	// told it happened, and the daemon's log says the record is missing.
	if _, err := c.Set(ctx, "org/api/KEY2", []byte("sk_test_FAKE_unrecorded2")); err != nil {
		t.Errorf("Set = %v", err)
	}
	if !strings.Contains(d.log.String(), "cannot write the audit log") {
		t.Errorf("the daemon's log does not report the failed record")
	}
}

func TestADaemonWithoutAnAuditLogSaysSo(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, daemonConfig{})
	c := d.dial(t)
	var ce *client.Error
	err := c.Audit(context.Background(), client.AuditOptions{}, func(*hushv1.AuditRecord) error { return nil })
	if !errors.As(err, &ce) || ce.Code != codes.FailedPrecondition || !strings.Contains(ce.Message, "no audit log") {
		t.Errorf("Audit = %v", err)
	}
	if _, err := c.VerifyAudit(context.Background()); !errors.As(err, &ce) || ce.Code != codes.FailedPrecondition {
		t.Errorf("VerifyAudit = %v", err)
	}
}
