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
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hush-dev/hush/internal/secret"
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
	case "crash":
		err = helperCrash(os.Getenv("HUSH_VAULT"), os.Getenv("HUSH_CRASH_AT"))
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

// storeOldThenNew leaves org/K = old in vault.age.prev and org/K = new,
// org/KEPT in vault.age: two acknowledged changes.
func storeOldThenNew(t *testing.T) string {
	t.Helper()
	path := newVault(t, false)
	v := open(t, path)
	if err := v.Put(ctx, "org/K", []byte("sk_test_FAKE_OLD")); err != nil {
		t.Fatal(err)
	}
	if err := v.PutMany(ctx, []secret.Secret{{Name: "org/K", Value: []byte("sk_test_FAKE_NEW")}, {Name: "org/KEPT", Value: []byte("sk_test_FAKE_KEPT")}}); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// valueIn opens the vault file at file (the vault or its previous version)
// beside the vault's key, and returns org/K's value and the names it holds.
func valueIn(t *testing.T, vaultPath, file string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "identity.txt"), readFile(t, filepath.Join(filepath.Dir(vaultPath), "identity.txt")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vault.age"), readFile(t, file), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := filevault.Open(filepath.Join(dir, "vault.age"))
	if err != nil {
		t.Fatalf("%s does not open: %v", filepath.Base(file), err)
	}
	defer v.Close()
	names, err := v.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Get(ctx, "org/K")
	if err != nil {
		t.Fatalf("org/K in %s: %v", filepath.Base(file), err)
	}
	return string(got), names
}

// A write whose last step (the rename over vault.age) fails must leave the
// vault and vault.age.prev exactly as they were: the version before the
// user's last change is not given up for a change that did not happen.
func TestAFailedReplaceKeepsTheVaultAndItsPreviousVersion(t *testing.T) {
	path := storeOldThenNew(t)
	before := snapshot(t, filepath.Dir(path))
	v := open(t, path)
	restore := filevault.SetStepHook(func(step string) error {
		if step == "replace" {
			return fmt.Errorf("rename: %w", syscall.EIO)
		}
		return nil
	})
	err := v.Put(ctx, "org/K", []byte("sk_test_FAKE_NEWER"))
	restore()
	if err == nil || !strings.Contains(err.Error(), "unchanged") {
		t.Fatalf("Put with a failing rename = %v, want an error saying the vault is unchanged", err)
	}
	if got, err := v.Get(ctx, "org/K"); err != nil || string(got) != "sk_test_FAKE_NEW" {
		t.Errorf("after the failed write org/K in memory is not the acknowledged value (%v)", err)
	}
	v.Close()
	if after := snapshot(t, filepath.Dir(path)); after != before {
		t.Error("a failed write changed the vault's directory")
	}
	if got, _ := valueIn(t, path, path+".prev"); got != "sk_test_FAKE_OLD" {
		t.Error("vault.age.prev no longer holds the value before the last change")
	}
}

// A crash (SIGKILL) at any step of a write leaves a vault that opens with
// every acknowledged value, and a previous version that opens too; Open
// removes whatever the crashed write left behind.
func TestACrashAtAnyStepOfAWriteLosesNothingAcknowledged(t *testing.T) {
	for _, at := range []string{"write", "stage-previous", "replace", "keep-previous", "sync-dir"} {
		t.Run("at "+at, func(t *testing.T) {
			path := storeOldThenNew(t)
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			cmd.Env = []string{helperEnv + "=crash", "HUSH_VAULT=" + path, "HUSH_CRASH_AT=" + at}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the writer was not killed at %s: %v\n%s", at, err, out)
			}
			got, names := valueIn(t, path, path)
			if got != "sk_test_FAKE_NEW" && got != "sk_test_FAKE_NEWER" {
				t.Error("after the crash org/K in the vault is neither the acknowledged value nor the one being written")
			}
			if strings.Join(names, ",") != "org/K,org/KEPT" {
				t.Errorf("after the crash the vault holds %q, want org/K,org/KEPT", names)
			}
			if prev, _ := valueIn(t, path, path+".prev"); prev != "sk_test_FAKE_OLD" && prev != "sk_test_FAKE_NEW" {
				t.Error("after the crash vault.age.prev holds neither earlier version")
			}
			open(t, path).Close()
			entries, err := os.ReadDir(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, e := range entries {
				left = append(left, e.Name())
			}
			if got, want := strings.Join(left, " "), "identity.txt vault.age vault.age.prev vault.lock"; got != want {
				t.Errorf("after reopening the directory holds %s, want %s", got, want)
			}
		})
	}
}

func helperCrash(path, at string) error {
	v, err := filevault.Open(path)
	if err != nil {
		return err
	}
	defer v.Close()
	filevault.SetStepHook(func(step string) error {
		if step == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal arrives
		}
		return nil
	})
	err = v.Put(ctx, "org/K", []byte("sk_test_FAKE_NEWER"))
	return fmt.Errorf("the write ran past %q (err %v) without being killed there", at, err)
}

// A write whose directory sync failed is in place but not known durable:
// retrying the same value must write (and sync) again, not find the value
// already in memory and return success having done nothing.
func TestARetryAfterAnUnsyncedWriteWritesAgain(t *testing.T) {
	path := newVault(t, false)
	v := open(t, path)
	restore := filevault.SetStepHook(func(step string) error {
		if step == "sync-dir" {
			return fmt.Errorf("fsync: %w", syscall.EIO)
		}
		return nil
	})
	err := v.Put(ctx, "org/K", []byte("sk_test_FAKE_UNSYNCED"))
	restore()
	if err == nil {
		t.Fatal("Put with a failing directory sync = nil")
	}
	var steps []string
	restore = filevault.SetStepHook(func(step string) error {
		steps = append(steps, step)
		return nil
	})
	defer restore()
	if err := v.Put(ctx, "org/K", []byte("sk_test_FAKE_UNSYNCED")); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(steps, "sync-dir") {
		t.Errorf("the retry ran steps %q: it did not write and sync the vault", steps)
	}
	// Once a write succeeded, setting the same value again writes nothing.
	steps = nil
	if err := v.Put(ctx, "org/K", []byte("sk_test_FAKE_UNSYNCED")); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 0 {
		t.Errorf("a Put that changes nothing after a clean write ran steps %q", steps)
	}
}
