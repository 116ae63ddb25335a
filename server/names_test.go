package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store/filevault"
	"github.com/hush-dev/hush/internal/store/filevault/vaulttest"
)

// A caller can send a name of megabytes (an MCP tool argument has no
// bound). Refusing it must not repeat it: not in the error the caller
// (an agent's context) gets, not in the audit record, where a few dozen
// such calls would rotate every earlier record away.
func TestAnOversizedNameIsQuotedShort(t *testing.T) {
	d := startAudited(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()
	huge := strings.Repeat("a", 2_000_000)
	reservedHuge := ".hush/" + huge
	for _, tc := range []struct {
		name string
		size int
		call func() error
	}{
		{"Get", len(huge), func() error { _, err := c.Get(ctx, huge); return err }},
		{"Get of a reserved name", len(reservedHuge), func() error { _, err := c.Get(ctx, reservedHuge); return err }},
		{"GetPrefix", len(huge), func() error { _, err := c.GetPrefix(ctx, huge); return err }},
		{"Set", len(huge), func() error { _, err := c.Set(ctx, huge, []byte("v")); return err }},
		{"Delete", len(huge), func() error { return c.Delete(ctx, huge) }},
		{"List", len(huge), func() error { _, err := c.List(ctx, huge); return err }},
		{"Classify", len(huge), func() error { _, err := c.Classify(ctx, 0, huge); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, secret.ErrInvalidName) {
				t.Fatalf("err = %.200v, want ErrInvalidName", err)
			}
			msg := err.Error()
			if len(msg) > 512 || !strings.Contains(msg, fmt.Sprintf("…\" (%d bytes)", tc.size)) {
				t.Errorf("the error is %d bytes: %.300q; want the name's start and its length", len(msg), msg)
			}
		})
	}

	f, err := os.Open(d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 2048 {
			t.Errorf("an audit record is %d bytes: %.300s…", len(sc.Bytes()), sc.Bytes())
		}
	}
	refused := 0
	for _, r := range d.records(t) {
		for _, n := range append(r.Names, r.Prefix) {
			if strings.HasSuffix(n, "… (2000000 bytes)") || strings.HasSuffix(n, "… (2000006 bytes)") {
				refused++
			}
		}
	}
	if refused != 6 {
		t.Errorf("%d audit records name the refused name shortened, want 6 (Classify is not audited)", refused)
	}
}

func TestANewNameCannotHideCharacters(t *testing.T) {
	d := startDaemon(t, daemonConfig{})
	c := d.dial(t)
	_, err := c.Set(context.Background(), "s/\u202eYEK_EPIRTS", []byte("sk_test_FAKE_bidi"))
	if !errors.Is(err, secret.ErrInvalidName) || !strings.Contains(err.Error(), "format character U+202E") ||
		strings.ContainsRune(err.Error(), '\u202e') || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Set = %v; want one escaped line naming U+202E and the rule", err)
	}
	if names, err := c.List(context.Background(), ""); err != nil || len(names) != 0 {
		t.Errorf("List = %v, %v; nothing should be stored", names, err)
	}
}

// A name stored before the rules for new names refused format characters
// stays listable, readable and deletable through the daemon.
func TestANameStoredBeforeTheNewRulesStillWorks(t *testing.T) {
	h := newHome(t, nil)
	const old = "s/\u202eYEK_EPIRTS"
	vaulttest.WriteDocument(t, h.vault, `{"version":1,"secrets":{"s/\u202eYEK_EPIRTS":"c2tfdGVzdF9GQUtF"}}`)
	c, _, _ := h.run(t)
	ctx := context.Background()
	infos, err := c.List(ctx, "")
	if err != nil || len(infos) != 1 || infos[0].GetName() != old {
		t.Fatalf("List = %v, %v; want the stored name", infos, err)
	}
	if _, err := c.Get(ctx, old); err != nil {
		t.Errorf("Get: %v", err)
	}
	if err := c.Delete(ctx, old); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if infos, err := c.List(ctx, ""); err != nil || len(infos) != 0 {
		t.Errorf("after Delete, List = %v, %v", infos, err)
	}
}

// README: "the previous version is kept as vault.age.prev". The daemon
// keeps the audit log's head in the vault within seconds of every audited
// call, and at every start and stop; none of that may take the place of
// the version before the user's last change.
func TestThePreviousVersionOutlastsTheAuditHead(t *testing.T) {
	h := newHome(t, nil)
	ctx := context.Background()
	c, _, stop := h.run(t)
	if _, err := c.Set(ctx, "t/K", []byte("sk_test_FAKE_OLD")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(ctx, "t/K", []byte("sk_test_FAKE_NEW")); err != nil {
		t.Fatal(err)
	}
	// Lock keeps the head before it runs (a vault without a passphrase
	// then refuses to lock), and each Lock is a record that moves it.
	for range 3 {
		if err := c.Lock(ctx); err == nil {
			t.Fatal("a vault without a passphrase locked")
		}
	}
	stop()
	_, _, stop = h.run(t) // a start and a stop keep the head too
	stop()

	if err := os.Rename(h.vault+".prev", h.vault); err != nil {
		t.Fatal(err)
	}
	v, err := filevault.Open(h.vault)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	got, err := v.Get(ctx, "t/K")
	if err != nil || string(got) != "sk_test_FAKE_OLD" {
		t.Errorf("t/K in vault.age.prev: %v; is the old value %v, the new one %v", err, string(got) == "sk_test_FAKE_OLD", string(got) == "sk_test_FAKE_NEW")
	}
}
