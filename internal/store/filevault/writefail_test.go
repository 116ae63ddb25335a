//go:build linux

package filevault_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/store/filevault"
)

// These tests make writes fail for real, in a child process so that the
// limits they set (a file size limit, a read-only directory, another uid)
// cannot touch the rest of the test binary.

const helperEnv = "HUSH_FILEVAULT_HELPER"

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper for the write-failure tests; runs only as their child")
	}
	var err error
	switch mode {
	case "fsize":
		err = helperFileTooLarge(os.Getenv("HUSH_VAULT"))
	case "readonly":
		err = helperReadOnlyDir(os.Getenv("HUSH_VAULT"))
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// runHelper runs TestHelperProcess in a child with a clean environment.
func runHelper(t *testing.T, bin string, cred *syscall.Credential, env ...string) {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^TestHelperProcess$")
	cmd.Env = append([]string{helperEnv + "=" + env[0]}, env[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper %s: %v\n%s", env[0], err, out)
	}
}

// A write that runs out of room midway (here: RLIMIT_FSIZE, the same failed
// write(2) a full disk gives) must leave the vault, its previous version and
// the open Vault's memory exactly as they were.
func TestFailedWriteLeavesVaultIntact(t *testing.T) {
	path := newVault(t, false)
	v := open(t, path)
	if err := v.Put(ctx, "org/KEPT", []byte("sk_test_FAKE_KEPT")); err != nil {
		t.Fatal(err)
	}
	if err := v.Put(ctx, "org/KEPT2", []byte("sk_test_FAKE_KEPT2")); err != nil {
		t.Fatal(err)
	}
	v.Close()
	before := snapshot(t, filepath.Dir(path))

	runHelper(t, os.Args[0], nil, "fsize", "HUSH_VAULT="+path)

	if after := snapshot(t, filepath.Dir(path)); after != before {
		t.Fatal("a failed write changed the vault directory")
	}
	v = open(t, path)
	names, err := v.List(ctx, "")
	if err != nil || strings.Join(names, ",") != "org/KEPT,org/KEPT2" {
		t.Fatalf("after a failed write the vault holds %q (%v)", names, err)
	}
}

func helperFileTooLarge(path string) error {
	v, err := filevault.Open(path)
	if err != nil {
		return err
	}
	defer v.Close()
	// Without this the kernel kills us with SIGXFSZ instead of failing the write.
	signal.Ignore(syscall.SIGXFSZ)
	limit := syscall.Rlimit{Cur: 8 << 10, Max: 8 << 10}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	err = v.Put(ctx, "org/BIG", bytes.Repeat([]byte("x"), 32<<10))
	if err == nil {
		return errors.New("a write over the file size limit succeeded")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "unchanged") {
		return fmt.Errorf("error %q does not name the vault and say it is unchanged", err)
	}
	if _, err := v.Get(ctx, "org/BIG"); !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("the failed secret is visible in memory: %v", err)
	}
	if got, err := v.Get(ctx, "org/KEPT"); err != nil || string(got) != "sk_test_FAKE_KEPT" {
		return fmt.Errorf("an old secret changed in memory: %v", err)
	}
	return nil
}

// A read-only vault directory refuses the write with a clear error and
// keeps the previous vault. Root ignores directory permissions, so as root
// the child runs as nobody, in a directory nobody owns.
func TestReadOnlyDirectoryLeavesVaultIntact(t *testing.T) {
	bin := os.Args[0]
	var cred *syscall.Credential
	base := t.TempDir()
	if os.Geteuid() == 0 {
		const nobody = 65534
		cred = &syscall.Credential{Uid: nobody, Gid: nobody}
		// The child needs to reach its directory and run a copy of this
		// binary; go test's own build directory is private to root.
		var err error
		if base, err = os.MkdirTemp("", "hush-ro-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(base) })
		if err := os.Chmod(base, 0o711); err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(base, "filevault.test")
		if err := copyExecutable(os.Args[0], bin); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(base, "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	runHelper(t, bin, cred, "readonly", "HUSH_VAULT="+filepath.Join(dir, "vault.age"))
}

func helperReadOnlyDir(path string) error {
	dir := filepath.Dir(path)
	if err := filevault.Init(path, filevault.InitOptions{NoPassphrase: true}); err != nil {
		return err
	}
	v, err := filevault.Open(path)
	if err != nil {
		return err
	}
	if err := v.Put(ctx, "org/KEPT", []byte("sk_test_FAKE_KEPT")); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		return err
	}
	err = v.Put(ctx, "org/NEW", []byte("sk_test_FAKE_NEW"))
	if err == nil {
		return errors.New("a write into a read-only directory succeeded")
	}
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "unchanged") {
		return fmt.Errorf("error %q is not a clear permission error", err)
	}
	if err := v.Delete(ctx, "org/KEPT"); err == nil {
		return errors.New("a delete in a read-only directory succeeded")
	}
	v.Close()
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	v, err = filevault.Open(path)
	if err != nil {
		return fmt.Errorf("reopening: %w", err)
	}
	defer v.Close()
	names, err := v.List(ctx, "")
	if err != nil || strings.Join(names, ",") != "org/KEPT" {
		return fmt.Errorf("after refused writes the vault holds %q (%v)", names, err)
	}
	return nil
}

func copyExecutable(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
