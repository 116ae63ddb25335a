package filevault

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hush-dev/hush/internal/store"
)

// The files around a vault at path. The identity files sit in the vault's
// directory under fixed names, as the docs and error messages say.
const (
	identityFileName      = "identity.txt"
	wrappedIdentityName   = "identity.age"
	prevSuffix            = ".prev"
	tempInfix             = ".tmp-"
	privateFileMode       = 0o600
	privateDirMode        = 0o700
	ageHeaderLine         = "age-encryption.org/v1\n"
	maxIdentityFileLength = 64 << 10
)

func prevPath(path string) string { return path + prevSuffix }

func lockPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".lock"
}

func identityPath(path string) string {
	return filepath.Join(filepath.Dir(path), identityFileName)
}

func wrappedIdentityPath(path string) string {
	return filepath.Join(filepath.Dir(path), wrappedIdentityName)
}

func tempPattern(path string) string { return "." + filepath.Base(path) + tempInfix + "*" }

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// writeAtomic replaces path with what write produces, so a reader (or a
// crash) sees either the old file or the new one, never a mix. With keepPrev
// the file being replaced survives as path.prev. The steps, and what a
// crash after each leaves (Open removes the temp files):
//
//  1. write: a temp file, fsynced and closed. The vault and path.prev are
//     untouched.
//  2. stage-previous: a hard link (or fsynced copy) of the vault under a
//     temp name. Still nothing the user had is touched.
//  3. replace: the temp file renamed over the vault. A failure here (a full
//     disk, a read-only directory) leaves the vault and path.prev as they
//     were; a crash leaves the old vault or the new one, both whole.
//  4. keep-previous: the staged link renamed over path.prev. A crash
//     between 3 and 4 leaves path.prev one version older than it should
//     be, never damaged and never the only copy of anything acknowledged.
//  5. sync-dir: the renames made durable; only then is the write done.
func writeAtomic(path string, keepPrev bool, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp already uses 0600; say it on purpose in case that changes.
	if err := tmp.Chmod(privateFileMode); err != nil {
		return err
	}
	if err := step("write"); err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	var staged string
	if keepPrev {
		if err := step("stage-previous"); err != nil {
			return err
		}
		if staged, err = stagePrevious(path); err != nil {
			return fmt.Errorf("keeping the previous version: %w", err)
		}
		defer func() {
			if err != nil && staged != "" {
				os.Remove(staged)
			}
		}()
	}
	if err := step("replace"); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// The new vault is in place: from here on the write is done, and a
	// failure only qualifies it.
	var notKept error
	if staged != "" {
		if notKept = step("keep-previous"); notKept == nil {
			notKept = os.Rename(staged, prevPath(path))
		}
		// Still there when the rename failed, or found both names to be
		// one file (a link left by a crash) and did nothing.
		os.Remove(staged)
	}
	if err := step("sync-dir"); err != nil {
		return fmt.Errorf("%w: %w", errNotDurable, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%w: %w", errNotDurable, err)
	}
	if notKept != nil {
		return fmt.Errorf("%w at %s: %w", errPreviousNotKept, prevPath(path), notKept)
	}
	return nil
}

// stepHook, set only by tests (export_test.go), runs before each step of
// writeAtomic: an error it returns is that step failing, and it may end
// the process there, as a crash would.
var stepHook func(step string) error

func step(name string) error {
	if stepHook == nil {
		return nil
	}
	return stepHook(name)
}

// errNotDurable: the new file is in place but the directory could not be
// synced, so the caller must treat the write as done yet say it may not
// survive a power cut.
var errNotDurable = fmt.Errorf("%w, but the directory could not be synced", store.ErrWritten)

// errPreviousNotKept: the new file is in place and durable, but the one it
// replaced could not be kept as the previous version.
var errPreviousNotKept = fmt.Errorf("%w, but the version it replaced could not be kept", store.ErrWritten)

// written reports whether a writeAtomic error still means the new file is
// in place.
func written(err error) bool {
	return errors.Is(err, errNotDurable) || errors.Is(err, errPreviousNotKept)
}

// stagePrevious links path under a temp name, to become path.prev once the
// new vault is in place, and returns that name ("" when there is no vault
// yet). A hard link costs nothing whatever the vault's size; filesystems
// without links get a real copy.
func stagePrevious(path string) (string, error) {
	ok, err := exists(path)
	if err != nil || !ok {
		return "", err
	}
	staged := filepath.Join(filepath.Dir(path), "."+filepath.Base(prevPath(path))+tempInfix+"link")
	os.Remove(staged)
	if err := os.Link(path, staged); err != nil {
		if err := copyFile(path, staged); err != nil {
			os.Remove(staged)
			return "", err
		}
	}
	return staged, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, privateFileMode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncDir makes a rename in dir durable; without it a power cut can undo a
// rename that Put already reported as done.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeStaleTemps deletes temp files a crashed writer left behind. Only
// the lock holder calls it, so no live writer owns them.
func removeStaleTemps(path string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	more, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(prevPath(path))+tempInfix+"*"))
	for _, m := range append(matches, more...) {
		os.Remove(m)
	}
}

// writeNewFile creates path with data, refusing to replace anything.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|nofollow, privateFileMode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// readPrivateFile reads a key file, refusing one that others can read or
// that is not a plain file, as ssh does for its keys.
func readPrivateFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|nofollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s is accessible by other users (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	return io.ReadAll(io.LimitReader(f, maxIdentityFileLength))
}
