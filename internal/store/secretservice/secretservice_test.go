package secretservice_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keybase/dbus"

	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/store/secretservice"
	"github.com/hush-dev/hush/internal/store/secretservice/sstest"
	"github.com/hush-dev/hush/internal/store/storetest"
)

// eachProvider runs test against gnome-keyring and against KeePassXC.
func eachProvider(t *testing.T, test func(t *testing.T, k *sstest.Keyring)) {
	for _, p := range sstest.Providers {
		t.Run(p.Name, func(t *testing.T) { test(t, p.Start(t)) })
	}
}

func open(t *testing.T, opts ...secretservice.Option) *secretservice.Store {
	t.Helper()
	s, err := secretservice.Open(context.Background(), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestItemsAreFoundBySecretTool(t *testing.T) {
	eachProvider(t, func(t *testing.T, k *sstest.Keyring) {
		s := open(t)
		ctx := context.Background()
		if err := s.Put(ctx, "org/proj/STRIPE_KEY", []byte("sk_test_FAKE")); err != nil {
			t.Fatal(err)
		}
		t.Run("secret-tool lookup by service and name returns the value", func(t *testing.T) {
			out, err := k.SecretTool(t, "", "lookup", "service", "hush", "name", "org/proj/STRIPE_KEY")
			if err != nil || out != "sk_test_FAKE" {
				t.Fatalf("lookup = %q, %v", out, err)
			}
		})
		t.Run("secret-tool search shows the label", func(t *testing.T) {
			out, err := k.SecretTool(t, "", "search", "--all", "service", "hush")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "label = hush: org/proj/STRIPE_KEY") || !strings.Contains(out, "attribute.name = org/proj/STRIPE_KEY") {
				t.Fatalf("search output lacks the label or name attribute:\n%s", out)
			}
		})
		t.Run("a secret stored by secret-tool is read by hush", func(t *testing.T) {
			if _, err := k.SecretTool(t, "from-secret-tool", "store", "--label=x", "service", "hush", "name", "org/proj/OTHER"); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, "org/proj/OTHER")
			if err != nil || string(got) != "from-secret-tool" {
				t.Fatalf("Get = %q, %v", got, err)
			}
		})
		t.Run("a put replaces the item instead of adding one", func(t *testing.T) {
			if err := s.Put(ctx, "org/proj/STRIPE_KEY", []byte("sk_test_NEW")); err != nil {
				t.Fatal(err)
			}
			out, err := k.SecretTool(t, "", "search", "--all", "service", "hush", "name", "org/proj/STRIPE_KEY")
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(out, "label = "); n != 1 {
				t.Fatalf("%d items for one name:\n%s", n, out)
			}
			got, _ := s.Get(ctx, "org/proj/STRIPE_KEY")
			if string(got) != "sk_test_NEW" {
				t.Fatal("Get did not return the replacement value")
			}
		})
		t.Run("a duplicate made by another tool is removed by the next put", func(t *testing.T) {
			if k.Name == "KeePassXC" {
				// KeePassXC replaces the other client's item itself, but
				// only after asking the person to allow access to it.
				t.Skip("KeePassXC asks a person before hush may replace another client's item")
			}
			if _, err := k.SecretTool(t, "stale", "store", "--label=dup", "service", "hush", "name", "org/proj/DUP", "extra", "1"); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, "org/proj/DUP", []byte("fresh")); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				got, err := s.Get(ctx, "org/proj/DUP")
				if err != nil || string(got) != "fresh" {
					t.Fatalf("Get = %q, %v", got, err)
				}
			}
			out, _ := k.SecretTool(t, "", "search", "--all", "service", "hush", "name", "org/proj/DUP")
			if n := strings.Count(out, "label = "); n != 1 {
				t.Fatalf("%d items for one name after put:\n%s", n, out)
			}
		})
	})
}

func TestConformance(t *testing.T) {
	for _, p := range sstest.Providers {
		t.Run(p.Name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				p.Start(t)
				return open(t)
			})
		})
	}
}

func TestOtherApplicationsItemsAreNotHushs(t *testing.T) {
	eachProvider(t, func(t *testing.T, k *sstest.Keyring) {
		s := open(t)
		ctx := context.Background()
		if err := s.Put(ctx, "org/api/KEY", []byte("mine")); err != nil {
			t.Fatal(err)
		}
		if _, err := k.SecretTool(t, "theirs", "store", "--label=foreign", "service", "other-app", "name", "org/api/FOREIGN"); err != nil {
			t.Fatal(err)
		}
		got, err := s.List(ctx, "")
		if err != nil || strings.Join(got, ",") != "org/api/KEY" {
			t.Fatalf("List = %q, %v", got, err)
		}
		if _, err := s.Get(ctx, "org/api/FOREIGN"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get of another application's item = %v", err)
		}
	})
}

// TestLockedCollection covers field case K2: a locked collection is its own
// error for every operation, never "not found".
func TestLockedCollection(t *testing.T) {
	eachProvider(t, func(t *testing.T, k *sstest.Keyring) {
		s := open(t, secretservice.WithPrompt(false))
		ctx := context.Background()
		if err := s.Put(ctx, "org/KEY", []byte("value-1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		if !s.Locked() {
			t.Fatal("Locked() = false after Lock")
		}
		ops := []struct {
			name string
			op   func() error
		}{
			{"get of an existing secret", func() error { _, err := s.Get(ctx, "org/KEY"); return err }},
			{"get of a missing secret", func() error { _, err := s.Get(ctx, "org/MISSING"); return err }},
			{"put", func() error { return s.Put(ctx, "org/NEW", []byte("x")) }},
			{"delete", func() error { return s.Delete(ctx, "org/KEY") }},
			{"list", func() error { _, err := s.List(ctx, ""); return err }},
		}
		for _, o := range ops {
			t.Run("a "+o.name+" on a locked collection is ErrLocked, never not-found", func(t *testing.T) {
				err := o.op()
				if !errors.Is(err, store.ErrLocked) || errors.Is(err, store.ErrNotFound) {
					t.Fatalf("err = %v", err)
				}
				if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `" is locked`) {
					t.Fatalf("not one line naming the collection: %q", err)
				}
			})
		}
		if k.PassphraseUnlock {
			t.Run("a wrong passphrase is ErrBadPassphrase and leaves it locked", func(t *testing.T) {
				err := s.Unlock(ctx, []byte("wrong"))
				if !errors.Is(err, store.ErrBadPassphrase) {
					t.Fatalf("Unlock = %v", err)
				}
				if !s.Locked() {
					t.Fatal("unlocked by a wrong passphrase")
				}
			})
		} else {
			t.Run("a keyring that unlocks only by prompt says so and stays locked", func(t *testing.T) {
				err := s.Unlock(ctx, []byte(sstest.Password))
				if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "cannot be unlocked with a passphrase") {
					t.Fatalf("Unlock = %v", err)
				}
				if !s.Locked() {
					t.Fatal("unlocked")
				}
			})
		}
		t.Run("once unlocked, nothing done while locked has taken effect", func(t *testing.T) {
			unlock(t, k, s)
			if s.Locked() {
				t.Fatal("still locked")
			}
			got, err := s.Get(ctx, "org/KEY")
			if err != nil || string(got) != "value-1" {
				t.Fatalf("Get = %q, %v", got, err)
			}
			if _, err := s.Get(ctx, "org/NEW"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a put on a locked collection left something: %v", err)
			}
		})
	})
}

// TestKeyringRestart covers the other half of K2: gnome-keyring restarted
// (its collection locked again) while hush keeps running.
func TestKeyringRestart(t *testing.T) {
	eachProvider(t, func(t *testing.T, k *sstest.Keyring) {
		s := open(t, secretservice.WithPrompt(false))
		ctx := context.Background()
		if err := s.Put(ctx, "org/KEY", []byte("survives")); err != nil {
			t.Fatal(err)
		}
		k.Stop()
		t.Run("a keyring that went away is ErrNoService", func(t *testing.T) {
			_, err := s.Get(ctx, "org/KEY")
			if !errors.Is(err, secretservice.ErrNoService) {
				t.Fatalf("Get = %v", err)
			}
		})
		k.Start(false) // as after a reboot: the keyring is locked
		t.Run("after a restart the collection is locked, not empty", func(t *testing.T) {
			_, err := s.Get(ctx, "org/KEY")
			if !errors.Is(err, store.ErrLocked) {
				t.Fatalf("Get = %v", err)
			}
		})
		t.Run("unlocking opens a new session and reads the value", func(t *testing.T) {
			unlock(t, k, s)
			got, err := s.Get(ctx, "org/KEY")
			if err != nil || string(got) != "survives" {
				t.Fatalf("Get = %q, %v", got, err)
			}
			if err := s.Put(ctx, "org/KEY2", []byte("after restart")); err != nil {
				t.Fatalf("Put after restart: %v", err)
			}
		})
	})
}

// TestUnlockPrompt watches the bus to see that hush asks the keyring to
// show its prompt only where one can show. A headless gnome-keyring
// dismisses the prompt, which must come back as ErrLocked.
func TestUnlockPrompt(t *testing.T) {
	eachProvider(t, func(t *testing.T, k *sstest.Keyring) {
		ctx := context.Background()
		cases := []struct {
			name       string
			allow      bool
			wantPrompt bool
		}{
			{"with a display the unlock prompt is shown", true, true},
			{"without a display no prompt is shown", false, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				// gnome-keyring without a prompter dismisses at once;
				// KeePassXC waits for a person who never comes.
				s := open(t, secretservice.WithPrompt(c.allow), secretservice.WithPromptTimeout(1500*time.Millisecond))
				if err := s.Lock(ctx); err != nil {
					t.Fatal(err)
				}
				calls := monitor(t, k.Addr, "org.freedesktop.Secret.Prompt")
				_, err := s.Get(ctx, "org/KEY")
				if !errors.Is(err, store.ErrLocked) {
					t.Fatalf("Get = %v", err)
				}
				shown := false
				for _, m := range calls() {
					shown = shown || m == "Prompt"
				}
				if shown != c.wantPrompt {
					t.Fatalf("Prompt called = %v, want %v (calls: %v)", shown, c.wantPrompt, calls())
				}
				unlock(t, k, s)
			})
		}
	})
}

// unlock unlocks the keyring with its passphrase, or by restarting it
// unlocked where only a prompt could.
func unlock(t *testing.T, k *sstest.Keyring, s *secretservice.Store) {
	t.Helper()
	if k.PassphraseUnlock {
		if err := s.Unlock(context.Background(), []byte(sstest.Password)); err != nil {
			t.Fatal(err)
		}
		return
	}
	k.Stop()
	k.Start(true)
}

// monitor records the members of method calls to iface seen on the bus.
func monitor(t *testing.T, addr, iface string) func() []string {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rule := "type='method_call',interface='" + iface + "'"
	if err := conn.BusObject().Call("org.freedesktop.DBus.Monitoring.BecomeMonitor", 0, []string{rule}, uint32(0)).Err; err != nil {
		t.Fatalf("BecomeMonitor: %v", err)
	}
	ch := make(chan *dbus.Message, 64)
	conn.Eavesdrop(ch)
	var mu sync.Mutex
	var seen []string
	go func() {
		for m := range ch {
			if member, ok := m.Headers[dbus.FieldMember].Value().(string); ok {
				mu.Lock()
				seen = append(seen, member)
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		// Let the bus deliver what it copied to us.
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestUnreachableKeyring covers field case K1: each way of having no
// keyring is its own error, one line, saying what to do.
func TestUnreachableKeyring(t *testing.T) {
	sstest.Need(t, "dbus-daemon")
	bus := sstest.StartBus(t)
	hung := hungSocket(t)
	type unreachable struct {
		name string
		addr string
		want error
		says string
	}
	cases := []unreachable{
		{"a bus address pointing nowhere is no session bus", "unix:path=" + filepath.Join(t.TempDir(), "nothing"), secretservice.ErrNoSessionBus, "no such file"},
		// The timeout, not the library, ends the wait: a hung bus would
		// otherwise block for good.
		{"a bus that never answers is no session bus, after the timeout", "unix:path=" + hung, secretservice.ErrNoSessionBus, "did not answer within 1s"},
		{"a bus without org.freedesktop.secrets is no Secret Service", bus.Addr, secretservice.ErrNoService, "start gnome-keyring-daemon or KeePassXC"},
	}
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err != nil {
		cases = append(cases, unreachable{"an unset bus address is no session bus", "", secretservice.ErrNoSessionBus, "DBUS_SESSION_BUS_ADDRESS is not set"})
	}
	others := []error{secretservice.ErrNoSessionBus, secretservice.ErrNoService, store.ErrLocked, store.ErrNotFound}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("DBUS_SESSION_BUS_ADDRESS", c.addr)
			_, err := secretservice.Open(context.Background(), secretservice.WithTimeout(time.Second))
			if !errors.Is(err, c.want) {
				t.Fatalf("Open = %v, want %v", err, c.want)
			}
			for _, o := range others {
				if o != c.want && errors.Is(err, o) {
					t.Fatalf("error also matches %v: %v", o, err)
				}
			}
			if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("not one line saying %q: %q", c.says, err)
			}
		})
	}
}

// hungSocket listens and accepts but never speaks, like a bus whose owner
// is stopped.
func hungSocket(t *testing.T) string {
	dir, err := os.MkdirTemp("", "hush-hung-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "bus")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return path
}

func TestClosedStore(t *testing.T) {
	eachProvider(t, func(t *testing.T, k *sstest.Keyring) {
		s := open(t)
		if s.Backend() != "secretservice" {
			t.Fatalf("Backend() = %q", s.Backend())
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(context.Background(), "org/KEY"); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Fatalf("Get on a closed store = %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
	})
}
