package storetest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/store/storetest"
)

// memStore is the smallest correct store; the flaws below are the mistakes
// real backends make, and the suite must catch each one.
type memStore struct {
	mu      sync.Mutex
	secrets map[string][]byte
	flaw    string
}

func (m *memStore) Get(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.secrets[name]
	if !ok {
		if m.flaw == "missing is nil" {
			return nil, nil
		}
		return nil, store.ErrNotFound
	}
	if m.flaw == "shares slices" {
		return v, nil
	}
	return bytes.Clone(v), nil
}

func (m *memStore) Put(_ context.Context, name string, value []byte) error {
	if m.flaw != "no validation" {
		if err := secret.ValidateName(name); err != nil {
			return err
		}
		if err := secret.ValidateValue(name, value); err != nil {
			return err
		}
	}
	if m.flaw == "trims newlines" {
		value = bytes.TrimRight(value, "\n")
	}
	if m.flaw != "shares slices" {
		value = bytes.Clone(value)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secrets[name] = value
	return nil
}

func (m *memStore) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.secrets[name]; !ok && m.flaw != "missing is nil" {
		return store.ErrNotFound
	}
	delete(m.secrets, name)
	return nil
}

func (m *memStore) List(_ context.Context, prefix string) ([]string, error) {
	if err := secret.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for n := range m.secrets {
		under := secret.Under(prefix, n)
		if m.flaw == "string prefix" {
			under = strings.HasPrefix(n, prefix)
		}
		if under {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

func newMem(flaw string) func(t *testing.T) store.Store {
	return func(t *testing.T) store.Store { return &memStore{secrets: map[string][]byte{}, flaw: flaw} }
}

func TestACorrectStorePasses(t *testing.T) {
	storetest.Run(t, newMem(""))
}

const flawEnv = "HUSH_STORETEST_FLAW"

// TestFlawedStore is run only as a child of TestFlawedStoresFail: a failing
// subtest there is the expected outcome, not a failure of this package.
func TestFlawedStore(t *testing.T) {
	flaw := os.Getenv(flawEnv)
	if flaw == "" {
		t.Skip("runs only as a child of TestFlawedStoresFail")
	}
	storetest.Run(t, newMem(flaw))
}

func TestFlawedStoresFail(t *testing.T) {
	tests := []struct {
		flaw   string
		caught string
	}{
		{"trims newlines", "values_come_back_byte-exact"},
		{"shares slices", "callers'_slices_are_not_shared_with_the_store"},
		{"missing is nil", "a_missing_secret_is_ErrNotFound"},
		{"no validation", "refused_names_and_values_are_not_stored"},
		{"string prefix", "list_selects_by_path_prefix,_sorted"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("a store that %s is caught", tt.flaw), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFlawedStore$", "-test.v")
			cmd.Env = []string{flawEnv + "=" + tt.flaw}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store that %s:\n%s", tt.flaw, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestFlawedStore/"+tt.caught) {
				t.Fatalf("subtest %q did not catch it:\n%s", tt.caught, out)
			}
		})
	}
}
