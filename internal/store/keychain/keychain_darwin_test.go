//go:build darwin && cgo

package keychain_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/store/keychain"
	"github.com/hush-dev/hush/internal/store/storetest"
)

// Each store gets a service name of its own, so the suite never sees or
// touches a person's real hush secrets, and removes what it wrote.
func openEmpty(t *testing.T) store.Store {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	s, err := keychain.Open(context.Background(), keychain.WithService("hush-test-"+hex.EncodeToString(b)))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no usable login keychain: %v", err)
		}
		t.Skipf("no usable login keychain here: %v", err)
	}
	t.Cleanup(func() {
		names, _ := s.List(context.Background(), "")
		for _, n := range names {
			s.Delete(context.Background(), n)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openEmpty)
}
