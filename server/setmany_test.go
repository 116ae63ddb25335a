package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hush-dev/hush/internal/policy"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/store/filevault"
	"github.com/hush-dev/hush/server"
)

// An agent's import that a rule refuses for one name stores none of the
// names: every write is authorized before the first is made.
func TestSetManyIsRefusedWholeWhenOneNameIsDenied(t *testing.T) {
	p, err := policy.New(policy.UnknownAsAgent, policy.Rule{Prefix: "p/B", Agent: policy.Deny})
	if err != nil {
		t.Fatal(err)
	}
	d := startAudited(t, daemonConfig{opts: []server.Option{server.WithPolicy(p)}})

	rs := agentTree(t, d.daemon, [2]string{"setmany", "p/A,p/B,p/C"}, [2]string{"setmany", "q/A,q/B"})
	if rs[0].Code != "PermissionDenied" || !strings.Contains(rs[0].Message, `denied by policy rule "p/B"`) || !strings.Contains(rs[0].Message, `for "p/B"`) {
		t.Errorf("the refused import: %s %q, want PermissionDenied naming the rule and p/B", rs[0].Code, rs[0].Message)
	}
	if rs[1].Code != "OK" {
		t.Errorf("the allowed import: %s %q", rs[1].Code, rs[1].Message)
	}
	names, err := d.vault.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"q/A", "q/B"}; !slices.Equal(slices.DeleteFunc(names, func(n string) bool { return strings.HasPrefix(n, ".hush/") }), want) {
		t.Errorf("the vault holds %q, want %q: nothing of the refused import", names, want)
	}

	recs := d.records(t)
	var got []string
	for _, r := range recs {
		if r.Operation == "SetMany" {
			got = append(got, r.Names[0]+" "+r.Result)
		}
	}
	for i, want := range []string{"p/A denied", "p/B denied", "p/C denied", "q/A ok", "q/B ok"} {
		if i >= len(got) || !strings.HasPrefix(got[i], want) {
			t.Errorf("SetMany audit records %q, want one per name: %s at %d", got, want, i)
			break
		}
	}
	d.assertLogClean(t, "sk_test_FAKE_setmany_")
	d.assertFileClean(t, "sk_test_FAKE_setmany_")
}

// SetMany checks what Set checks, for every entry, before storing any; and
// stores the rest in one write, so vault.age.prev is the vault from before
// the whole import.
func TestSetManyChecksEveryEntryAndIsOneChange(t *testing.T) {
	d := startDaemon(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()
	if _, err := c.Set(ctx, "org/A", []byte("sk_test_FAKE_A_before")); err != nil {
		t.Fatal(err)
	}
	good := []secret.Secret{{Name: "org/A", Value: []byte("sk_test_FAKE_A_after")}, {Name: "org/B", Value: []byte("sk_test_FAKE_B_after")}}
	for _, tt := range []struct {
		name string
		bad  secret.Secret
		want error
	}{
		{"an empty value", secret.Secret{Name: "org/C", Value: nil}, secret.ErrInvalidValue},
		{"a value with NUL", secret.Secret{Name: "org/C", Value: []byte("a\x00b")}, secret.ErrInvalidValue},
		{"an invalid name", secret.Secret{Name: "org//C", Value: []byte("sk_test_FAKE_C")}, secret.ErrInvalidName},
		{"a reserved name", secret.Secret{Name: ".hush/audit-key", Value: []byte("sk_test_FAKE_C")}, secret.ErrInvalidName},
	} {
		t.Run("refuses "+tt.name+" and stores nothing", func(t *testing.T) {
			if _, err := c.SetMany(ctx, append(slices.Clone(good), tt.bad)); !errors.Is(err, tt.want) {
				t.Fatalf("SetMany = %v, want %v", err, tt.want)
			}
			if got, err := d.vault.Get(ctx, "org/A"); err != nil || string(got) != "sk_test_FAKE_A_before" {
				t.Errorf("org/A changed (%v)", err)
			}
			if _, err := d.vault.Get(ctx, "org/B"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("org/B was stored (%v)", err)
			}
		})
	}
	warnings, err := c.SetMany(ctx, append(good, secret.Secret{Name: "org/SHORT", Value: []byte("short")}))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "org/SHORT") {
		t.Errorf("warnings %q, want one naming org/SHORT", warnings)
	}
	// A copy of vault.age.prev beside the vault's key, opened while the
	// daemon keeps the vault itself.
	dir := t.TempDir()
	for from, to := range map[string]string{"vault.age.prev": "vault.age", "identity.txt": "identity.txt"} {
		data, err := os.ReadFile(filepath.Join(d.dir, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	v, err := filevault.Open(filepath.Join(dir, "vault.age"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got, err := v.Get(ctx, "org/A"); err != nil || string(got) != "sk_test_FAKE_A_before" {
		t.Errorf("org/A in vault.age.prev is not the value before the import (%v)", err)
	}
	if _, err := v.Get(ctx, "org/B"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("vault.age.prev holds part of the import (%v)", err)
	}
}

// A whole .env file goes in one SetMany and a prefix comes back in one
// GetPrefix: both past gRPC's default 4 MiB message.
func TestALargeImportAndPrefixFitInOneMessage(t *testing.T) {
	d := startDaemon(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()
	var secrets []secret.Secret
	for i := range 160 { // 160 × 48 KiB ≈ 7.5 MiB
		v := []byte(strings.Repeat(fmt.Sprintf("sk_test_FAKE_big_%03d_", i), 48<<10/21))
		secrets = append(secrets, secret.Secret{Name: fmt.Sprintf("big/K%03d", i), Value: v})
	}
	if _, err := c.SetMany(ctx, secrets); err != nil {
		t.Fatalf("SetMany of %d secrets: %v", len(secrets), err)
	}
	res, err := c.GetPrefix(ctx, "big")
	if err != nil {
		t.Fatalf("GetPrefix: %v", err)
	}
	if len(res.Secrets) != len(secrets) {
		t.Fatalf("GetPrefix returned %d secrets, want %d", len(res.Secrets), len(secrets))
	}
	for i, s := range res.Secrets {
		if s.Name != secrets[i].Name || !bytes.Equal(s.Value, secrets[i].Value) {
			t.Fatalf("secret %d: %s differs", i, s.Name)
		}
	}
}

// One call cannot flood the audit log: past MaxSetMany entries the call is
// refused whole, with one record, not one per entry.
func TestAnOversizedSetManyIsRefusedWithOneRecord(t *testing.T) {
	d := startAudited(t, daemonConfig{})
	c := d.dial(t)
	secrets := make([]secret.Secret, server.MaxSetMany+1)
	for i := range secrets {
		secrets[i] = secret.Secret{Name: fmt.Sprintf("many/K%d", i), Value: []byte("sk_test_FAKE_many")}
	}
	_, err := c.SetMany(context.Background(), secrets)
	if !errors.Is(err, secret.ErrInvalidValue) || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("SetMany of %d = %v, want a refusal naming the limit", len(secrets), err)
	}
	n := 0
	for _, r := range d.records(t) {
		if r.Operation == "SetMany" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d SetMany audit records, want 1", n)
	}
	if names, _ := d.vault.List(context.Background(), "many"); len(names) != 0 {
		t.Errorf("%d secrets stored from a refused call", len(names))
	}
}
