// Package handoff writes the private, self-deleting shell scripts through
// which an agent's shell receives a secret without the agent seeing it.
//
// A script looks like this (POSIX dialect):
//
//	# hush handoff: removes itself, then exports STRIPE_KEY.
//	command rm -f -- '/run/user/1000/hush/h-5QJ2….sh' &&
//	export STRIPE_KEY='sk_test_'\''x'\\'y'
//
// Every value is a run of single-quoted pieces; a quote is written \' and a
// backslash \\ outside the quotes. Inside the quotes there is then neither a
// quote nor a backslash, so POSIX shells and fish (which treats \\ and \'
// as escapes inside single quotes) read the same bytes, and no byte of a
// value can end a quoted piece early. The fish dialect differs only in
// using "set -gx --" and "and" instead of "export" and "&&".
//
// Files live in a private runtime directory (see EnsureDir) under random
// names h-*.sh (scripts) and h-*.val (values for --as-file); Reap removes
// the ones nobody sourced.
package handoff

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hush-dev/hush/internal/secret"
)

// Shell is the dialect a script is written in.
type Shell int

const (
	POSIX Shell = iota // bash, dash, zsh, sh, ksh
	Fish
)

func (s Shell) String() string {
	if s == Fish {
		return "fish"
	}
	return "posix"
}

// posixShells are the shell names that read the POSIX dialect.
var posixShells = map[string]bool{
	"posix": true, "sh": true, "bash": true, "dash": true, "zsh": true,
	"ksh": true, "ksh93": true, "mksh": true, "lksh": true, "pdksh": true,
	"oksh": true, "ash": true, "yash": true, "posh": true, "busybox": true,
}

// shellName reduces a path, a login shell's "-bash" or a comm to a name.
func shellName(s string) string {
	s = filepath.Base(strings.TrimSpace(s))
	return strings.ToLower(strings.TrimPrefix(s, "-"))
}

// ParseShell maps a --shell flag value or a shell path ("/usr/bin/fish") to
// a dialect.
func ParseShell(s string) (Shell, error) {
	name := shellName(s)
	switch {
	case name == "fish":
		return Fish, nil
	case posixShells[name]:
		return POSIX, nil
	}
	return POSIX, fmt.Errorf("unknown shell %s: use posix (bash, dash, zsh, sh, ksh) or fish", secret.Quote(s))
}

// Detect picks the dialect from $SHELL and the names of the caller's
// process chain (nearest first); POSIX unless fish is found (see
// CallerShell).
func Detect(shellEnv string, chain []string) Shell {
	if shellName(CallerShell(shellEnv, chain)) == "fish" {
		return Fish
	}
	return POSIX
}

// CallerShell names the shell that will most likely run the line a caller
// is given: the nearest shell in its process chain (nearest first), else
// $SHELL, else "".
//
// The nearest shell wins because it is the one the caller's tool calls run
// in (fish → bash -c 'hush get …; …' runs the line in bash); $SHELL only
// decides when the chain holds no shell at all.
func CallerShell(shellEnv string, chain []string) string {
	for _, c := range chain {
		if name := shellName(c); name != "posix" && (name == "fish" || posixShells[name]) {
			return name
		}
	}
	if strings.TrimSpace(shellEnv) == "" {
		return ""
	}
	return shellName(shellEnv)
}

// Loader is the command in the line an agent is given, which reads the
// script into the shell that runs the line.
type Loader int

const (
	// Source gives `source '<path>'`: bash, zsh and fish have it, and it is
	// what a caller whose shell is unknown gets.
	Source Loader = iota
	// Dot gives `. '<path>'`, the POSIX spelling, for the shells that have
	// no source (dash, which is sh on Debian and Ubuntu, and ash, posh, ksh,
	// mksh and their kin: "source: not found").
	Dot
)

func (l Loader) String() string {
	if l == Dot {
		return "."
	}
	return "source"
}

// hasSource are the POSIX-dialect shells with a source builtin; every other
// one gets Dot, which all of them have.
var hasSource = map[string]bool{"bash": true, "zsh": true}

// LoaderFor picks the loader for the shell that will run the line, given by
// name or path ("dash", "/bin/sh", a login shell's "-ksh"): Dot for a POSIX
// shell without source, else Source (bash, zsh, fish, the dialect name
// "posix", and any name it does not know).
func LoaderFor(shell string) Loader {
	name := shellName(shell)
	if posixShells[name] && name != "posix" && !hasSource[name] {
		return Dot
	}
	return Source
}

// Quote writes value as one shell word that POSIX shells and fish both read
// as exactly value: single-quoted runs, with ' and \ written as \' and \\
// between them. A value with NUL cannot be carried by any shell variable;
// Check refuses it before Quote is reached.
func Quote(_ Shell, value []byte) string {
	var b bytes.Buffer
	quote(&b, value)
	return b.String()
}

func quote(b *bytes.Buffer, value []byte) {
	if len(value) == 0 {
		b.WriteString("''")
		return
	}
	b.Grow(len(value) + 2)
	open := false
	for _, c := range value {
		if c == '\'' || c == '\\' {
			if open {
				b.WriteByte('\'')
				open = false
			}
			b.WriteByte('\\')
			b.WriteByte(c)
			continue
		}
		if !open {
			b.WriteByte('\'')
			open = true
		}
		b.WriteByte(c)
	}
	if open {
		b.WriteByte('\'')
	}
}

// ValidVarName reports whether name matches ^[A-Za-z_][A-Za-z0-9_]*$, the
// only names a script ever writes. It repeats secret's export rule on
// purpose: this package is the last step before a shell parser and does
// not trust its callers to have checked.
func ValidVarName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Check refuses what a script cannot carry: a name that is not a variable
// name (secret.ErrNotExportable), a value with NUL (secret.ErrInvalidValue),
// or two variables with one name (secret.ErrCollision). Errors name the
// variable (quoted, so a hostile name prints as data), never the value.
func Check(vars []secret.Secret) error {
	seen := make(map[string]bool, len(vars))
	for _, v := range vars {
		if !ValidVarName(v.Name) {
			return fmt.Errorf("handoff: variable name %q is %w: it must match ^[A-Za-z_][A-Za-z0-9_]*$", v.Name, secret.ErrNotExportable)
		}
		if bytes.IndexByte(v.Value, 0) >= 0 {
			return fmt.Errorf("handoff: %s: %w: it holds a NUL byte, which no shell variable can carry", v.Name, secret.ErrInvalidValue)
		}
		if seen[v.Name] {
			return fmt.Errorf("handoff: %s is exported twice (%w)", v.Name, secret.ErrCollision)
		}
		seen[v.Name] = true
	}
	return nil
}

// refusedLine stands in for a variable Check would refuse. Render has no
// error result, so rather than writing a hostile name or a truncated value
// into the script it writes a command that fails, which also stops the
// rest of the && chain and the caller's `source … && cmd`.
const refusedLine = "false # hush refused a variable: a bad name, a NUL in the value, or a name given twice"

// Render returns the script that deletes path, then exports vars.
//
// vars[i].Name is the environment variable's name (not the secret's path).
// The deletion comes first and uses path literally ($0 is the sourcing
// shell, not the script), so the file is gone even if an export fails; the
// exports are chained so the script's status is non-zero on any failure.
// A variable that fails Check renders as a failing command instead.
func Render(sh Shell, path string, vars []secret.Secret) []byte {
	var b bytes.Buffer
	size := 128 + len(path)
	for _, v := range vars {
		size += len(v.Name) + 4*len(v.Value) + 32 // worst case: every byte a quote
	}
	b.Grow(size)

	names := make([]string, 0, len(vars))
	for _, v := range vars {
		if ValidVarName(v.Name) {
			names = append(names, v.Name)
		}
	}
	b.WriteString("# hush handoff: removes itself, then exports ")
	if len(names) == 0 {
		b.WriteString("nothing")
	}
	b.WriteString(strings.Join(names, ", "))
	b.WriteString(".\ncommand rm -f -- ")
	quote(&b, []byte(path))

	seen := make(map[string]bool, len(vars))
	for _, v := range vars {
		if sh == Fish {
			b.WriteString("\nand ")
		} else {
			b.WriteString(" &&\n")
		}
		if !ValidVarName(v.Name) || bytes.IndexByte(v.Value, 0) >= 0 || seen[v.Name] {
			b.WriteString(refusedLine)
			// A comment runs to the end of the line: nothing may follow it.
			b.WriteString("\n")
			return b.Bytes()
		}
		seen[v.Name] = true
		if sh == Fish {
			b.WriteString("set -gx -- ")
			b.WriteString(v.Name)
			b.WriteByte(' ')
		} else {
			b.WriteString("export ")
			b.WriteString(v.Name)
			b.WriteByte('=')
		}
		quote(&b, v.Value)
	}
	b.WriteString("\n")
	return b.Bytes()
}

// SourceLine is what the agent sees: source '<path>', or . '<path>' for Dot.
func SourceLine(l Loader, path string) string {
	return l.String() + " " + Quote(POSIX, []byte(path))
}

// ParseSourceLine returns the loader and the path of a line SourceLine
// wrote: "source " or ". ", then an absolute path quoted as Quote quotes.
// Anything else is an error.
func ParseSourceLine(line string) (Loader, string, error) {
	bad := fmt.Errorf("not a line of the form source '<path>' or . '<path>': %q", line)
	l := Source
	rest, ok := strings.CutPrefix(line, "source ")
	if !ok {
		if rest, ok = strings.CutPrefix(line, ". "); !ok {
			return 0, "", bad
		}
		l = Dot
	}
	p, ok := unquote(rest)
	if !ok || !filepath.IsAbs(p) {
		return 0, "", bad
	}
	return l, p, nil
}

// unquote reverses quote: single-quoted runs without quotes or backslashes
// inside, and \' or \\ between them.
func unquote(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", false
			}
			run := s[i+1 : i+1+end]
			if end == 0 || strings.ContainsRune(run, '\\') {
				return "", false
			}
			b.WriteString(run)
			i += end + 2
		case '\\':
			if i+1 == len(s) || (s[i+1] != '\'' && s[i+1] != '\\') {
				return "", false
			}
			b.WriteByte(s[i+1])
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), s != ""
}

// ErrUnsafeDir is returned by EnsureDir for a directory that others could
// read or swap: not a directory, a symlink, another owner, or a mode other
// than 0700.
var ErrUnsafeDir = errors.New("unsafe runtime directory")

// EnsureDir creates dir 0700, or checks that an existing dir is a real
// directory owned by us with mode 0700.
func EnsureDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("handoff: no runtime directory given")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("handoff: creating the runtime directory's parent: %w", err)
	}
	err := os.Mkdir(dir, 0o700)
	if err == nil {
		// Mkdir's mode passes through the umask; 0700 is meant, not implied.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("handoff: %w", err)
		}
	} else if !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("handoff: creating the runtime directory: %w", err)
	}
	return checkDir(dir)
}

func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("handoff: %s is a symlink, refusing to use it (%w)", dir, ErrUnsafeDir)
	case !fi.IsDir():
		return fmt.Errorf("handoff: %s is not a directory (%w)", dir, ErrUnsafeDir)
	}
	if uid, ok := ownerUID(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("handoff: %s is owned by uid %d, not by us (uid %d); remove it (%w)", dir, uid, os.Geteuid(), ErrUnsafeDir)
	}
	if m := fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky); m != 0o700 {
		return fmt.Errorf("handoff: %s has mode %04o, want 0700; fix it with chmod 700 (%w)", dir, uint32(m.Perm()), ErrUnsafeDir)
	}
	return nil
}

const (
	scriptExt = ".sh"
	valueExt  = ".val"
	namePre   = "h-"
)

// randomName is a variable so tests can force a name that an attacker has
// pre-created; the real one has 128 bits from crypto/rand.
var randomName = func() string { return rand.Text() }

// createAttempts bounds retries after a name collision, which with 128
// random bits only happens when someone planted the name.
const createAttempts = 8

// Write creates a new script in dir (random name h-*.sh, O_EXCL|O_NOFOLLOW,
// 0600) exporting vars, and returns its path.
//
// vars' names are variable names; Write refuses (and writes nothing) when
// Check does, even though callers run secret.Exports first.
func Write(dir string, sh Shell, vars []secret.Secret) (string, error) {
	if err := Check(vars); err != nil {
		return "", err
	}
	return create(dir, scriptExt, func(path string) []byte { return Render(sh, path, vars) })
}

// WriteValueFile writes value to a new 0600 file in dir (h-*.val) for
// tools that want a file, and returns its path.
func WriteValueFile(dir string, value []byte) (string, error) {
	return create(dir, valueExt, func(string) []byte { return bytes.Clone(value) })
}

// AsFiles is the --as-file delivery: it writes each value to its own
// h-*.val file and returns the variables to hand to Write instead, NAME_FILE
// holding that file's path. The value files outlive the script (the tool
// reads them later) and are removed by the reaper after the TTL. On error no
// value file is left behind.
func AsFiles(dir string, vars []secret.Secret) ([]secret.Secret, error) {
	if err := Check(vars); err != nil {
		return nil, err
	}
	out := make([]secret.Secret, 0, len(vars))
	for _, v := range vars {
		path, err := WriteValueFile(dir, v.Value)
		if err != nil {
			for _, o := range out {
				os.Remove(string(o.Value))
			}
			return nil, fmt.Errorf("handoff: value file for %s: %w", v.Name, err)
		}
		// Every name gains the same suffix, so distinct names stay distinct.
		out = append(out, secret.Secret{Name: v.Name + "_FILE", Value: []byte(path)})
	}
	return out, nil
}

// create makes a fresh file dir/h-<random><ext> that no one else can have
// prepared: O_EXCL fails on any existing entry and O_NOFOLLOW on a symlink,
// so a planted name is skipped, never followed. content gets the final path
// and its result is wiped once written.
func create(dir, ext string, content func(path string) []byte) (string, error) {
	if err := EnsureDir(dir); err != nil {
		return "", err
	}
	var (
		f    *os.File
		path string
		err  error
	)
	for range createAttempts {
		path = filepath.Join(dir, namePre+randomName()+ext)
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
		if err == nil || !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("handoff: creating a file in %s: %w", dir, err)
	}
	data := content(path)
	defer clear(data)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("handoff: writing %s: %w", path, err)
	}
	return path, nil
}

// isHandoffFile reports whether name is one of ours: h-*.sh or h-*.val.
func isHandoffFile(name string) bool {
	return strings.HasPrefix(name, namePre) &&
		(strings.HasSuffix(name, scriptExt) || strings.HasSuffix(name, valueExt))
}

// Reap removes handoff files in dir older than ttl and returns how many.
// Age is the file's mtime, so files of a client that has since exited are
// reaped the same as any other. A missing dir holds nothing to reap.
func Reap(dir string, ttl time.Duration, now time.Time) (int, error) {
	cutoff := now.Add(-ttl)
	return sweep(dir, func(fi os.FileInfo) bool { return !fi.ModTime().After(cutoff) })
}

// Purge removes every handoff file in dir whatever its age: what the daemon
// does at start, since scripts from before a restart belong to no one.
func Purge(dir string) (int, error) {
	return sweep(dir, func(os.FileInfo) bool { return true })
}

// Pending counts handoff files in dir.
func Pending(dir string) (int, error) {
	return sweep(dir, nil)
}

// sweep visits dir's handoff files, removing those remove selects (all
// are counted when remove is nil), and returns the count. It goes on past
// a file it cannot remove and reports the first such error.
func sweep(dir string, remove func(os.FileInfo) bool) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("handoff: %w", err)
	}
	n := 0
	var first error
	for _, e := range entries {
		if e.IsDir() || !isHandoffFile(e.Name()) {
			continue
		}
		if remove == nil {
			n++
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // sourced meanwhile
		}
		if err != nil {
			first = cmp.Or(first, fmt.Errorf("handoff: %w", err))
			continue
		}
		if !remove(fi) {
			continue
		}
		err = os.Remove(filepath.Join(dir, e.Name()))
		switch {
		case err == nil:
			n++
		case errors.Is(err, os.ErrNotExist):
		default:
			first = cmp.Or(first, fmt.Errorf("handoff: %w", err))
		}
	}
	return n, first
}

// DeliverOptions adjust Deliver.
type DeliverOptions struct {
	// AsFile exports NAME_FILE=<path of a private file holding the value>
	// instead of NAME=<value> (see AsFiles).
	AsFile bool
	// AllowDangerous names variables from secret.Dangerous that may be
	// exported anyway.
	AllowDangerous []string
	// Loader is the command of the returned line: Source (the zero value)
	// or Dot for a caller whose shell has no source (see LoaderFor).
	Loader Loader
}

// Deliver is the whole handoff of opened secrets, shared by `hush get` and
// the MCP bridge: it maps each secret to its variable, refusing names that
// are not exportable, that collide, or that would make a shell or program
// run the value (PROMPT_COMMAND, BASH_ENV, LD_PRELOAD, …) before anything
// is written; then it writes the script in dir and returns the variables it
// sets and the line the caller shows.
func Deliver(dir string, sh Shell, secrets []secret.Secret, opts DeliverOptions) (line string, vars []string, err error) {
	if len(secrets) == 0 {
		return "", nil, errors.New("handoff: no secrets to deliver")
	}
	names := make([]string, len(secrets))
	for i, s := range secrets {
		names[i] = s.Name
	}
	exports, err := secret.Exports(names)
	if err != nil {
		return "", nil, err
	}
	out := make([]secret.Secret, len(secrets))
	for i, s := range secrets {
		env := exports[s.Name]
		if secret.IsDangerous(env) && !slices.Contains(opts.AllowDangerous, env) {
			return "", nil, fmt.Errorf("%w: %s would be exported as %s, which makes shells or programs run its value; rename the secret, or allow it with --allow-dangerous %s",
				secret.ErrDangerous, s.Name, env, env)
		}
		out[i] = secret.Secret{Name: env, Value: s.Value}
	}
	if err := EnsureDir(dir); err != nil {
		return "", nil, err
	}
	if opts.AsFile {
		if out, err = AsFiles(dir, out); err != nil {
			return "", nil, err
		}
	}
	path, err := Write(dir, sh, out)
	if err != nil {
		if opts.AsFile {
			for _, v := range out {
				os.Remove(string(v.Value))
			}
		}
		return "", nil, err
	}
	vars = make([]string, len(out))
	for i, v := range out {
		vars[i] = v.Name
	}
	return SourceLine(opts.Loader, path), vars, nil
}
