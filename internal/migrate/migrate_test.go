package migrate_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hush-dev/hush/internal/migrate"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/store/filevault"
	"github.com/hush-dev/hush/internal/store/secretservice"
	"github.com/hush-dev/hush/internal/store/secretservice/sstest"
	"github.com/hush-dev/hush/internal/store/storetest"
)

var ctx = context.Background()

func newVault(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vault.age")
	if err := filevault.Init(path, filevault.InitOptions{NoPassphrase: true}); err != nil {
		t.Fatal(err)
	}
	return path
}

func openVault(t *testing.T, path string) *filevault.Vault {
	t.Helper()
	v, err := filevault.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// destination is one kind of store to migrate into: another file vault, or
// the desktop keyring.
type destination struct {
	name string
	// prepare readies it in the test process and returns the argument
	// that tells a child process how to open it.
	prepare func(t *testing.T) string
}

var destinations = []destination{
	{"a file vault", func(t *testing.T) string { return "file:" + newVault(t) }},
	{"gnome-keyring", func(t *testing.T) string { sstest.StartGnomeKeyring(t); return "secretservice" }},
}

// openDest opens what prepare described; the child does the same.
func openDest(spec string) (store.Store, func(), error) {
	if path, ok := strings.CutPrefix(spec, "file:"); ok {
		v, err := filevault.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return v, func() { v.Close() }, nil
	}
	s, err := secretservice.Open(context.Background(), secretservice.WithPrompt(false))
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}

func mustOpenDest(t *testing.T, spec string) store.Store {
	t.Helper()
	s, closeFn, err := openDest(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return s
}

func fill(t *testing.T, s store.Store, values map[string][]byte) {
	t.Helper()
	for name, v := range values {
		if err := s.Put(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
}

func conformanceValues() map[string][]byte {
	values := map[string][]byte{}
	for k, v := range storetest.Values() {
		values["org/proj/"+k] = v
	}
	values["other/KEY"] = []byte("outside the prefix")
	return values
}

func TestMigrate(t *testing.T) {
	for _, d := range destinations {
		t.Run("into "+d.name, func(t *testing.T) {
			spec := d.prepare(t)
			src := openVault(t, newVault(t))
			dst := mustOpenDest(t, spec)
			values := conformanceValues()
			fill(t, src, values)

			t.Run("a prefix moves only what lies below it, byte-exact", func(t *testing.T) {
				var events []migrate.Event
				rep, err := migrate.Run(ctx, src, dst, migrate.Options{Prefix: "org/proj", Progress: func(e migrate.Event) { events = append(events, e) }})
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Copied) != len(values)-1 || len(events) != len(rep.Copied) {
					t.Fatalf("copied %d, events %d, want %d", len(rep.Copied), len(events), len(values)-1)
				}
				for name, want := range values {
					got, err := dst.Get(ctx, name)
					if name == "other/KEY" {
						if !errors.Is(err, store.ErrNotFound) {
							t.Errorf("%s crossed over: %v", name, err)
						}
						continue
					}
					if err != nil || !bytes.Equal(got, want) {
						t.Errorf("%s: %d bytes, want %d (%v)", name, len(got), len(want), err)
					}
				}
				if names, _ := src.List(ctx, ""); len(names) != len(values) {
					t.Errorf("the source lost secrets without being asked: %d left", len(names))
				}
			})
			t.Run("a second run finds everything present", func(t *testing.T) {
				rep, err := migrate.Run(ctx, src, dst, migrate.Options{Prefix: "org/proj"})
				if err != nil || len(rep.Copied) != 0 || len(rep.Present) != len(values)-1 {
					t.Fatalf("Run = %+v, %v", rep, err)
				}
			})
			t.Run("a different value in the destination stops the move and removes nothing", func(t *testing.T) {
				if err := dst.Put(ctx, "org/proj/QUOTE", []byte("someone else's")); err != nil {
					t.Fatal(err)
				}
				_, err := migrate.Run(ctx, src, dst, migrate.Options{Prefix: "org/proj", RemoveSource: true})
				if !errors.Is(err, migrate.ErrConflict) || !strings.Contains(err.Error(), "org/proj/QUOTE") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("Run = %v", err)
				}
				if names, _ := src.List(ctx, ""); len(names) != len(values) {
					t.Fatalf("the source lost secrets after a conflict: %d left", len(names))
				}
			})
			t.Run("overwrite replaces it, and removing the source leaves it empty below the prefix", func(t *testing.T) {
				rep, err := migrate.Run(ctx, src, dst, migrate.Options{Prefix: "org/proj", RemoveSource: true, Overwrite: true})
				if err != nil || !slices.Equal(rep.Copied, []string{"org/proj/QUOTE"}) || len(rep.Removed) != len(values)-1 {
					t.Fatalf("Run = %+v, %v", rep, err)
				}
				if got, _ := dst.Get(ctx, "org/proj/QUOTE"); !bytes.Equal(got, values["org/proj/QUOTE"]) {
					t.Fatal("the destination did not get the source's value")
				}
				if names, _ := src.List(ctx, ""); !slices.Equal(names, []string{"other/KEY"}) {
					t.Fatalf("the source holds %q", names)
				}
			})
		})
	}
}

// The kill tests run this binary again as the migrating process.
func TestMain(m *testing.M) {
	if os.Getenv("HUSH_MIGRATE_CHILD") == "1" {
		os.Exit(migrateChild())
	}
	os.Exit(m.Run())
}

func migrateChild() int {
	src, err := filevault.Open(os.Getenv("HUSH_MIGRATE_SRC"))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	dst, _, err := openDest(os.Getenv("HUSH_MIGRATE_DST"))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	_, err = migrate.Run(context.Background(), src, dst, migrate.Options{
		RemoveSource: true,
		Progress: func(e migrate.Event) {
			fmt.Fprintf(out, "%s %s\n", e.Step, e.Name)
			out.Flush()
		},
	})
	if err != nil {
		fmt.Fprintln(out, "error:", err)
		out.Flush()
		return 1
	}
	fmt.Fprintln(out, "done")
	out.Flush()
	return 0
}

// migrateUntil runs a migrating process and SIGKILLs it as soon as it
// reports the n-th event of step; n = 0 lets it finish.
func migrateUntil(t *testing.T, srcPath, dstSpec, dbus string, step migrate.Step, n int) (seen int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"HUSH_MIGRATE_CHILD=1",
		"HUSH_MIGRATE_SRC=" + srcPath,
		"HUSH_MIGRATE_DST=" + dstSpec,
		"DBUS_SESSION_BUS_ADDRESS=" + dbus,
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error:") {
			t.Errorf("migrating process: %s", line)
		}
		if n > 0 && strings.HasPrefix(line, string(step)+" ") {
			seen++
			if seen == n {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				break
			}
		}
	}
	err = cmd.Wait()
	if killed {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("the migrating process was not killed: %v", err)
		}
	} else if err != nil {
		t.Fatalf("the migrating process failed: %v", err)
	}
	return seen
}

// TestKilledMidway kills a real migrating process, first while it copies
// and then while it removes, and checks after each kill that every secret
// is still somewhere with its exact value.
func TestKilledMidway(t *testing.T) {
	for _, d := range destinations {
		t.Run("into "+d.name, func(t *testing.T) {
			spec := d.prepare(t)
			srcPath := newVault(t)
			values := map[string][]byte{}
			for i := range 40 {
				values[fmt.Sprintf("org/app/KEY_%02d", i)] = []byte(fmt.Sprintf("sk_test_%02d\n  trailing$ 'q' %d", i, i))
			}
			src := openVault(t, srcPath)
			fill(t, src, values)
			src.Close() // the migrating process takes the vault's lock

			check := func(t *testing.T, wantAllInSource bool) (inSrc, inDst int) {
				t.Helper()
				src := openVault(t, srcPath)
				defer src.Close()
				dst, closeDst, err := openDest(spec)
				if err != nil {
					t.Fatal(err)
				}
				defer closeDst()
				for name, want := range values {
					s, serr := src.Get(ctx, name)
					v, derr := dst.Get(ctx, name)
					okSrc := serr == nil && bytes.Equal(s, want)
					okDst := derr == nil && bytes.Equal(v, want)
					if serr != nil && !errors.Is(serr, store.ErrNotFound) || derr != nil && !errors.Is(derr, store.ErrNotFound) {
						t.Fatalf("%s: source %v, destination %v", name, serr, derr)
					}
					if serr == nil && !okSrc || derr == nil && !okDst {
						t.Fatalf("%s holds a wrong value", name)
					}
					if !okSrc && !okDst {
						t.Fatalf("%s is lost: in neither store", name)
					}
					if wantAllInSource && !okSrc {
						t.Fatalf("%s left the source while copying", name)
					}
					if okSrc {
						inSrc++
					}
					if okDst {
						inDst++
					}
				}
				return inSrc, inDst
			}

			dbus := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
			t.Run("killed while copying, every secret is still in the source", func(t *testing.T) {
				migrateUntil(t, srcPath, spec, dbus, migrate.Copied, 5)
				inSrc, inDst := check(t, true)
				if inSrc != len(values) || inDst == len(values) {
					t.Fatalf("the kill did not land mid-copy: %d in source, %d in destination", inSrc, inDst)
				}
			})
			t.Run("killed while removing, every secret is in one store or both", func(t *testing.T) {
				migrateUntil(t, srcPath, spec, dbus, migrate.Removed, 5)
				inSrc, inDst := check(t, false)
				if inDst != len(values) || inSrc == len(values) || inSrc == 0 {
					t.Fatalf("the kill did not land mid-removal: %d in source, %d in destination", inSrc, inDst)
				}
			})
			t.Run("a rerun finishes the move", func(t *testing.T) {
				migrateUntil(t, srcPath, spec, dbus, "", 0)
				if inSrc, inDst := check(t, false); inSrc != 0 || inDst != len(values) {
					t.Fatalf("%d in source, %d in destination", inSrc, inDst)
				}
			})
		})
	}
}
