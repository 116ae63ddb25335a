package filevault

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
// the file being replaced survives as path.prev. Until the final rename
// nothing the user had is touched, which is what makes a full disk or a
// read-only directory harmless.
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
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if keepPrev {
		if err := keepPrevious(path); err != nil {
			return fmt.Errorf("keeping the previous version: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%w: %w", errNotDurable, err)
	}
	return nil
}

// errNotDurable: the new file is in place but the directory could not be
// synced, so the caller must treat the write as done yet say it may not
// survive a power cut.
var errNotDurable = errors.New("written, but the directory could not be synced")

// keepPrevious makes path.prev a copy of path. A hard link costs nothing
// whatever the vault's size; filesystems without links get a real copy.
func keepPrevious(path string) error {
	ok, err := exists(path)
	if err != nil || !ok {
		return err
	}
	dir := filepath.Dir(path)
	staged := filepath.Join(dir, "."+filepath.Base(prevPath(path))+tempInfix+"link")
	os.Remove(staged)
	if err := os.Link(path, staged); err != nil {
		if err := copyFile(path, staged); err != nil {
			os.Remove(staged)
			return err
		}
	}
	if err := os.Rename(staged, prevPath(path)); err != nil {
		os.Remove(staged)
		return err
	}
	return nil
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
