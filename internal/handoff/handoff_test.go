package handoff_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/secret"
)

// writerEnv makes the test binary a short-lived client that writes one
// script and one value file into the named dir and exits, so the reaper is
// tested on files whose writer is gone.
const writerEnv = "HUSH_HANDOFF_TEST_WRITER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writerEnv); dir != "" {
		if _, err := handoff.Write(dir, handoff.POSIX, []secret.Secret{{Name: "K", Value: []byte("v")}}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if _, err := handoff.WriteValueFile(dir, []byte("v")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParseShellAcceptsNamesAndPaths(t *testing.T) {
	tests := []struct {
		in   string
		want handoff.Shell
	}{
		{"posix", handoff.POSIX}, {"sh", handoff.POSIX}, {"bash", handoff.POSIX}, {"/bin/dash", handoff.POSIX},
		{"/usr/bin/zsh", handoff.POSIX}, {"ksh", handoff.POSIX}, {"-bash", handoff.POSIX}, {"BASH", handoff.POSIX},
		{"fish", handoff.Fish}, {"/usr/bin/fish", handoff.Fish}, {"/opt/homebrew/bin/fish", handoff.Fish}, {"-fish", handoff.Fish},
	}
	for _, tt := range tests {
		t.Run(tt.in+" is "+tt.want.String(), func(t *testing.T) {
			got, err := handoff.ParseShell(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseShell(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
	for _, in := range []string{"", "powershell", "cmd.exe", "nu", "fishy", "/usr/bin/"} {
		t.Run(fmt.Sprintf("%q is refused with one line", in), func(t *testing.T) {
			_, err := handoff.ParseShell(in)
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "fish") {
				t.Fatalf("ParseShell(%q) error = %v", in, err)
			}
		})
	}
}

func TestDetectPicksTheShellThatWillSourceTheScript(t *testing.T) {
	tests := []struct {
		name  string
		shell string
		chain []string
		want  handoff.Shell
	}{
		{"fish in $SHELL and no shell in the chain", "/usr/bin/fish", []string{"hush", "node"}, handoff.Fish},
		{"bash in $SHELL", "/bin/bash", []string{"hush"}, handoff.POSIX},
		{"nothing known", "", nil, handoff.POSIX},
		{"fish as the nearest shell", "/bin/bash", []string{"hush", "fish", "bash"}, handoff.Fish},
		{"bash run from fish: bash sources", "/usr/bin/fish", []string{"hush", "bash", "fish"}, handoff.POSIX},
		{"a login fish", "", []string{"hush", "-fish"}, handoff.Fish},
		{"zsh nearest over fish further up", "/usr/bin/fish", []string{"hush", "node", "zsh", "claude", "fish"}, handoff.POSIX},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := handoff.Detect(tt.shell, tt.chain); got != tt.want {
				t.Fatalf("Detect(%q, %q) = %v, want %v", tt.shell, tt.chain, got, tt.want)
			}
		})
	}
}

func TestQuoteKeepsBackslashesAndQuotesOutsideTheQuotes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"abc", "'abc'"},
		{"it's", `'it'\''s'`},
		{`a\b`, `'a'\\'b'`},
		{`'`, `\'`},
		{`\`, `\\`},
		{`'\'`, `\'\\\'`},
		{"a\nb", "'a\nb'"},
		{"$x`y`", "'$x`y`'"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			if got := handoff.Quote(handoff.POSIX, []byte(tt.in)); got != tt.want {
				t.Fatalf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestSourceLineQuotesThePath(t *testing.T) {
	tests := []struct {
		loader     handoff.Loader
		path, want string
	}{
		{handoff.Source, "/run/user/1000/hush/h-AB.sh", "source '/run/user/1000/hush/h-AB.sh'"},
		{handoff.Source, "/tmp/it's/h.sh", `source '/tmp/it'\''s/h.sh'`},
		{handoff.Dot, "/run/user/1000/hush/h-AB.sh", ". '/run/user/1000/hush/h-AB.sh'"},
		{handoff.Dot, "/tmp/it's/h.sh", `. '/tmp/it'\''s/h.sh'`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := handoff.SourceLine(tt.loader, tt.path); got != tt.want {
				t.Fatalf("SourceLine(%v, %q) = %s, want %s", tt.loader, tt.path, got, tt.want)
			}
		})
	}
}

func TestLoaderForGivesDotToShellsWithoutSource(t *testing.T) {
	tests := []struct {
		shell string
		want  handoff.Loader
	}{
		{"sh", handoff.Dot}, {"/bin/sh", handoff.Dot}, {"dash", handoff.Dot}, {"/usr/bin/dash", handoff.Dot},
		{"-dash", handoff.Dot}, {"ash", handoff.Dot}, {"posh", handoff.Dot}, {"ksh", handoff.Dot},
		{"mksh", handoff.Dot}, {"ksh93", handoff.Dot}, {"busybox", handoff.Dot},
		{"bash", handoff.Source}, {"-bash", handoff.Source}, {"/bin/bash", handoff.Source}, {"zsh", handoff.Source},
		{"fish", handoff.Source}, {"/usr/bin/fish", handoff.Source},
		// The dialect name says nothing about the shell: the default stays.
		{"posix", handoff.Source},
		{"", handoff.Source}, {"nu", handoff.Source}, {"powershell", handoff.Source},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q gets %v", tt.shell, tt.want), func(t *testing.T) {
			if got := handoff.LoaderFor(tt.shell); got != tt.want {
				t.Fatalf("LoaderFor(%q) = %v, want %v", tt.shell, got, tt.want)
			}
		})
	}
}

func TestCallerShellIsTheNearestShellElseSHELL(t *testing.T) {
	tests := []struct {
		name  string
		shell string
		chain []string
		want  string
	}{
		{"the nearest shell in the chain", "/bin/bash", []string{"hush", "sh", "claude", "zsh"}, "sh"},
		{"a login shell in the chain", "/bin/bash", []string{"hush", "-dash"}, "dash"},
		{"$SHELL when the chain holds no shell", "/usr/bin/dash", []string{"hush", "node", "claude"}, "dash"},
		{"nothing when neither says", "", []string{"hush", "node"}, ""},
		{"an unknown $SHELL is passed on", "/usr/bin/nu", nil, "nu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := handoff.CallerShell(tt.shell, tt.chain); got != tt.want {
				t.Fatalf("CallerShell(%q, %q) = %q, want %q", tt.shell, tt.chain, got, tt.want)
			}
		})
	}
}

func TestParseSourceLineReadsWhatSourceLineWrites(t *testing.T) {
	for _, l := range []handoff.Loader{handoff.Source, handoff.Dot} {
		for _, path := range []string{
			"/run/user/1000/hush/h-ABC.sh",
			"/tmp/it's here/h-x.sh",
			"/tmp/a b/'quoted'/h-y.sh",
			`/tmp/back\slash/h-z.sh`,
			"/tmp/ends in a quote'",
		} {
			t.Run(l.String()+" "+path, func(t *testing.T) {
				gotL, got, err := handoff.ParseSourceLine(handoff.SourceLine(l, path))
				if err != nil || got != path || gotL != l {
					t.Errorf("ParseSourceLine(SourceLine(%v, %q)) = %v, %q, %v", l, path, gotL, got, err)
				}
			})
		}
	}
}

func TestParseSourceLineRefusesOtherLines(t *testing.T) {
	for _, line := range []string{
		"",
		"source",
		"source ''",
		"source /no/quotes.sh",
		"source 'relative/h-x.sh'",
		"source '/tmp/a'b'",
		"source '/tmp/a' && rm -rf ~",
		"source '/tmp/a\\b'",
		".  '/tmp/h-x.sh'",
		"bash '/tmp/h-x.sh'",
		"export KEY=value",
	} {
		t.Run(fmt.Sprintf("%q", line), func(t *testing.T) {
			if _, p, err := handoff.ParseSourceLine(line); err == nil {
				t.Errorf("ParseSourceLine(%q) = %q, want an error", line, p)
			}
		})
	}
}

func TestRenderDeletesFirstThenChainsTheExports(t *testing.T) {
	vars := []secret.Secret{{Name: "A", Value: []byte("1")}, {Name: "B", Value: []byte("it's")}}
	tests := []struct {
		sh   handoff.Shell
		want string
	}{
		{handoff.POSIX, "# hush handoff: removes itself, then exports A, B.\n" +
			"command rm -f -- '/r/h-X.sh' &&\nexport A='1' &&\nexport B='it'\\''s'\n"},
		{handoff.Fish, "# hush handoff: removes itself, then exports A, B.\n" +
			"command rm -f -- '/r/h-X.sh'\nand set -gx -- A '1'\nand set -gx -- B 'it'\\''s'\n"},
	}
	for _, tt := range tests {
		t.Run("in the "+tt.sh.String()+" dialect", func(t *testing.T) {
			if got := string(handoff.Render(tt.sh, "/r/h-X.sh", vars)); got != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestCheckRefusesWhatAScriptCannotCarry(t *testing.T) {
	tests := []struct {
		name string
		vars []secret.Secret
		want error
	}{
		{"a name with a dot", []secret.Secret{{Name: "api.token"}}, secret.ErrNotExportable},
		{"a name that is a command", []secret.Secret{{Name: "X;touch /tmp/pwned;Y"}}, secret.ErrNotExportable},
		{"a secret path instead of a variable", []secret.Secret{{Name: "org/KEY"}}, secret.ErrNotExportable},
		{"a value with NUL (V6)", []secret.Secret{{Name: "K", Value: []byte("a\x00b")}}, secret.ErrInvalidValue},
		{"one name twice", []secret.Secret{{Name: "K"}, {Name: "K"}}, secret.ErrCollision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := handoff.Check(tt.vars)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "a\x00b") {
				t.Fatal("the error shows the value")
			}
		})
	}
	if err := handoff.Check([]secret.Secret{{Name: "_ok9", Value: []byte("\xff\n")}, {Name: "K"}}); err != nil {
		t.Fatalf("Check refused good variables: %v", err)
	}
}

func TestWriteMakesAPrivateFileHoldingTheRenderedScript(t *testing.T) {
	run := filepath.Join(t.TempDir(), "deeper", "run")
	vars := []secret.Secret{{Name: "K", Value: []byte("v")}}
	path, err := handoff.Write(run, handoff.POSIX, vars)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != run || !strings.HasPrefix(filepath.Base(path), "h-") || !strings.HasSuffix(path, ".sh") {
		t.Fatalf("script path %s", path)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("script %v, mode %v", err, fi.Mode())
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(handoff.Render(handoff.POSIX, path, vars)) {
		t.Fatalf("the file holds %q", got)
	}
	dir, _ := os.Lstat(run)
	if dir.Mode().Perm() != 0o700 {
		t.Fatalf("runtime dir mode %v", dir.Mode())
	}
	other, err := handoff.Write(run, handoff.POSIX, vars)
	if err != nil || other == path {
		t.Fatalf("a second script reused %s (%v)", other, err)
	}
}

func TestEnsureDirRefusesADirectoryOthersCouldReach(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"group-readable", func(t *testing.T, dir string) { mkdirMode(t, dir, 0o750) }},
		{"world-writable", func(t *testing.T, dir string) { mkdirMode(t, dir, 0o777) }},
		{"sticky 0700", func(t *testing.T, dir string) { mkdirMode(t, dir, 0o700|os.ModeSticky) }},
		{"a symlink to a private dir", func(t *testing.T, dir string) {
			real := dir + ".real"
			mkdirMode(t, real, 0o700)
			if err := os.Symlink(real, dir); err != nil {
				t.Fatal(err)
			}
		}},
		{"a regular file", func(t *testing.T, dir string) {
			if err := os.WriteFile(dir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"owned by someone else", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				if os.Getenv("CI") == "true" {
					t.Fatal("CI runs as root and must test a foreign owner")
				}
				t.Skip("needs root to chown a directory to another user")
			}
			mkdirMode(t, dir, 0o700)
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run("a runtime dir that is "+tt.name+" is refused", func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			tt.setup(t, dir)
			err := handoff.EnsureDir(dir)
			if !errors.Is(err, handoff.ErrUnsafeDir) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), dir) {
				t.Fatalf("EnsureDir = %v", err)
			}
			if _, err := handoff.Write(dir, handoff.POSIX, []secret.Secret{{Name: "K", Value: []byte("v")}}); !errors.Is(err, handoff.ErrUnsafeDir) {
				t.Fatalf("Write into it = %v", err)
			}
			if _, err := handoff.WriteValueFile(dir, []byte("v")); !errors.Is(err, handoff.ErrUnsafeDir) {
				t.Fatalf("WriteValueFile into it = %v", err)
			}
			if n, _ := handoff.Pending(dir); n != 0 {
				t.Fatalf("%d files were written into it", n)
			}
		})
	}
	t.Run("an existing private dir is accepted", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		mkdirMode(t, dir, 0o700)
		if err := handoff.EnsureDir(dir); err != nil {
			t.Fatal(err)
		}
	})
}

func mkdirMode(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func TestTheReaperRemovesOldFilesAfterTheWriterExited(t *testing.T) {
	tmp := t.TempDir()
	run := filepath.Join(tmp, "run")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{writerEnv + "=" + run}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the writer failed: %v: %s", err, out)
	}
	// Things in the runtime dir that are not ours to reap.
	for _, name := range []string{"hush.sock", "h-x.txt", "notes.sh", "x-h-1.sh"} {
		if err := os.WriteFile(filepath.Join(run, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(run, "h-dir.sh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if n, err := handoff.Pending(run); err != nil || n != 2 {
		t.Fatalf("Pending = %d, %v; want the script and the value file", n, err)
	}

	const ttl = 50 * time.Millisecond
	if n, err := handoff.Reap(run, time.Hour, time.Now()); err != nil || n != 0 {
		t.Fatalf("Reap within the TTL removed %d (%v)", n, err)
	}
	time.Sleep(2 * ttl)
	if n, err := handoff.Reap(run, ttl, time.Now()); err != nil || n != 2 {
		t.Fatalf("Reap after the TTL removed %d (%v), want 2", n, err)
	}
	if n, _ := handoff.Pending(run); n != 0 {
		t.Fatalf("%d handoff files survived the reaper", n)
	}
	entries, _ := os.ReadDir(run)
	if len(entries) != 5 {
		t.Fatalf("the reaper touched files that are not handoffs: %d left, want 5", len(entries))
	}
}

func TestPurgeAtStartRemovesEveryLeftoverWhateverItsAge(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	for range 3 {
		if _, err := handoff.Write(run, handoff.Fish, []secret.Secret{{Name: "K", Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := handoff.WriteValueFile(run, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "hush.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := handoff.Purge(run); err != nil || n != 4 {
		t.Fatalf("Purge = %d, %v; want 4", n, err)
	}
	if _, err := os.Lstat(filepath.Join(run, "hush.sock")); err != nil {
		t.Fatalf("Purge removed the socket: %v", err)
	}
}

func TestReapingADirThatDoesNotExistFindsNothing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	if n, err := handoff.Reap(missing, time.Second, time.Now()); n != 0 || err != nil {
		t.Fatalf("Reap = %d, %v", n, err)
	}
	if n, err := handoff.Pending(missing); n != 0 || err != nil {
		t.Fatalf("Pending = %d, %v", n, err)
	}
}

func ExampleRender() {
	script := handoff.Render(handoff.POSIX, "/run/user/1000/hush/h-EXAMPLE.sh", []secret.Secret{
		{Name: "STRIPE_KEY", Value: []byte(`sk_test_it's\fake`)},
	})
	fmt.Print(string(script))
	// Output:
	// # hush handoff: removes itself, then exports STRIPE_KEY.
	// command rm -f -- '/run/user/1000/hush/h-EXAMPLE.sh' &&
	// export STRIPE_KEY='sk_test_it'\''s'\\'fake'
}
