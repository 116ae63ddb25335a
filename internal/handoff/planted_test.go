package handoff

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hush-dev/hush/internal/secret"
)

// forceNames makes the next random names come from names (the last one
// repeating), as if an attacker had guessed them.
func forceNames(t *testing.T, names ...string) {
	t.Helper()
	orig := randomName
	t.Cleanup(func() { randomName = orig })
	i := 0
	randomName = func() string {
		n := names[min(i, len(names)-1)]
		i++
		return n
	}
}

// These tests replace randomName and so never run in parallel.
func TestANamePlantedAsASymlinkIsNeverFollowed(t *testing.T) {
	writers := []struct {
		name  string
		ext   string
		write func(dir string) (string, error)
	}{
		{"a script", scriptExt, func(dir string) (string, error) {
			return Write(dir, POSIX, []secret.Secret{{Name: "K", Value: []byte("secret-bytes")}})
		}},
		{"a value file", valueExt, func(dir string) (string, error) { return WriteValueFile(dir, []byte("secret-bytes")) }},
	}
	targets := []struct {
		name   string
		exists bool
	}{{"an existing file", true}, {"a file not yet created", false}}
	for _, w := range writers {
		for _, tg := range targets {
			t.Run(w.name+" skips a symlink to "+tg.name, func(t *testing.T) {
				tmp := t.TempDir()
				run := filepath.Join(tmp, "run")
				if err := EnsureDir(run); err != nil {
					t.Fatal(err)
				}
				victim := filepath.Join(tmp, "victim")
				if tg.exists {
					if err := os.WriteFile(victim, []byte("orig"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				planted := filepath.Join(run, "h-PLANTED"+w.ext)
				if err := os.Symlink(victim, planted); err != nil {
					t.Fatal(err)
				}

				forceNames(t, "PLANTED", "FRESH")
				path, err := w.write(run)
				if err != nil {
					t.Fatal(err)
				}
				if filepath.Base(path) != "h-FRESH"+w.ext {
					t.Fatalf("wrote %s, want a fresh name", path)
				}
				checkVictim(t, victim, tg.exists, planted)

				forceNames(t, "PLANTED")
				if _, err := w.write(run); !errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), run) {
					t.Fatalf("with only the planted name left, the error is %v", err)
				}
				checkVictim(t, victim, tg.exists, planted)
			})
		}
	}
}

func checkVictim(t *testing.T, victim string, existed bool, planted string) {
	t.Helper()
	got, err := os.ReadFile(victim)
	switch {
	case existed && (err != nil || string(got) != "orig"):
		t.Fatalf("the symlink's target changed: %q, %v", got, err)
	case !existed && err == nil:
		t.Fatalf("the symlink was followed: its target now exists holding %q", got)
	}
	if fi, err := os.Lstat(planted); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the planted symlink was replaced: %v", err)
	}
}
