package handoff_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/secret"
)

// shell is one real shell the tests source scripts in.
type shell struct {
	name    string        // binary, also the apt package
	args    []string      // flags that keep the user's rc files out
	dialect handoff.Shell // what hush writes for it
	sources []string      // the commands that source a file in it
}

var shells = []shell{
	{name: "bash", args: []string{"--norc", "--noprofile"}, dialect: handoff.POSIX, sources: []string{"source", "."}},
	// dash has no `source`; `.` is its only way.
	{name: "dash", dialect: handoff.POSIX, sources: []string{"."}},
	{name: "zsh", args: []string{"-f"}, dialect: handoff.POSIX, sources: []string{"source", "."}},
	{name: "fish", args: []string{"--no-config"}, dialect: handoff.Fish, sources: []string{"source"}},
}

// locales the shells run under: fish decodes its input by locale.
var locales = []string{"C.UTF-8", "C"}

// lookShell finds sh's binary. Outside CI a missing shell skips, naming the
// apt package; in CI it fails, since .ci/run installs them.
func lookShell(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (apt package %s); .ci/run must install it", name, name)
		}
		t.Skipf("%s is not installed: apt-get install -y %s", name, name)
	}
	return p
}

// run executes program (a script in sh's syntax) in a clean environment
// and returns stdout, stderr and the exit error. The environment is built,
// never inherited, so the developer's rc files and agent markers stay out.
func (sh shell) run(t testing.TB, locale, program string) (string, string, error) {
	t.Helper()
	bin := lookShell(t, sh.name)
	home := t.TempDir()
	driver := filepath.Join(home, "driver")
	if err := os.WriteFile(driver, []byte(program), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append(append([]string{}, sh.args...), driver)...)
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + home,
		"LC_ALL=" + locale,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
	}
	cmd.Dir = home
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// q quotes a test path for a driver script (the same in every shell).
func q(s string) string { return handoff.Quote(handoff.POSIX, []byte(s)) }

// unset is how a driver forgets a variable, so thousands of exports do not
// pile up into an environment too large to exec.
func (sh shell) unset(name string) string {
	if sh.dialect == handoff.Fish {
		return "set -e " + name
	}
	return "unset " + name
}

// nasty is the fixed table: the field cases V1–V5 and every shape that has
// broken a quoting scheme somewhere. CANARY is replaced by a path that must
// never come into existence.
func nasty() [][]byte {
	vals := []string{
		"data$extra#tail",    // V1
		"it's a key :(",      // V2
		"foo$bar", "foo`bar", // V3
		"a\"b\\c!*~", // V3
		"-----BEGIN KEY-----\nAAAA\n-----END KEY-----", // V4
		"ends\n\n", "ends  ", // V5
		"", "'", "''", "'''", "\\", "\\\\", "\\'", "'\\", "'\\''", "abc\\", "\\abc", "it\\'s",
		"-n", "-e", "--", "-", "- x", "-n -e", "--help",
		" lead", "trail ", "\nlead", "trail\n", "\n", " ", "\t", "\n\n\n", " \n \n ",
		"$(touch CANARY)", "`touch CANARY`", "'; touch CANARY; '", "\\'; touch CANARY; echo \\'",
		"(touch CANARY)", "\\(touch CANARY)", "'\n touch CANARY\n'", "\\\n touch CANARY #",
		"x'\\''; touch CANARY; echo '", "\\\\'; touch CANARY #", "$(touch${IFS}CANARY)",
		"{a,b}", "*", "~", "~root", "$HOME", "${HOME}", "$'\\x41'", "!!", "!$", "!-1", "^a^b",
		"#not a comment", "a #b", "%s%n", "%", "\\n literally", "a;b", "a&&b", "a|b", "a>b", "<b",
		"a\r\nb", "\r", "a\tb\vc\fd", "\x1b[31mred\x1b[0m", "\x7f", "\x01",
		`{"key":"v\n","n":1}`,
		"\xff", "\xc3", "\xc3\x28", "\xed\xa0\x80", "\xc0\x80", "\xf8\x88\x80\x80\x80", "\x80\xbf", "\xfe\xff",
		"\xef\x98\x80", "\xef\x9b\xbf", "\xef\xb7\x90", "\xef\xb7\x97", "\xef\xbf\xbe", "\xef\xbf\xbf", "\xef\xbf\xbd",
		"é", "e\u0301", "😀", "\u202eevil", "\u200b", "\u2028", "日本語", "\xf4\x8f\xbf\xbf",
		"a:b::c:", ":", "::",
	}
	out := make([][]byte, 0, len(vals)+3*255+8)
	for _, v := range vals {
		out = append(out, []byte(v))
	}
	all := make([]byte, 0, 255)
	for b := 1; b <= 0xff; b++ {
		all = append(all, byte(b))
		out = append(out, []byte{byte(b)}, []byte{'a', byte(b), 'b'}, []byte{byte(b), byte(b), '\''})
	}
	out = append(out, all, reverse(all))
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, secret.MaxValueSize)
	for i := range big {
		big[i] = byte(1 + r.IntN(255))
	}
	out = append(out, big,
		bytes.Repeat([]byte("'"), secret.MaxValueSize),
		bytes.Repeat([]byte(`\`), secret.MaxValueSize),
		bytes.Repeat([]byte("\n"), secret.MaxValueSize),
		bytes.Repeat([]byte(`'\`), secret.MaxValueSize/2),
	)
	return out
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[len(b)-1-i] = c
	}
	return out
}

// Fragments that random values are built from, chosen for what breaks
// quoting, UTF-8 decoding or fish's private encoding of raw bytes.
var (
	metaBytes = []byte("'\"\\$`!#*~-; \n\t(){}[]|&<>?=%^:")
	utf8Bits  = []string{
		"é", "😀", "\u2028", "\ufffd", "\xef\x98\x80", "\xef\x9b\xbf", "\xef\x9c\x80", "\xef\xb7\x90",
		"\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xed\xa0\x80", "\xc0\x80", "\x80", "\xbf", "\xc3", "\xe2\x82", "\xff",
	}
	codeBits = []string{
		"'; touch CANARY; '", "$(touch CANARY)", "(touch CANARY)", "`touch CANARY`",
		"\\'; touch CANARY #", "\n touch CANARY \n", "'\\''(touch CANARY)", "\\\\'(touch CANARY)'",
	}
)

// randomValue draws a value without NUL: mostly short, sometimes up to the
// 64 KiB limit, in one of four styles.
func randomValue(r *rand.Rand) []byte {
	var n int
	switch x := r.IntN(100); {
	case x < 70:
		n = r.IntN(65)
	case x < 96:
		n = r.IntN(1025)
	case x < 99:
		n = r.IntN(16 << 10)
	default:
		n = r.IntN(secret.MaxValueSize + 1)
	}
	style := r.IntN(4)
	v := make([]byte, 0, n+16)
	for len(v) < n {
		switch style {
		case 0:
			v = append(v, byte(1+r.IntN(255)))
		case 1:
			if r.IntN(2) == 0 {
				v = append(v, metaBytes[r.IntN(len(metaBytes))])
			} else {
				v = append(v, byte('a'+r.IntN(26)))
			}
		case 2:
			v = append(v, utf8Bits[r.IntN(len(utf8Bits))]...)
		default:
			switch r.IntN(4) {
			case 0:
				v = append(v, codeBits[r.IntN(len(codeBits))]...)
			case 1:
				v = append(v, utf8Bits[r.IntN(len(utf8Bits))]...)
			case 2:
				v = append(v, metaBytes[r.IntN(len(metaBytes))])
			default:
				v = append(v, byte(1+r.IntN(255)))
			}
		}
	}
	return v[:min(len(v), secret.MaxValueSize)]
}

// randomName draws a variable name no shell treats specially.
func randomName(r *rand.Rand, i int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
	var b strings.Builder
	b.WriteString("HUSH_T" + strconv.Itoa(i) + "_")
	for range r.IntN(12) {
		b.WriteByte(chars[r.IntN(len(chars))])
	}
	if r.IntN(8) == 0 {
		// fish splits and rejoins names ending in PATH at colons.
		b.WriteString("_PATH")
	}
	return b.String()
}

// testSeed is fixed by HUSH_HANDOFF_SEED to replay a failure, else new.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("HUSH_HANDOFF_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("HUSH_HANDOFF_SEED: %v", err)
		}
	}
	t.Logf("random values from seed %d (replay with HUSH_HANDOFF_SEED=%d)", seed, seed)
	return seed
}

// withCanary puts the canary path into the values that mention it, keeping
// each within the size limit (a longer value exceeds what exec accepts).
func withCanary(vals [][]byte, canary string) [][]byte {
	out := make([][]byte, len(vals))
	for i, v := range vals {
		v = bytes.ReplaceAll(v, []byte("CANARY"), []byte(canary))
		out[i] = v[:min(len(v), secret.MaxValueSize)]
	}
	return out
}

// roundTrip writes vals into scripts of one to eight variables each (as a
// prefix handoff does) with dialect, sources them all in one process of sh,
// and returns for each value what the shell variable held and, when
// checkEnv, what a child saw in its environment (from `env -0`, whose NUL
// separators no value can contain). It fails the test if a script survives
// sourcing.
func roundTrip(t *testing.T, sh shell, locale string, dialect handoff.Shell, names []string, vals [][]byte, checkEnv bool) (got, env [][]byte) {
	t.Helper()
	tmp := runtimeTempDir(t)
	run, out := filepath.Join(tmp, "run"), filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(uint64(len(vals)), 7))
	var prog strings.Builder
	script := 0
	for i := 0; i < len(vals); script++ {
		n := min(1+r.IntN(8), len(vals)-i)
		vars := make([]secret.Secret, n)
		for k := range vars {
			vars[k] = secret.Secret{Name: names[i+k], Value: vals[i+k]}
		}
		path, err := handoff.Write(run, dialect, vars)
		if err != nil {
			t.Fatalf("values %d to %d: %v", i, i+n-1, err)
		}
		fmt.Fprintf(&prog, "%s %s || echo 'hush-test: sourcing %d failed' >&2\n", sh.sources[script%len(sh.sources)], q(path), script)
		if checkEnv {
			fmt.Fprintf(&prog, "env -0 > %s\n", q(filepath.Join(out, fmt.Sprintf("env-%d", script))))
		}
		for k := i; k < i+n; k++ {
			fmt.Fprintf(&prog, "printf '%%s' \"$%s\" > %s\n", names[k], q(filepath.Join(out, strconv.Itoa(k))))
			fmt.Fprintf(&prog, "%s\n", sh.unset(names[k]))
		}
		i += n
	}
	prog.WriteString("echo hush-test-done\n")
	stdout, stderr, err := sh.run(t, locale, prog.String())
	if err != nil || !strings.Contains(stdout, "hush-test-done") || stderr != "" {
		// Not fatal: the caller's checks (the canary above all) still run.
		t.Errorf("%s did not run the driver cleanly: %v\nstderr: %.2000s", sh.name, err, stderr)
	}
	if n, err := handoff.Pending(run); err != nil || n != 0 {
		t.Errorf("%d scripts are still on disk after sourcing (%v)", n, err)
	}
	got = make([][]byte, len(vals))
	for i := range vals {
		got[i], _ = os.ReadFile(filepath.Join(out, strconv.Itoa(i))) // missing: reported as a mismatch
	}
	if !checkEnv {
		return got, nil
	}
	seen := make(map[string][]byte)
	for s := range script {
		data, _ := os.ReadFile(filepath.Join(out, fmt.Sprintf("env-%d", s)))
		for _, kv := range bytes.Split(data, []byte{0}) {
			if k, v, ok := bytes.Cut(kv, []byte("=")); ok && bytes.HasPrefix(k, []byte("HUSH_")) {
				seen[string(k)] = v
			}
		}
	}
	env = make([][]byte, len(vals))
	for i, name := range names {
		env[i] = seen[name]
	}
	return got, env
}

// runtimeTempDir is a temporary directory on tmpfs where there is one, as
// $XDG_RUNTIME_DIR is in real use: Write's fsync costs milliseconds on a
// disk, which thousands of scripts per shell turn into minutes.
func runtimeTempDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "hush-handoff-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// report lists the first few mismatches by index and hex; the values are
// test data, so showing them is how a failure gets fixed.
func report(t *testing.T, what string, want, got [][]byte, ok func(i int) bool) {
	t.Helper()
	bad := 0
	for i := range want {
		if ok(i) {
			continue
		}
		bad++
		if bad <= 5 {
			t.Errorf("%s: value %d (%d bytes) came back as %d bytes:\nwant %.120x\ngot  %.120x", what, i, len(want[i]), len(got[i]), want[i], got[i])
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d values in all came back wrong", what, bad)
	}
}

// randomValuesPerShell is the floor for one run.
const randomValuesPerShell = 2000

func TestEveryValueComesBackByteExactInEveryShell(t *testing.T) {
	seed := testSeed(t)
	for _, sh := range shells {
		for _, locale := range locales {
			t.Run(sh.name+" under "+locale, func(t *testing.T) {
				t.Parallel()
				lookShell(t, sh.name)
				canary := filepath.Join(t.TempDir(), "canary")
				r := rand.New(rand.NewPCG(seed, uint64(len(sh.name))))
				vals := nasty()
				nNasty := len(vals)
				n := randomValuesPerShell
				if locale == "C" && sh.dialect != handoff.Fish {
					// Only fish decodes its input by locale; the others get
					// the nasty table under C and keep the run short.
					n = 0
				}
				for range n {
					vals = append(vals, randomValue(r))
				}
				vals = withCanary(vals, canary)
				names := make([]string, len(vals))
				for i := range names {
					names[i] = randomName(r, i)
				}
				got, env := roundTrip(t, sh, locale, sh.dialect, names, vals, true)
				report(t, "shell variable", vals, got, func(i int) bool { return bytes.Equal(got[i], vals[i]) })
				report(t, "child environment", vals, env, func(i int) bool { return env[i] != nil && bytes.Equal(env[i], vals[i]) })
				if _, err := os.Lstat(canary); err == nil {
					t.Errorf("a value ran as code: %s exists (nasty table holds %d values)", canary, nNasty)
				}
			})
		}
	}
}

func TestAPOSIXScriptHandedToFishNeverRunsAValueAsCode(t *testing.T) {
	fish := shells[3]
	seed := testSeed(t)
	for _, locale := range locales {
		t.Run("under "+locale, func(t *testing.T) {
			t.Parallel()
			lookShell(t, "fish")
			canary := filepath.Join(t.TempDir(), "canary")
			r := rand.New(rand.NewPCG(seed, 99))
			vals := nasty()
			for range 1000 {
				vals = append(vals, randomValue(r))
			}
			for range 200 {
				v := randomValue(r)
				v = append(v[:min(len(v), r.IntN(8))], codeBits[r.IntN(len(codeBits))]...)
				vals = append(vals, append(v, codeBits[r.IntN(len(codeBits))]...))
			}
			vals = withCanary(vals, canary)
			names := make([]string, len(vals))
			for i := range names {
				names[i] = randomName(r, i)
			}
			got, _ := roundTrip(t, fish, locale, handoff.POSIX, names, vals, false)
			if _, err := os.Lstat(canary); err == nil {
				t.Fatalf("fish ran part of a value as code: %s exists", canary)
			}
			// fish's export function splits on newlines, so only values
			// without one are expected back; none may come back as code.
			report(t, "POSIX script in fish", vals, got, func(i int) bool {
				return bytes.ContainsAny(vals[i], "\n") || bytes.Equal(got[i], vals[i])
			})
		})
	}
}

func TestShellsWithUnusualOptionsReadTheSameBytes(t *testing.T) {
	variants := []struct {
		name string
		sh   shell
	}{
		{"bash in POSIX mode", shell{name: "bash", args: []string{"--norc", "--noprofile", "--posix"}, sources: []string{"."}}},
		{"zsh with RC_QUOTES ('' inside quotes is a quote)", shell{name: "zsh", args: []string{"-f", "-o", "rcquotes"}, sources: []string{"source"}}},
		{"zsh emulating sh", shell{name: "zsh", args: []string{"--emulate", "sh", "-f"}, sources: []string{"."}}},
		{"sh", shell{name: "sh", sources: []string{"."}}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			lookShell(t, v.sh.name)
			canary := filepath.Join(t.TempDir(), "canary")
			vals := withCanary(nasty(), canary)
			names := make([]string, len(vals))
			for i := range names {
				names[i] = "HUSH_V" + strconv.Itoa(i)
			}
			got, _ := roundTrip(t, v.sh, "C.UTF-8", handoff.POSIX, names, vals, false)
			report(t, v.name, vals, got, func(i int) bool { return bytes.Equal(got[i], vals[i]) })
			if _, err := os.Lstat(canary); err == nil {
				t.Errorf("a value ran as code: %s exists", canary)
			}
		})
	}
}

// pem is V4's value.
var pem = []byte("-----BEGIN KEY-----\nAAAA\n-----END KEY-----")

// TestAScriptDeletesItselfByItsOwnPathWithEverySourceCommand is field case
// S1: `rm "$0"` names the sourcing shell, not the script, so the script
// names itself literally; checked with source and . in every shell.
func TestAScriptDeletesItselfByItsOwnPathWithEverySourceCommand(t *testing.T) {
	for _, sh := range shells {
		for _, src := range sh.sources {
			t.Run(sh.name+" with "+src, func(t *testing.T) {
				t.Parallel()
				lookShell(t, sh.name)
				tmp := t.TempDir()
				run := filepath.Join(tmp, "run")
				path, err := handoff.Write(run, sh.dialect, []secret.Secret{{Name: "HUSH_KEY", Value: pem}})
				if err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(tmp, "out")
				// The first source is followed by a second that must fail
				// in a fresh process: agents start one shell per call (S2).
				prog := fmt.Sprintf("%s %s && printf '%%s' \"$HUSH_KEY\" > %s\n", src, q(path), q(out))
				if _, stderr, err := sh.run(t, "C.UTF-8", prog); err != nil {
					t.Fatalf("sourcing failed: %v: %s", err, stderr)
				}
				if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, pem) {
					t.Fatalf("the PEM value came back as %q (%v)", got, err)
				}
				if _, err := os.Lstat(path); !os.IsNotExist(err) {
					t.Fatalf("the script is still there after sourcing: %v", err)
				}

				ran := filepath.Join(tmp, "ran")
				_, stderr, err := sh.run(t, "C.UTF-8", fmt.Sprintf("%s %s && touch %s\n", src, q(path), q(ran)))
				if err == nil {
					t.Error("sourcing the consumed script exited 0")
				}
				if !strings.Contains(stderr, filepath.Base(path)) {
					t.Errorf("sourcing the consumed script did not say which file is missing: %q", stderr)
				}
				if _, err := os.Lstat(ran); err == nil {
					t.Error("the command chained after a consumed script ran")
				}
			})
		}
	}
}

func TestTheScriptIsGoneEvenWhenAnExportFailsHalfway(t *testing.T) {
	for _, sh := range shells {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			lookShell(t, sh.name)
			tmp := t.TempDir()
			run := filepath.Join(tmp, "run")
			// The middle variable cannot be set: read-only in POSIX shells,
			// and fish's own read-only `version`.
			middle, setup, probe := "HUSH_B", "readonly HUSH_B=1\n", "printf '%%s' \"${HUSH_C-unset}\" > %[1]s\n"
			if sh.dialect == handoff.Fish {
				middle, setup, probe = "version", "", "set -q HUSH_C; and printf set > %s; or printf unset > %[1]s\n"
			}
			path, err := handoff.Write(run, sh.dialect, []secret.Secret{
				{Name: "HUSH_A", Value: []byte("a")},
				{Name: middle, Value: []byte("b")},
				{Name: "HUSH_C", Value: []byte("c")},
			})
			if err != nil {
				t.Fatal(err)
			}
			ok, c := filepath.Join(tmp, "ok"), filepath.Join(tmp, "c")
			prog := setup + fmt.Sprintf("%s %s && touch %s\n", sh.sources[0], q(path), q(ok)) + fmt.Sprintf(probe, q(c))
			_, stderr, _ := sh.run(t, "C.UTF-8", prog)
			if stderr == "" {
				t.Error("the failed export was silent")
			}
			if _, err := os.Lstat(path); !os.IsNotExist(err) {
				t.Errorf("the script survived a failed export: %v", err)
			}
			if _, err := os.Lstat(ok); err == nil {
				t.Error("the script reported success although an export failed")
			}
			// dash exits on the failed special builtin, so no probe file.
			if got, err := os.ReadFile(c); err == nil && string(got) != "unset" {
				t.Errorf("HUSH_C was exported after the failed export: %q", got)
			}
		})
	}
}

func TestAHostileNameNeverReachesAShell(t *testing.T) {
	canaryDir := t.TempDir()
	canary := filepath.Join(canaryDir, "pwned")
	_, pwnedBefore := os.Lstat("/tmp/pwned")
	names := []string{
		"X;touch /tmp/pwned;Y", "$(id)", "X;touch " + canary + ";Y", "$(touch " + canary + ")",
		"`touch " + canary + "`", "A=B touch " + canary, "A\ntouch " + canary, "(touch " + canary + ")",
		"api.access.token", "my-key", "1KEY", "a b", "", "A\x00", "é", "A;", "A'",
	}
	for _, name := range names {
		t.Run(fmt.Sprintf("Write refuses %q and writes nothing", name), func(t *testing.T) {
			run := filepath.Join(t.TempDir(), "run")
			_, err := handoff.Write(run, handoff.POSIX, []secret.Secret{{Name: "GOOD", Value: []byte("v")}, {Name: name, Value: []byte("v")}})
			if err == nil {
				t.Fatal("Write accepted the name")
			}
			if n, _ := handoff.Pending(run); n != 0 {
				t.Errorf("%d files were written", n)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the error is not one line: %q", err)
			}
		})
	}
	// Render cannot refuse; what it writes instead must stay inert in every
	// shell and make `source … && cmd` stop.
	for _, sh := range shells {
		t.Run("a script rendered with hostile names stays inert in "+sh.name, func(t *testing.T) {
			lookShell(t, sh.name)
			tmp := t.TempDir()
			var prog strings.Builder
			for i, name := range names {
				path := filepath.Join(tmp, fmt.Sprintf("h-%d.sh", i))
				script := handoff.Render(sh.dialect, path, []secret.Secret{{Name: name, Value: []byte("v")}})
				if err := os.WriteFile(path, script, 0o600); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&prog, "%s %s && touch %s\n", sh.sources[0], q(path), q(filepath.Join(tmp, fmt.Sprintf("ok-%d", i))))
			}
			if _, _, err := sh.run(t, "C.UTF-8", prog.String()); err == nil {
				t.Error("the shell exited 0 after refused variables")
			}
			for i := range names {
				if _, err := os.Lstat(filepath.Join(tmp, fmt.Sprintf("ok-%d", i))); err == nil {
					t.Errorf("the script for name %d reported success", i)
				}
			}
			if _, err := os.Lstat(canary); err == nil {
				t.Fatal("a name ran as code")
			}
			if _, err := os.Lstat("/tmp/pwned"); err == nil && pwnedBefore != nil {
				t.Fatal("/tmp/pwned appeared")
			}
		})
	}
}

func TestAsFileHandsOffAPathToAPrivateCopyOfTheValue(t *testing.T) {
	bash := shells[0]
	lookShell(t, "bash")
	tmp := t.TempDir()
	run := filepath.Join(tmp, "run")
	vars, err := handoff.AsFiles(run, []secret.Secret{{Name: "TLS_KEY", Value: pem}, {Name: "TLS_KEY_FILE", Value: []byte("x\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if vars[0].Name != "TLS_KEY_FILE" || vars[1].Name != "TLS_KEY_FILE_FILE" {
		t.Fatalf("the file variables are %s and %s", vars[0].Name, vars[1].Name)
	}
	for _, v := range vars {
		fi, err := os.Lstat(string(v.Value))
		if err != nil || fi.Mode() != 0o600 || !strings.HasSuffix(fi.Name(), ".val") {
			t.Fatalf("value file %s: %v, mode %v", v.Value, err, fi.Mode())
		}
	}
	path, err := handoff.Write(run, handoff.POSIX, vars)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	if _, stderr, err := bash.run(t, "C.UTF-8", fmt.Sprintf("source %s && cat \"$TLS_KEY_FILE\" > %s\n", q(path), q(out))); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, pem) {
		t.Fatalf("the value file held %q (%v)", got, err)
	}
	if n, _ := handoff.Pending(run); n != 2 {
		t.Fatalf("%d handoff files remain, want the 2 value files (the script removed itself)", n)
	}
	if n, err := handoff.Reap(run, time.Minute, time.Now().Add(time.Minute+time.Second)); err != nil || n != 2 {
		t.Fatalf("the reaper removed %d value files (%v), want 2", n, err)
	}

	if _, err := handoff.AsFiles(run, []secret.Secret{{Name: "OK", Value: pem}, {Name: "my-key", Value: pem}}); err == nil {
		t.Fatal("AsFiles accepted an invalid name")
	}
	if n, _ := handoff.Pending(run); n != 0 {
		t.Fatalf("a refused AsFiles left %d files", n)
	}
}

// TestTheLineRunsInTheShellItWasPickedFor delivers to each real shell the
// line LoaderFor picks for it and runs that line there, as an agent's next
// tool call would: dash (sh on Debian) gets `. '…'`, since its `source` is
// "not found".
func TestTheLineRunsInTheShellItWasPickedFor(t *testing.T) {
	targets := append([]shell{{name: "sh", dialect: handoff.POSIX}}, shells...)
	for _, sh := range targets {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			lookShell(t, sh.name)
			tmp := t.TempDir()
			line, _, err := handoff.Deliver(filepath.Join(tmp, "run"), sh.dialect,
				[]secret.Secret{{Name: "org/api/HUSH_KEY", Value: pem}},
				handoff.DeliverOptions{Loader: handoff.LoaderFor(sh.name)})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(tmp, "out")
			prog := fmt.Sprintf("%s && printf '%%s' \"$HUSH_KEY\" > %s\n", line, q(out))
			if _, stderr, err := sh.run(t, "C.UTF-8", prog); err != nil {
				t.Fatalf("%s could not run %q: %v: %s", sh.name, line, err, stderr)
			}
			if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, pem) {
				t.Fatalf("the value came back as %q (%v)", got, err)
			}
		})
	}
}
