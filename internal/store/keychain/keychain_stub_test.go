//go:build !darwin || !cgo

package keychain_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hush-dev/hush/internal/store/keychain"
)

func TestOpenWithoutAKeychainSaysWhy(t *testing.T) {
	s, err := keychain.Open(context.Background())
	if s != nil || !errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("Open = %v, %v", s, err)
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `backend = "file"`) {
		t.Fatalf("not one actionable line: %q", err)
	}
}
