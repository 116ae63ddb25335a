package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hush-dev/hush/internal/config"
	"github.com/hush-dev/hush/internal/store/filevault"
)

// The vault format is filevault's; this keeps the generator in step with it.
func TestAFilledVaultOpensWithEverySecret(t *testing.T) {
	t.Setenv("HUSH_HOME", t.TempDir())
	paths, err := config.DefaultPaths()
	if err != nil {
		t.Fatal(err)
	}
	if err := filevault.Init(paths.Vault, filevault.InitOptions{NoPassphrase: true}); err != nil {
		t.Fatal(err)
	}
	if err := fill(50, "bench/fill"); err != nil {
		t.Fatal(err)
	}
	v, err := filevault.Open(paths.Vault)
	if err != nil {
		t.Fatalf("the filled vault does not open: %v", err)
	}
	defer v.Close()
	names, err := v.List(context.Background(), "bench/fill")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 50 {
		t.Errorf("%d secrets, want 50", len(names))
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(paths.Vault), ".vaultfill-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
